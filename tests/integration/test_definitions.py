"""The code location loads with no environment at all, and has its jobs, schedules and resources."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg

from bp_pipelines.definitions import defs

BRIGHTPEARL_TABLES = {
    "products",
    "contacts",
    "orders",
    "order_rows",
    "stock_levels",
    "goods_out_notes",
    "goods_out_note_rows",
    "order_statuses",
    "warehouses",
    "channels",
    "shipping_methods",
    "contact_tags",
}


def test_definitions_validate() -> None:
    dg.Definitions.validate_loadable(defs)


def test_loads_without_any_env_var() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIGHTPEARL_", "BIGCOMMERCE_", "BP_"))}
    code = (
        "import dagster as dg; from bp_pipelines.definitions import defs; dg.Definitions.validate_loadable(defs);"
        "print(len(defs.resolve_all_asset_keys()))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip().splitlines()[-1]) >= len(BRIGHTPEARL_TABLES)


def test_brightpearl_assets_jobs_and_schedules() -> None:
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert keys >= BRIGHTPEARL_TABLES
    job = defs.resolve_job_def("brightpearl_sync")
    assert job.partitions_def is not None
    for name in ("brightpearl_incremental", "brightpearl_reconciliation"):
        schedule = defs.resolve_schedule_def(name)
        assert schedule.job_name == "brightpearl_sync"
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_every_brightpearl_asset_is_in_the_writer_pool_and_group() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.group_name != "brightpearl":
            continue
        # The account check writes nothing: it needs no writer slot.
        assert node.pools == (set() if key.to_user_string() == "brightpearl_account" else {"duckdb_writer"}), key
        assert node.description, f"{key} has no business description"


def test_every_job_runs_its_steps_in_process() -> None:
    """Scheduled, sensor and UI runs execute steps in the run's process: a process per step would cost each step
    an import of dagster and the code location (the writer pool serializes the steps anyway)."""
    jobs = [defs.resolve_job_def(job.name) for job in defs.resolve_all_job_defs()]
    assert jobs
    for job in jobs:
        assert job.executor_def.name == dg.in_process_executor.name, job.name
