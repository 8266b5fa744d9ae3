"""Schedules produce a run request for today's partition with the right mode for every Brightpearl op."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from bp_pipelines.definitions import defs
from bp_pipelines.schedules import brightpearl_incremental, brightpearl_reconciliation
from bp_pipelines.schedules.jobs import sync_run_config

# Resolved once, outside any test instance (building the repository reads the current instance's defs state).
JOB = defs.resolve_job_def("brightpearl_sync")

OPS = {
    "order_statuses",
    "warehouses",
    "channels",
    "shipping_methods",
    "contact_tags",
    "products",
    "contacts",
    "orders_and_rows",
    "customer_payments",
    "goods_out_notes_and_rows",
    "stock_levels",
}


def _evaluate(schedule: dg.ScheduleDefinition, when: datetime) -> dg.RunRequest:
    # Both as context managers: a schedule context left open keeps Dagster's defs-state context variable
    # pointing at the (deleted) test instance, which breaks every later materialize() in this process.
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as context,
    ):
        result = schedule(context)
    assert isinstance(result, dg.RunRequest), result
    return result


def test_incremental_every_15_minutes_on_todays_partition() -> None:
    assert brightpearl_incremental.cron_schedule == "*/15 * * * *"
    request = _evaluate(brightpearl_incremental, datetime(2026, 3, 4, 10, 15, tzinfo=UTC))
    assert request.partition_key == "2026-03-04"
    ops = request.run_config["ops"]
    assert set(ops) == OPS
    assert {op["config"]["mode"] for op in ops.values()} == {"incremental"}
    assert request.tags["bp/mode"] == "incremental"


def test_reconciliation_nightly() -> None:
    assert brightpearl_reconciliation.cron_schedule == "30 2 * * *"
    request = _evaluate(brightpearl_reconciliation, datetime(2026, 3, 5, 2, 30, tzinfo=UTC))
    assert request.partition_key == "2026-03-05"
    assert {op["config"]["mode"] for op in request.run_config["ops"].values()} == {"reconciliation"}


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validating run config resolves the resources' EnvVars (values are irrelevant: nothing is called)."""
    for var in ("BRIGHTPEARL_ACCOUNT", "BRIGHTPEARL_APP_REF", "BRIGHTPEARL_ACCOUNT_TOKEN"):
        monkeypatch.setenv(var, "x")


@pytest.mark.usefixtures("credentials")
def test_run_config_is_valid_for_the_job() -> None:
    job = JOB
    for mode in ("incremental", "reconciliation", "partition"):
        assert job.run_config_schema.config_type is not None
        result = dg.validate_run_config(job, sync_run_config(mode, overlap_minutes=5))
        assert result["ops"]["products"]["config"]["overlap_minutes"] == 5


@pytest.mark.usefixtures("credentials")
def test_a_running_sync_skips_the_tick() -> None:
    with dg.instance_for_test() as instance:
        instance.create_run_for_job(JOB, run_config={}, status=dg.DagsterRunStatus.STARTED, tags={})
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
        ) as context:
            result = brightpearl_incremental(context)
    assert isinstance(result, dg.SkipReason)
