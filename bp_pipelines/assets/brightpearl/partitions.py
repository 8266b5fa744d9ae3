"""Daily partitions of the Brightpearl extraction (UTC days of `updatedOn`; goods-out notes: see docs/warehouse.md)."""

from __future__ import annotations

import dagster as dg

from bp_pipelines import settings

# end_offset=1: today's (still open) day is a partition too, so the 15-minute schedule can target it.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.sync_start_date().isoformat(), end_offset=1, timezone="UTC"
)
