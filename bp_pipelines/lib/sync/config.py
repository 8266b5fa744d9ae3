"""Run configuration shared by every Brightpearl asset, and how the effective mode is chosen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import dagster as dg
from pydantic import Field

from bp_pipelines import settings
from bp_pipelines.lib.conventions import daily_partitions

Mode = Literal["incremental", "partition", "reconciliation"]
RequestedMode = Literal["auto", "incremental", "partition", "reconciliation"]


class SyncConfig(dg.Config):
    """How a Brightpearl asset syncs. The same config is accepted by every asset of the `brightpearl` group."""

    mode: RequestedMode = Field(
        default="auto",
        description=(
            "incremental: from the stored watermark minus overlap to now. partition: exactly the selected "
            "partition range (backfills). reconciliation: id sweep -> deletions, missing/stale records, re-read of "
            "the last `reread_days`. auto: partition for backfills and past partitions, else incremental."
        ),
    )
    overlap_minutes: int = Field(
        default=settings.overlap_minutes(),
        ge=0,
        description="Re-read this much before the watermark (default from BP_OVERLAP_MINUTES, else 10).",
    )
    reread_days: int = Field(
        default=settings.reread_days(),
        ge=0,
        description="Reconciliation re-reads records touched this recently (default from BP_REREAD_DAYS, else 3).",
    )
    force: bool = Field(default=False, description="Re-fetch records even when the search says they are unchanged.")
    reference_max_age_minutes: int = Field(
        default=60, ge=0, description="Incremental runs skip reference data refreshed more recently than this."
    )
    reconcile_every_hours: float = Field(
        default=settings.reconcile_every_hours(),
        ge=0,
        description=(
            "Incremental runs sweep every id (deletions, silent edits, null updatedOn) once this long has passed "
            "since the last reconciliation (default from BP_RECONCILE_EVERY_HOURS, else 24)."
        ),
    )
    reconcile_max_pages: int = Field(
        default=settings.reconcile_max_pages(),
        ge=0,
        description=(
            "Incremental runs sweep every id on every run when the sweep needs at most this many search pages of "
            "500 (default from BP_RECONCILE_MAX_PAGES, else 10; 0 = only when due)."
        ),
    )
    open_notes_days: int = Field(
        default=settings.open_notes_days(),
        ge=0,
        description=(
            "Incremental runs re-search unshipped goods-out notes created this many days before the window for "
            "print/pick/pack changes; older open notes are re-checked by the reconciliation sweep, and any note's "
            "shipment is seen whatever its age (default from BP_OPEN_NOTES_DAYS, else 30; 0 = every unshipped note "
            "on every run)."
        ),
    )
    max_delete_fraction: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Safety valve: a sweep that would mark more than this share of a table deleted marks nothing.",
    )


def choose_mode(
    requested: RequestedMode,
    *,
    partition_range: tuple[str, str] | None,
    is_backfill: bool,
    latest_partition: str | None,
) -> Mode:
    """Resolve `auto`: backfills and past partitions -> partition; today's partition or none -> incremental."""
    if requested != "auto":
        return requested
    if partition_range is None:
        return "incremental"
    if is_backfill:
        return "partition"
    start, end = partition_range
    return "incremental" if start == end == latest_partition else "partition"


def partition_range(context: dg.AssetExecutionContext) -> tuple[str, str] | None:
    if context.assets_def.partitions_def is None or not context.has_partition_key_range:
        return None
    key_range = context.partition_key_range
    return key_range.start, key_range.end


def effective_mode(context: dg.AssetExecutionContext, config: SyncConfig) -> Mode:
    return choose_mode(
        config.mode,
        partition_range=partition_range(context),
        is_backfill=bool(context.run.tags.get("dagster/backfill")),
        latest_partition=daily_partitions.get_partition_key_for_timestamp(datetime.now(UTC).timestamp()),
    )
