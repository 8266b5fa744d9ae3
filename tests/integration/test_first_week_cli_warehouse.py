"""A user's first week at the command line, continued (split from test_first_week_cli.py so that xdist, which runs a
file on one worker, can run the two halves side by side): one warehouse per source, and the dead-letter counts of a
refused batch, through the real entry points (`python -m bp_pipelines.cli ...`) in subprocesses."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from .test_first_week_cli import REAL_SHAPED, base_env, cli, one_line, sandbox_vars


# --- one warehouse, one source ------------------------------------------------------------------------------------
def test_the_sandbox_warehouse_refuses_a_real_account_until_reset(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    first = cli(env, "run", "--orders", "150")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "syncing the sandbox" in first.stdout
    warehouse = tmp_path / "warehouse.duckdb"
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("warehouse*.duckdb")}
    assert set(before) == {"warehouse.duckdb", "warehouse.writer.duckdb"}
    # A second sandbox session (other ports) reuses the file.
    again = cli(env, "run", "--orders", "150")
    assert again.returncode == 0, again.stdout + again.stderr

    # The real-shaped account: refused before any call (its host is not even reachable from here).
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("warehouse*.duckdb")}
    started = time.monotonic()
    line = one_line(cli({**env, **REAL_SHAPED}, "run"))
    assert time.monotonic() - started < 60
    assert f"warehouse {warehouse} holds brightpearl sandbox (loopback) account sandbox" in line
    assert "brightpearl https://euw1.brightpearlconnect.com account acme" in line
    assert "BP_WAREHOUSE_PATH" in line and "make reset-warehouse" in line
    assert REAL_SHAPED["BRIGHTPEARL_ACCOUNT_TOKEN"] not in line
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("warehouse*.duckdb")} == before

    # The documented reset: asks (refuses without a terminal or --yes), then deletes the files and the history.
    refused = cli(env, "reset-warehouse")
    assert refused.returncode == 1 and "--yes" in refused.stdout
    assert warehouse.exists()
    reset = cli(env, "reset-warehouse", "--yes")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "holds brightpearl sandbox (loopback) account sandbox" in reset.stdout
    assert not list(tmp_path.glob("warehouse*.duckdb*"))
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        assert instance.get_latest_materialization_event(dg.AssetKey("orders")) is None
    # The file no longer stands in the way: the real-shaped account now gets as far as its (unreachable) host.
    unreachable = cli({**env, **REAL_SHAPED, "BRIGHTPEARL_BASE_URL": "https://127.0.0.1:9"}, "run")
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr
    assert (
        "cannot reach Brightpearl at BRIGHTPEARL_BASE_URL" in unreachable.stderr and "holds" not in unreachable.stderr
    )


# --- quarantine counts records -------------------------------------------------------------------------------------
def test_a_refused_batch_counts_and_names_its_records_and_the_rerun_reports_them_resolved(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    sb = fresh_sandbox(seed=3, orders=120)
    env = base_env(tmp_path, **sandbox_vars(sb))
    sb.add_fault(api="brightpearl", kind="status", status=400, path=r"^contact-service/contact/\d", count=1)
    first = cli(env, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        [(record_id,)] = conn.execute(
            "SELECT record_id FROM _sync.quarantine WHERE resolved_at IS NULL AND resource = 'contacts'"
        ).fetchall()
    ids = record_id.removeprefix("ids:")
    count = sum(int(b) - int(a) + 1 if b else 1 for a, _, b in (p.partition("-") for p in ids.split(",")))
    assert count > 1
    assert f"{count} record(s) dead-lettered" in first.stdout
    assert f"contacts {count} records {record_id}: GET batch refused" in first.stdout
    assert re.search(rf"contacts\s.*rows_quarantined={count}\b", first.stdout), first.stdout

    second = cli(env, "run")
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{count} previously dead-lettered record(s) resolved by this run." in second.stdout
    assert "no records dead-lettered." in second.stdout
