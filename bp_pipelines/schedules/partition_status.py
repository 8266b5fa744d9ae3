"""The `partition_status` sensor: the partitions a sync covered show as materialized in the UI.

A run records the partition range its window read as `covered_partitions` metadata (`lib/sync/partition_marks.py`);
this sensor turns each range into one materialization per partition not materialized yet. It makes no API call and
writes nothing but Dagster's own event log, so it ships RUNNING (unlike the schedules). Runs of `make run` (executed
in process, without the daemon) are caught up by the first `make dev` or daemon that runs it.
"""

from __future__ import annotations

import dagster as dg

from bp_pipelines.lib.conventions import daily_partitions
from bp_pipelines.lib.sync.partition_marks import MarkCursor, pending_marks

# The daily-partitioned extraction assets (the multi-assets' child tables have their own partitions).
PARTITIONED_ASSETS = (
    "orders",
    "order_rows",
    "products",
    "contacts",
    "goods_out_notes",
    "goods_out_note_rows",
    "customer_payments",
)
# Events written per tick. Dagster's SQLite event log commits each event on its own (measured 15-80 ms per event on
# a busy 2-core VM, most of it fsync; far less on an idle SSD), so a 3-year first load (6 assets x ~1000 days)
# converges over a few ticks instead of blocking the sensor daemon (and other sensors) for minutes in one.
MAX_EVENTS_PER_TICK = 1000


@dg.sensor(
    name="partition_status",
    minimum_interval_seconds=60,  # each tick logs a line in `make dev`: once a minute is enough
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Marks every daily partition a sync run covered (first full load: the whole history; incremental: the "
        "days its window read) as materialized, so the Partitions tab shows what the warehouse holds."
    ),
)
def partition_status(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    cursor = MarkCursor.parse(context.cursor)
    events = pending_marks(
        context.instance, daily_partitions, PARTITIONED_ASSETS, cursor, max_events=MAX_EVENTS_PER_TICK
    )
    if not events and cursor.dump() == (context.cursor or "{}"):
        return dg.SkipReason("no new covered partitions")
    return dg.SensorResult(asset_events=events, cursor=cursor.dump())
