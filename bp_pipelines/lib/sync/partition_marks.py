"""Partitions that tell the truth: a run records every daily partition its window covered.

Dagster records a materialization only for the partitions a run *targets* (today's for `make run` and the
schedules). But the first run of a stream sweeps the whole history, and an incremental run reads
[watermark - overlap, now), which can span several days. Without more events the Partitions tab would show the
history as "Missing" after a complete load, and "Materialize missing" would look like the fix: a multi-year
backfill of data that is already there. So after a run the stream's assets log one `AssetMaterialization` per
covered partition that the run did not target itself:

- a window search (incremental): every UTC day the window touched, up to now;
- an id sweep (first run, reconciliation, cheap or due sweep): it read every record, so every partition from the
  first one to today, but only those not yet materialized (a sweep every 15 minutes must not log the whole
  history each time);
- partition mode (backfills): nothing extra, the run targets exactly its window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import dagster as dg

# Metadata key on the extra events: why this partition was marked ("window" or "sweep") and by which run.
COVERED_BY = "covered_by"


def covered_days(window_from: datetime | None, window_to: datetime | None, now: datetime) -> tuple[date | None, date]:
    """The first and last UTC day a window covers (`window_from` None = an id sweep: from the first partition).
    The upper bound is exclusive: a window ending exactly at midnight does not cover the next day."""
    end = window_to or now
    if window_from is not None and end <= window_from:
        return window_from.date(), window_from.date()
    return (window_from.date() if window_from else None), (end - timedelta(microseconds=1)).date()


def covered_partition_keys(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    window_from: datetime | None,
    window_to: datetime | None,
    now: datetime,
) -> list[str]:
    """The daily partition keys a run's window covered, clamped to the partitions that exist now."""
    first_key = partitions_def.get_first_partition_key()
    last_key = partitions_def.get_last_partition_key()
    if first_key is None or last_key is None:
        return []
    # The day holding `now` (today is a partition: end_offset=1), never past the last partition that exists.
    last_key = min(last_key, partitions_def.get_partition_key_for_timestamp(now.timestamp()))
    first_day, last_day = covered_days(window_from, window_to, now)
    fmt = partitions_def.fmt
    start = max(first_key, first_day.strftime(fmt)) if first_day else first_key
    end = min(last_key, last_day.strftime(fmt))
    if start > end:
        return []
    return list(partitions_def.get_partition_keys_in_range(dg.PartitionKeyRange(start, end)))


def mark_covered_partitions(
    context: dg.AssetExecutionContext,
    asset_keys: Iterable[str],
    *,
    window_from: datetime | None,
    window_to: datetime | None,
    now: datetime,
    swept: bool,
) -> int:
    """Log a materialization for each covered partition of `asset_keys` the run did not target; returns how many
    events were logged. Partition-mode runs (backfills) target their window already and log nothing extra."""
    partitions_def = context.assets_def.partitions_def
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return 0
    if not swept and window_from is None:
        return 0
    keys = covered_partition_keys(partitions_def, window_from, window_to, now)
    targeted = set(context.partition_keys) if context.has_partition_key_range else set()
    reason = "sweep" if swept else "window"
    logged = 0
    for asset_key in asset_keys:
        key = dg.AssetKey(asset_key)
        skip = set(targeted)
        if swept:  # every partition was read: mark only those the instance does not know yet
            skip |= context.instance.get_materialized_partitions(key)
        for partition in keys:
            if partition in skip:
                continue
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=key, partition=partition, metadata={COVERED_BY: f"{reason} of run {context.run_id}"}
                )
            )
            logged += 1
    return logged
