"""Execute the main job on the local Dagster instance and print what it did (used by `make run`)."""

from __future__ import annotations

import sys

import dagster as dg
import duckdb

from bp_pipelines import settings
from bp_pipelines.lib.warehouse import bookkeeping as bk

# Metadata keys printed per asset when present (assets may add more; the UI plots them all).
# Step-level DEBUG events stay in the run's event log (and the UI); the terminal gets warnings and the summary.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
MAX_QUARANTINE_LINES = 10
SUMMARY_KEYS = (
    "dagster/row_count",
    "rows_inserted",
    "rows_updated",
    "rows_deleted",
    "rows_quarantined",
    "api_calls",
    "throttled",
    # storefront push
    "push_enabled",
    "sent",
    "reconciled",
    "skipped",
    "dead_lettered",
    "open_dead_letters",
    # order import and accounts
    "created",
    "found_in_brightpearl",
    "contacts_created",
    "updated",
    "unchanged",
    # marts: rebuilt, or left as they were (nothing they read changed)
    "rebuilt",
)


def _partition_key(job: dg.JobDefinition) -> str | None:
    partitions = job.partitions_def
    if partitions is None:
        return None
    return partitions.get_last_partition_key()


def _metadata_value(value: object) -> object:
    return getattr(value, "value", value)


def print_materializations(result: dg.ExecuteInProcessResult) -> None:
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization  # type: ignore[union-attr]
        meta = {k: _metadata_value(v) for k, v in mat.metadata.items()}
        parts = [f"{key}={meta[key]}" for key in SUMMARY_KEYS if key in meta]
        print(f"  {mat.asset_key.to_user_string():<28} {' '.join(parts)}")


def print_checks(result: dg.ExecuteInProcessResult) -> None:
    evaluations = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    not_passed = [ev for ev in evaluations if not ev.passed]  # type: ignore[union-attr]
    warned = [ev for ev in not_passed if ev.severity == dg.AssetCheckSeverity.WARN]  # type: ignore[union-attr]
    failed = [ev for ev in not_passed if ev not in warned]
    print(
        f"asset checks: {len(evaluations) - len(not_passed)} passed, {len(failed)} failed"
        + (f", {len(warned)} warning(s)" if warned else "")
    )
    for ev in not_passed:
        label = "WARNING" if ev in warned else "FAILED"
        print(f"  {label} {ev.asset_key.to_user_string()}:{ev.check_name}")  # type: ignore[union-attr]


def print_failures(result: dg.ExecuteInProcessResult) -> None:
    """Each distinct cause once (a dead API fails every step with the same cause), with the steps it failed."""
    causes: dict[str, list[str]] = {}
    for event in result.all_events:
        if event.is_step_failure:
            message = event.event_specific_data.error.message.strip()  # type: ignore[union-attr]
            first_line = message.splitlines()[0] if message else "unknown error"
            # "dagster._core.errors.Failure: Brightpearl API failed while syncing orders: <cause>" -> <cause>
            cause = first_line.split(" while syncing ", 1)[-1].split(": ", 1)[-1]
            causes.setdefault(cause, []).append(event.step_key or "?")
    for cause, steps in causes.items():
        print(f"  failed ({', '.join(sorted(steps))}): {cause}", file=sys.stderr)


def open_quarantine() -> list[tuple[str, str, int, str]]:
    """Unresolved dead letters in the published warehouse: (resource, record_id, records, reason)."""
    path = settings.warehouse_path()
    if not path.exists():
        return []
    with duckdb.connect(str(path), read_only=True) as conn:
        return bk.open_records(conn)


def resolved_this_run(result: dg.ExecuteInProcessResult) -> int:
    """Previously dead-lettered records this run loaded (or found gone): the sum of `quarantine_resolved`."""
    per_step: dict[str, int] = {}  # a multi-asset reports its stream's figure on both tables: count it once
    for event in result.get_asset_materialization_events():
        meta = event.event_specific_data.materialization.metadata  # type: ignore[union-attr]
        if "quarantine_resolved" in meta:
            per_step[event.step_key or ""] = int(_metadata_value(meta["quarantine_resolved"]))  # type: ignore[arg-type]
    return sum(per_step.values())


def print_quarantine(entries: list[tuple[str, str, int, str]], resolved: int) -> None:
    """Counts records, not batches (a refused GET batch of 19 orders is 19 records), and names them."""
    if resolved:
        print(f"{resolved} previously dead-lettered record(s) resolved by this run.")
    if not entries:
        print("no records dead-lettered.")
        return
    total = sum(records for _, _, records, _ in entries)
    print(
        f"{total} record(s) dead-lettered (retried first on the next run; see them with "
        'make sql Q="SELECT * FROM _sync.quarantine WHERE resolved_at IS NULL"):'
    )
    for resource, record_id, records, reason in entries[:MAX_QUARANTINE_LINES]:
        what = f"{records} records {record_id}" if records > 1 else record_id
        print(f"  {resource} {what}: {reason.splitlines()[0][:160] if reason else ''}")
    if len(entries) > MAX_QUARANTINE_LINES:
        print(f"  ... and {len(entries) - MAX_QUARANTINE_LINES} more entries")


def open_push_dead_letters() -> int:
    """Unresolved storefront push dead letters in the published warehouse (0 when there is no push schema yet)."""
    path = settings.warehouse_path()
    if not path.exists():
        return 0
    with duckdb.connect(str(path), read_only=True) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM push.dead_letters WHERE resolved_at IS NULL").fetchone()
        except duckdb.CatalogException:
            return 0
    return int(row[0]) if row else 0


def execute_main_job(job_name: str, mode: str | None = None) -> int:
    """Run the job on today's partition; `mode` (e.g. "reconciliation") overrides every Brightpearl asset's."""
    settings.quiet_library_warnings()
    from bp_pipelines.definitions import defs
    from bp_pipelines.schedules import sync_run_config

    job = defs.resolve_job_def(job_name)
    partition_key = _partition_key(job)
    # The same settings as a scheduled run (BP_OVERLAP_MINUTES etc., read now).
    run_config = {**QUIET_CONSOLE, **sync_run_config(mode or "auto")}
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance, partition_key=partition_key, raise_on_error=False, run_config=run_config
        )
    print(
        f"run {result.run_id} ({job_name}{', partition ' + partition_key if partition_key else ''}): "
        f"{'SUCCESS' if result.success else 'FAILURE'}"
    )
    print_materializations(result)
    print_checks(result)
    if not result.success:
        print_failures(result)
        return 1
    print(
        f'warehouse: {settings.warehouse_path()}  (query it: make sql Q="SELECT * FROM analytics.daily_sales LIMIT 5")'
    )
    print_quarantine(open_quarantine(), resolved_this_run(result))
    pushes = open_push_dead_letters()
    if pushes:
        print(
            f'{pushes} storefront push(es) dead-lettered: see them with make sql Q="SELECT * FROM push.dead_letters '
            'WHERE resolved_at IS NULL"; fix the reason given, then run the storefront_redrive job.'
        )
    return 0
