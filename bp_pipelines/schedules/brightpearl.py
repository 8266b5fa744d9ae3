"""Schedules of the Brightpearl sync. Both ship STOPPED: a fresh checkout must not start hitting a real account.
Turn them on in the Dagster UI (Automation -> the schedule -> toggle) or with
`dagster schedule start brightpearl_incremental`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from bp_pipelines import settings
from bp_pipelines.lib.conventions import daily_partitions

from .jobs import brightpearl_sync, sync_run_config

# Cron expressions are configurable without a code change (UTC): BP_INCREMENTAL_CRON, BP_RECONCILIATION_CRON.
INCREMENTAL_CRON = settings.incremental_cron()
RECONCILIATION_CRON = settings.reconciliation_cron()

_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _busy(context: dg.ScheduleEvaluationContext) -> bool:
    """A sync still queued or running: skip the tick instead of stacking runs behind the writer pool."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built in a test without an instance
        return False
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=brightpearl_sync.name, statuses=_ACTIVE), limit=1)
    return bool(runs)


def _today_key(context: dg.ScheduleEvaluationContext) -> str:
    when = context.scheduled_execution_time or datetime.now(UTC)
    return daily_partitions.get_partition_key_for_timestamp(when.timestamp())


def _request(context: dg.ScheduleEvaluationContext, mode: str) -> dg.RunRequest | dg.SkipReason:
    if _busy(context):
        return dg.SkipReason(f"a {brightpearl_sync.name} run is still queued or running")
    key = _today_key(context)
    when = context.scheduled_execution_time or datetime.now(UTC)
    return dg.RunRequest(
        run_key=f"{mode}-{when.isoformat()}",
        partition_key=key,
        run_config=sync_run_config(mode),
        tags={"bp/mode": mode},
    )


@dg.schedule(
    name="brightpearl_incremental",
    job=brightpearl_sync,
    cron_schedule=INCREMENTAL_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        f"{INCREMENTAL_CRON} (BP_INCREMENTAL_CRON): incremental sync (watermark - BP_OVERLAP_MINUTES -> now) on "
        "today's partition."
    ),
)
def brightpearl_incremental(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return _request(context, "incremental")


@dg.schedule(
    name="brightpearl_reconciliation",
    job=brightpearl_sync,
    cron_schedule=RECONCILIATION_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Nightly: id sweep of every resource -> deletions marked, missing/stale records fetched, last 3 days "
        "re-read (updatedOn is unreliable), stock levels of every product refreshed."
    ),
)
def brightpearl_reconciliation(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return _request(context, "reconciliation")
