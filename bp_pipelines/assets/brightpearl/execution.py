"""Glue between Dagster and the sync engine: mode and window from the context, API failures, results."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import dagster as dg

from bp_pipelines.resources.brightpearl import BrightpearlError, BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

from .config import SyncConfig, effective_mode
from .entities import Entity
from .metadata import build_metadata, log_run, partition_range_text
from .runner import run_entity

POOL = "duckdb_writer"  # one writer of the DuckDB working file at a time (dagster.yaml: pools default_limit 1)
GROUP = "brightpearl"


def api_failure(resource: str, exc: BrightpearlError) -> dg.Failure:
    """A dead API fails the run with a message saying what happened and what was kept."""
    return dg.Failure(
        description=(
            f"Brightpearl API failed while syncing {resource}: {exc}. Batches committed before the failure are kept "
            "in the working file (not yet published); the watermark did not move, so the next run resumes from it. "
            "Check BRIGHTPEARL_* credentials (401) or Brightpearl's status (5xx/timeouts/throttling)."
        ),
        metadata={"error_class": type(exc).__name__, "status": exc.status if exc.status is not None else -1},
    )


def partition_window(context: dg.AssetExecutionContext) -> tuple[datetime, datetime] | None:
    if context.assets_def.partitions_def is None or not context.has_partition_key_range:
        return None
    window = context.partition_time_window  # the whole range for a single-run backfill
    return window.start, window.end


def materialize_entity(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    entity: Entity,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
    child_key: str | None = None,
) -> Iterator[dg.MaterializeResult]:
    """Run one resource and yield one MaterializeResult for its table (and one for its child table)."""
    mode = effective_mode(context, config)
    window = partition_window(context)
    context.log.info(f"{entity.resource}: mode={mode} partition_range={partition_range_text(context)}")
    with warehouse.session():
        try:
            with brightpearl.get_client() as bp:
                run = run_entity(
                    entity, bp, warehouse, context.log, mode=mode, config=config, window=window, run_id=context.run_id
                )
                client_stats = bp.stats
        except BrightpearlError as exc:
            raise api_failure(entity.resource, exc) from exc
        results = _results(context, entity, warehouse, run, client_stats, mode, child_key)
    yield from results


def publish_if_changed(warehouse: WarehouseResource, changed: bool) -> bool:
    """Publish after a write that changed something. A quiet run (bookkeeping only) does not copy the whole
    database again; the snapshot then lags only in `_sync.runs`/`_sync.watermarks.updated_at`."""
    if changed or not warehouse.published_path.exists():
        warehouse.publish()
        return True
    return False


def _results(
    context: dg.AssetExecutionContext,
    entity: Entity,
    warehouse: WarehouseResource,
    run: Any,
    client_stats: Any,
    mode: str,
    child_key: str | None,
) -> list[dg.MaterializeResult]:
    stats = run.sync.stats
    common = {
        "records_fetched": stats.fetched,
        "quarantine_resolved": stats.resolved,
        "search_complete": stats.search_complete,
        "deletions_skipped": stats.deletions_skipped or "",
        "partition_range": partition_range_text(context) or "",
    }
    tables = [(entity.resource, stats.parent, stats.quarantined)]
    if entity.child is not None and child_key:
        tables.append((child_key, stats.child, 0))
    metas = []
    for asset_key, counts, quarantined in tables:
        meta = build_metadata(
            counts=counts,
            quarantined=quarantined,
            client=client_stats,
            mode=mode,
            window_from=run.window_from,
            window_to=run.window_to,
            watermark=run.watermark,
            extra=common,
        )
        log_run(
            warehouse,
            run_id=context.run_id,
            asset=asset_key,
            partition_range=partition_range_text(context),
            started=run.sync.started,
            meta=meta,
            window_from=run.window_from,
            window_to=run.window_to,
            watermark=run.watermark,
        )
        metas.append((asset_key, meta))
    changed = stats.quarantined + stats.resolved > 0 or any(
        c.inserted or c.updated or c.deleted for c in (stats.parent, stats.child)
    )
    # Only after everything of this asset (data, watermark, run log) is committed.
    published = publish_if_changed(warehouse, changed)
    return [dg.MaterializeResult(asset_key=key, metadata={**meta, "published": published}) for key, meta in metas]
