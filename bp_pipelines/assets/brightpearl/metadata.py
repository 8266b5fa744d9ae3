"""Materialization metadata and the `_sync.runs` log, identical in shape for every Brightpearl asset."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from bp_pipelines.resources.brightpearl import ClientStats
from bp_pipelines.resources.warehouse import WarehouseResource

from . import bookkeeping as bk
from .sql import Counts


def _window_text(window_from: datetime | None, window_to: datetime | None) -> str:
    if window_from is None and window_to is None:
        return "all (id sweep)"
    left = window_from.isoformat() if window_from else ""
    return f"{left} / {window_to.isoformat() if window_to else 'open (now)'}"


def build_metadata(
    *,
    counts: Counts,
    quarantined: int,
    client: ClientStats,
    mode: str,
    window_from: datetime | None,
    window_to: datetime | None,
    watermark: datetime | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    meta: dict[str, Any] = {
        "mode": mode,
        "rows_inserted": counts.inserted,
        "rows_updated": counts.updated,
        "rows_deleted": counts.deleted,
        "rows_undeleted": counts.undeleted,
        "rows_quarantined": quarantined,
        "api_calls": client.calls,
        "throttled": client.throttled,
        "retries": client.retries,
        "api_calls_by_endpoint": dg.MetadataValue.json(dict(sorted(client.calls_by_endpoint.items()))),
        "window": _window_text(window_from, window_to),
        "watermark": dg.MetadataValue.timestamp(watermark) if watermark else dg.MetadataValue.text("none"),
        "lag_seconds": round((now - watermark).total_seconds(), 1) if watermark else -1.0,
    }
    meta.update(extra or {})
    return meta


def log_run(
    wh: WarehouseResource,
    *,
    run_id: str,
    asset: str,
    partition_range: str | None,
    started: datetime,
    meta: dict[str, Any],
    window_from: datetime | None,
    window_to: datetime | None,
    watermark: datetime | None,
) -> None:
    """One `_sync.runs` row per asset materialization (what it did and what it cost)."""
    with wh.connect() as conn:
        bk.record_run(
            conn,
            {
                "run_id": run_id,
                "asset": asset,
                "mode": meta["mode"],
                "partition_range": partition_range,
                "window_from": window_from,
                "window_to": window_to,
                "started_at": started,
                "finished_at": datetime.now(UTC),
                "rows_inserted": meta["rows_inserted"],
                "rows_updated": meta["rows_updated"],
                "rows_deleted": meta["rows_deleted"],
                "rows_undeleted": meta["rows_undeleted"],
                "rows_quarantined": meta["rows_quarantined"],
                "api_calls": meta["api_calls"],
                "throttled": meta["throttled"],
                "retries": meta["retries"],
                "watermark": watermark,
            },
        )


def partition_range_text(context: dg.AssetExecutionContext) -> str | None:
    if context.assets_def.partitions_def is None or not context.has_partition_key_range:
        return None
    key_range = context.partition_key_range
    return key_range.start if key_range.start == key_range.end else f"{key_range.start}..{key_range.end}"


def as_json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)
