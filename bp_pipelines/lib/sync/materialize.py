"""The one materialize step of every Brightpearl asset, and the one `finish` that ends it.

asset -> `materialize_*` (mode and window from the Dagster context; open client and warehouse) -> the sync
(`StreamSync`, `refresh_reference_list`, `StockSync`) -> `finish`: metadata, `_sync.runs` log, publish,
`MaterializeResult`s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import dagster as dg
import duckdb

from bp_pipelines.lib.brightpearl import BrightpearlClient, BrightpearlError, ClientStats
from bp_pipelines.lib.warehouse import ALL_TABLES, Counts, DuckDBWarehouse
from bp_pipelines.lib.warehouse import bookkeeping as bk
from bp_pipelines.lib.warehouse import source as warehouse_source

from .config import Mode, SyncConfig, effective_mode, partition_range
from .partition_marks import covered_metadata
from .payments import NAME as CUSTOMER_PAYMENTS
from .payments import PaymentSync
from .reference_sync import refresh_reference_list
from .stock_sync import NAME as STOCK_LEVELS
from .stock_sync import StockSync
from .stream_sync import StreamSync
from .streams import ReferenceList, Stream


class BrightpearlSource(Protocol):
    """What `materialize_*` needs of the Brightpearl resource (kept structural so the library never imports
    `bp_pipelines.resources`)."""

    base_url: str
    account: str

    def get_client(self) -> BrightpearlClient: ...


class WarehouseSource(Protocol):
    def get_warehouse(self) -> DuckDBWarehouse: ...


TABLES = {table.name: table for table in ALL_TABLES}


@dataclass(frozen=True)
class TableResult:
    """What one run did to one asset's table."""

    asset_key: str
    counts: Counts
    quarantined: int


def api_failure(name: str, exc: BrightpearlError) -> dg.Failure:
    """A dead API fails the run with a message saying what happened and what was kept."""
    return dg.Failure(
        description=(
            f"Brightpearl API failed while syncing {name}: {exc}. Batches committed before the failure are kept "
            "in the working file (not yet published); the watermark did not move, so the next run resumes from it. "
            "Check BRIGHTPEARL_* credentials (401) or Brightpearl's status (5xx/timeouts/throttling)."
        ),
        metadata={"error_class": type(exc).__name__, "status": exc.status if exc.status is not None else -1},
    )


# --- one warehouse, one source (bp_pipelines.lib.warehouse.source) -------------------------------------------------
def check_source(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, brightpearl: BrightpearlSource) -> None:
    """Before any API call: the warehouse must hold this Brightpearl account (recorded by the first write)."""
    identity = warehouse_source.brightpearl_identity(brightpearl.base_url, brightpearl.account)
    with warehouse.connect() as conn:
        legacy = warehouse_source.recorded_source(conn, "brightpearl") is None and warehouse_source.holds_data(conn)
        try:
            recorded = warehouse_source.record_or_check_source(
                conn, "brightpearl", identity, path=warehouse.published_path, run_id=context.run_id
            )
        except warehouse_source.SourceMismatchError as exc:
            raise dg.Failure(description=str(exc)) from None
    if recorded and legacy:
        context.log.warning(
            f"{warehouse.published_path} held data but no recorded source; it now belongs to "
            f"{warehouse_source.describe(identity.identity)}. "
            f"If that data came from another account (e.g. the sandbox), reset it: {warehouse_source.RESET_HINT}."
        )


# --------------------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def brightpearl_client(brightpearl: BrightpearlSource, name: str) -> Iterator[BrightpearlClient]:
    """A client for one asset's sync; any Brightpearl failure becomes one clear `dg.Failure` naming `name`."""
    try:
        with brightpearl.get_client() as client:
            yield client
    except BrightpearlError as exc:
        raise api_failure(name, exc) from exc


def partition_range_text(context: dg.AssetExecutionContext) -> str | None:
    key_range = partition_range(context)
    if key_range is None:
        return None
    start, end = key_range
    return start if start == end else f"{start}..{end}"


def _window_text(window_from: datetime | None, window_to: datetime | None) -> str:
    if window_from is None and window_to is None:
        return "all (id sweep)"
    left = window_from.isoformat() if window_from else ""
    return f"{left} / {window_to.isoformat() if window_to else 'open (now)'}"


def run_metadata(
    *,
    counts: Counts,
    quarantined: int,
    client: ClientStats,
    mode: str,
    window_from: datetime | None,
    window_to: datetime | None,
    watermark: datetime | None,
) -> dict[str, Any]:
    """The metadata every Brightpearl materialization carries (the UI plots the numbers)."""
    return {
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
        "lag_seconds": round((datetime.now(UTC) - watermark).total_seconds(), 1) if watermark else -1.0,
    }


def table_row_count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows in `brightpearl.<table>` (asset keys are table names)."""
    row = conn.execute(f"SELECT count(*) FROM brightpearl.{TABLES[table].name}").fetchone()
    return int(row[0]) if row else 0


def finish(
    context: dg.AssetExecutionContext,
    warehouse: DuckDBWarehouse,
    tables: list[TableResult],
    *,
    client: ClientStats,
    mode: str,
    started: datetime,
    window_from: datetime | None,
    window_to: datetime | None,
    watermark: datetime | None,
    changed: bool,
    extra: dict[str, Any],
) -> list[dg.MaterializeResult]:
    """Metadata -> one `_sync.runs` row per table -> publish (only when something changed) -> results."""
    partitions = partition_range_text(context)
    metas = []
    for table in tables:
        meta = run_metadata(
            counts=table.counts,
            quarantined=table.quarantined,
            client=client,
            mode=mode,
            window_from=window_from,
            window_to=window_to,
            watermark=watermark,
        )
        meta.update(extra)
        with warehouse.connect() as conn:
            # The table's total row count (deleted-marked rows included), like the marts report theirs.
            meta["dagster/row_count"] = table_row_count(conn, table.asset_key)
            bk.record_run(
                conn,
                {
                    "run_id": context.run_id,
                    "asset": table.asset_key,
                    "mode": mode,
                    "partition_range": partitions,
                    "window_from": window_from,
                    "window_to": window_to,
                    "started_at": started,
                    "finished_at": datetime.now(UTC),
                    "rows_inserted": table.counts.inserted,
                    "rows_updated": table.counts.updated,
                    "rows_deleted": table.counts.deleted,
                    "rows_undeleted": table.counts.undeleted,
                    "rows_quarantined": table.quarantined,
                    "api_calls": client.calls,
                    "throttled": client.throttled,
                    "retries": client.retries,
                    "watermark": watermark,
                },
            )
        metas.append((table.asset_key, meta))
    # Only after everything of this asset (data, watermark, run log) is committed. A quiet run (bookkeeping
    # only) does not copy the whole database again; the snapshot then lags only in `_sync.runs` and in the
    # watermarks no snapshot reader acts on (`publish_if_changed`).
    published = warehouse.publish_if_changed(changed)
    return [dg.MaterializeResult(asset_key=key, metadata={**meta, "published": published}) for key, meta in metas]


class _SyncRun(Protocol):
    window_from: datetime | None
    window_to: datetime | None
    sweep: Any


class _SyncStats(Protocol):
    fetched: int
    resolved: int
    search_complete: bool
    deletions_skipped: Any


def sync_extra(context: dg.AssetExecutionContext, mode: Mode, run: _SyncRun, stats: _SyncStats) -> dict[str, Any]:
    """Metadata every searched stream adds (streams and payments alike)."""
    return {
        "records_fetched": stats.fetched,
        "quarantine_resolved": stats.resolved,
        "search_complete": stats.search_complete,
        "deletions_skipped": stats.deletions_skipped or "",
        "sweep": run.sweep.reason if run.sweep else "",
        "partition_range": partition_range_text(context) or "",
        # The days this run read beyond its target (the partition_status sensor marks them).
        **covered_metadata(
            context,
            mode=mode,
            window_from=run.window_from,
            window_to=run.window_to,
            now=datetime.now(UTC),
            swept=run.sweep is not None,
        ),
    }


def materialize_stream(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    stream: Stream,
    brightpearl: BrightpearlSource,
    warehouse_resource: WarehouseSource,
) -> Iterator[dg.MaterializeResult]:
    """Run one stream and yield one MaterializeResult for its table (and one for its child table)."""
    mode: Mode = effective_mode(context, config)
    window = None
    if partition_range(context) is not None:
        time_window = context.partition_time_window  # the whole range for a single-run backfill
        window = (time_window.start, time_window.end)
    context.log.info(f"{stream.name}: mode={mode} partition_range={partition_range_text(context)}")
    warehouse = warehouse_resource.get_warehouse()
    with warehouse.session():
        check_source(context, warehouse, brightpearl)
        with brightpearl_client(brightpearl, stream.name) as client:
            run = StreamSync(stream, client, warehouse, context.log, force=config.force).run(
                mode, window, config, context.run_id
            )
        stats = run.stats
        tables = [TableResult(stream.name, stats.table, stats.quarantined)]
        if stream.child_table is not None:
            tables.append(TableResult(stream.child_table.name, stats.child_table, 0))
        results = finish(
            context,
            warehouse,
            tables,
            client=client.stats,
            mode=mode,
            started=run.started,
            window_from=run.window_from,
            window_to=run.window_to,
            watermark=run.watermark,
            changed=stats.changed,
            extra=sync_extra(context, mode, run, stats),
        )
    yield from results


def materialize_reference_list(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    reference: ReferenceList,
    brightpearl: BrightpearlSource,
    warehouse_resource: WarehouseSource,
) -> dg.MaterializeResult:
    mode = effective_mode(context, config)
    fresh = timedelta(minutes=config.reference_max_age_minutes) if mode == "incremental" else None
    started = datetime.now(UTC)
    warehouse = warehouse_resource.get_warehouse()
    with warehouse.session():
        check_source(context, warehouse, brightpearl)
        with brightpearl_client(brightpearl, reference.name) as client:
            run = refresh_reference_list(
                reference, client, warehouse, context.log, skip_if_fresh=fresh, run_id=context.run_id
            )
        counts = run.counts
        [result] = finish(
            context,
            warehouse,
            [TableResult(reference.name, counts, run.quarantined)],
            client=client.stats,
            mode=mode,
            started=started,
            window_from=None,
            window_to=started,
            watermark=run.refreshed_at,
            changed=bool(counts.inserted or counts.updated or counts.deleted or run.quarantined),
            extra={"outcome": run.outcome},
        )
    return result


def materialize_stock(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlSource,
    warehouse_resource: WarehouseSource,
) -> dg.MaterializeResult:
    mode = effective_mode(context, config)
    warehouse = warehouse_resource.get_warehouse()
    with warehouse.session():
        check_source(context, warehouse, brightpearl)
        with brightpearl_client(brightpearl, STOCK_LEVELS) as client:
            sync = StockSync(client, warehouse, context.log)
            full = mode == "reconciliation" or sync.since is None
            sync.run(full, context.run_id, mode)
        [result] = finish(
            context,
            warehouse,
            [TableResult(STOCK_LEVELS, sync.counts, sync.quarantined)],
            client=client.stats,
            mode=mode,
            started=sync.as_of,
            window_from=sync.since,
            window_to=sync.as_of,
            watermark=sync.as_of,
            changed=sync.changed,
            extra={
                "refresh": "all products" if full else "changed since last stock sync",
                "quarantine_resolved": sync.resolved,
            },
        )
    return result


def materialize_payments(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlSource,
    warehouse_resource: WarehouseSource,
) -> dg.MaterializeResult:
    """Customer payments: search pages straight into the table (there is no GET by id), see `payments.py`."""
    mode: Mode = effective_mode(context, config)
    window = None
    if partition_range(context) is not None:
        time_window = context.partition_time_window
        window = (time_window.start, time_window.end)
    warehouse = warehouse_resource.get_warehouse()
    with warehouse.session():
        with brightpearl_client(brightpearl, CUSTOMER_PAYMENTS) as client:
            sync = PaymentSync(client, warehouse, context.log)
            run = sync.run(mode, window, config, context.run_id)
        [result] = finish(
            context,
            warehouse,
            [TableResult(CUSTOMER_PAYMENTS, run.counts, run.quarantined)],
            client=client.stats,
            mode=mode,
            started=sync.started,
            window_from=run.window_from,
            window_to=run.window_to,
            watermark=run.watermark,
            changed=run.changed,
            extra=sync_extra(context, mode, run, run),
        )
    return result
