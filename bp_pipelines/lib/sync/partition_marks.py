"""Partitions that tell the truth: every daily partition a run covered ends up materialized in Dagster.

Dagster records a materialization only for the partitions a run *targets* (today's, for `make run` and the
schedules). But the first run of a stream sweeps the whole history, and an incremental run reads
[watermark - overlap, now), which can span several days. Without more events the Partitions tab shows the history
as "Missing" after a complete load, and "Materialize missing" looks like the fix: a multi-year backfill of data
that is already there.

Two steps, so that no sync pays for the bookkeeping:

1. The run says what it covered: each stream's materialization carries `covered_partitions` = "first...last"
   (`covered_range`): a window search covers every UTC day it touched up to now; an id sweep (first run,
   reconciliation, cheap or due sweep) read every record, so every partition up to today. Partition-mode runs
   (backfills) target their window already and carry nothing.
2. The `partition_status` sensor (`bp_pipelines.schedules`) turns that into one materialization per covered
   partition not yet materialized (`pending_marks`). Dagster stores each event separately (~5-15 ms each on SQLite),
   so a 3-year first load is ~1000 events per asset: the daemon writes them in the background, a few thousand per
   tick, instead of holding up the run (and every test) for a minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import dagster as dg

# Metadata of a stream's materialization: the partition range its window covered ("2024-01-01...2026-12-02").
COVERED_PARTITIONS = "covered_partitions"
# Metadata of the sensor's events: which run's window this partition was part of.
COVERED_BY = "covered_by"
RANGE_SEPARATOR = "..."  # as in `dagster asset materialize --partition-range`


def covered_days(window_from: datetime | None, window_to: datetime | None, now: datetime) -> tuple[date | None, date]:
    """The first and last UTC day a window covers (`window_from` None = an id sweep: from the first partition).
    The upper bound is exclusive: a window ending exactly at midnight does not cover the next day."""
    end = window_to or now
    if window_from is not None and end <= window_from:
        return window_from.date(), window_from.date()
    return (window_from.date() if window_from else None), (end - timedelta(microseconds=1)).date()


def covered_range(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    window_from: datetime | None,
    window_to: datetime | None,
    now: datetime,
) -> tuple[str, str] | None:
    """First and last daily partition key a run's window covered, clamped to the partitions that exist."""
    first_key = partitions_def.get_first_partition_key()
    last_key = partitions_def.get_last_partition_key()
    if first_key is None or last_key is None:
        return None
    # The day holding `now` (today is a partition: end_offset=1), never past the last partition that exists.
    last_key = min(last_key, partitions_def.get_partition_key_for_timestamp(now.timestamp()))
    first_day, last_day = covered_days(window_from, window_to, now)
    fmt = partitions_def.fmt
    start = max(first_key, first_day.strftime(fmt)) if first_day else first_key
    end = min(last_key, last_day.strftime(fmt))
    return (start, end) if start <= end else None


def covered_partition_keys(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    window_from: datetime | None,
    window_to: datetime | None,
    now: datetime,
) -> list[str]:
    """The daily partition keys a run's window covered."""
    bounds = covered_range(partitions_def, window_from, window_to, now)
    if bounds is None:
        return []
    return list(partitions_def.get_partition_keys_in_range(dg.PartitionKeyRange(*bounds)))


def covered_metadata(
    context: dg.AssetExecutionContext,
    *,
    mode: str,
    window_from: datetime | None,
    window_to: datetime | None,
    now: datetime,
    swept: bool,
) -> dict[str, str]:
    """`{covered_partitions: "first...last"}` for a run that read more than it targets (see module docstring)."""
    partitions_def = context.assets_def.partitions_def
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition) or mode == "partition":
        return {}
    if not swept and window_from is None:
        return {}
    bounds = covered_range(partitions_def, None if swept else window_from, None if swept else window_to, now)
    return {COVERED_PARTITIONS: RANGE_SEPARATOR.join(bounds)} if bounds else {}


def _keys_between(partitions_def: dg.TimeWindowPartitionsDefinition, start: str, end: str) -> list[str]:
    """Existing partition keys in [start, end] (BP_SYNC_START_DATE may have moved since the run)."""
    first, last = partitions_def.get_first_partition_key(), partitions_def.get_last_partition_key()
    if first is None or last is None:
        return []
    start, end = max(start, first), min(end, last)
    return list(partitions_def.get_partition_keys_in_range(dg.PartitionKeyRange(start, end))) if start <= end else []


@dataclass
class MarkCursor:
    """Per asset, the storage id of the last materialization already turned into marks."""

    after: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> MarkCursor:
        return cls(dict(json.loads(raw))) if raw else cls()

    def dump(self) -> str:
        return json.dumps(self.after, sort_keys=True)


def pending_marks(
    instance: dg.DagsterInstance,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    asset_keys: Iterable[str],
    cursor: MarkCursor,
    *,
    max_events: int,
) -> list[dg.AssetMaterialization]:
    """Materializations of the covered partitions not materialized yet, for materializations newer than the cursor
    (which advances past every materialization fully handled; at most about `max_events` per call)."""
    events: list[dg.AssetMaterialization] = []
    for name in asset_keys:
        key = dg.AssetKey(name)
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=cursor.after.get(name)), limit=100, ascending=True
        ).records
        if not records:
            continue
        done = set(instance.get_materialized_partitions(key))
        for record in records:
            materialization = record.asset_materialization
            covered = materialization.metadata.get(COVERED_PARTITIONS) if materialization else None
            if covered is not None:
                start, _, end = str(getattr(covered, "value", covered)).partition(RANGE_SEPARATOR)
                keys = [k for k in _keys_between(partitions_def, start, end or start) if k not in done]
                if events and len(events) + len(keys) > max_events:
                    return events  # this record next time: the cursor stays before it
                events += [
                    dg.AssetMaterialization(
                        asset_key=key, partition=k, metadata={COVERED_BY: f"window of run {record.run_id}"}
                    )
                    for k in keys
                ]
                done.update(keys)
            cursor.after[name] = record.storage_id
    return events
