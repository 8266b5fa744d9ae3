"""The materialize steps of the storefront extraction and the stock push: settings from the sync file, the run,
metadata, and the published snapshot. Errors of the storefront become the same one-line `dg.Failure` as the push's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb

from bp_pipelines.lib.push.from_sync_file import ExtractSettings
from bp_pipelines.lib.push.materialize import StorefrontSource, WarehouseSource, _storefront_client
from bp_pipelines.lib.warehouse import DuckDBWarehouse

from .extract import StreamReport, StreamSync
from .stock import KIND, StockPush

# Asset key -> the stream that fills it.
STREAMS = {"storefront_orders": "orders", "storefront_customers": "customers", "storefront_catalog": "catalog"}
# The table whose size is the asset's row count (the catalog's sellable unit is the variant).
ROW_COUNT_TABLE = {"storefront_orders": "orders", "storefront_customers": "customers", "storefront_catalog": "variants"}


def _requests(bc: Any) -> int:
    stats = getattr(bc, "stats", None)
    return int(getattr(stats, "requests", 0))


def _stream_metadata(report: StreamReport, requests: int) -> dict[str, Any]:
    return {
        "records_read": report.records,
        "rows_written": report.rows_written,
        "quarantined": report.quarantined,
        "since": str(report.since) if report.since else "full load",
        "watermark": str(report.watermark) if report.watermark else "",
        "tables": dg.MetadataValue.json(
            {t: {"inserted": c.inserted, "updated": c.updated, "deleted": c.deleted} for t, c in report.counts.items()}
        ),
        "bc_requests": requests,
    }


def record_reconcile_settings(conn: duckdb.DuckDBPyConnection, settings: ExtractSettings) -> None:
    """The sync-file settings `analytics.storefront_sku_mismatches` reads (push.state, JSON lists): the mart is
    plain SQL rebuilt with the others, so the step that reads the sync file before it leaves them there."""
    values = {
        "reconcile.storefront_channel_ids": list(settings.storefront_channel_ids),
        "reconcile.stock_warehouse_ids": list(settings.stock_warehouse_ids),
        "reconcile.ignore_skus": sorted({sku.strip().casefold() for sku in settings.ignore_skus}),
        "reconcile.shipment_delay_minutes": settings.shipment_delay_minutes,
    }
    now = datetime.now(UTC)
    for key, value in values.items():
        conn.execute(
            "INSERT INTO push.state VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            [key, json.dumps(value), now],
        )


def materialize_extract(
    context: dg.AssetExecutionContext,
    storefront: StorefrontSource,
    warehouse: WarehouseSource,
    load_settings: Callable[[], ExtractSettings],
    initial_days: int | None,
) -> Iterator[dg.MaterializeResult]:
    selected = [key for key in STREAMS if dg.AssetKey(key) in context.selected_asset_keys]
    settings = load_settings()
    if not settings.enabled:
        context.log.info(
            "storefront extraction skipped: storefront.enabled is false and there is no import section in the sync file"
        )
        for key in selected:
            yield dg.MaterializeResult(asset_key=key, metadata={"extract_enabled": False})
        return
    wh = warehouse.get_warehouse()
    initial = None if initial_days is None else datetime.now(UTC) - timedelta(days=initial_days)
    sync = StreamSync(wh.connect, context.run_id, context.log, initial_orders_since=initial)
    changed = False
    with wh.session(), _storefront_client(storefront, "extraction") as bc:
        with wh.connect() as conn:
            record_reconcile_settings(conn, settings)
        for key in selected:
            before = _requests(bc)
            stream = STREAMS[key]
            report = sync.orders(bc, settings.importable_statuses) if stream == "orders" else getattr(sync, stream)(bc)
            requests = _requests(bc) - before
            changed = changed or report.changed
            context.log.info(
                f"{report.stream}: {report.records} read, {report.rows_written} rows written, "
                f"{report.quarantined} quarantined, {requests} calls (since {report.since or 'the beginning'})"
            )
            with wh.connect() as conn:
                (total,) = conn.execute(f"SELECT count(*) FROM storefront.{ROW_COUNT_TABLE[key]}").fetchone()
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={**_stream_metadata(report, requests), "dagster/row_count": total},
            )
    wh.publish_if_changed(changed)  # a quiet run (no row written) leaves the snapshot as it is


def materialize_stock(
    context: dg.AssetExecutionContext,
    storefront: StorefrontSource,
    warehouse: WarehouseSource,
    load_warehouse_ids: Callable[[DuckDBWarehouse], list[int] | None],
) -> dg.MaterializeResult:
    wh = warehouse.get_warehouse()
    warehouse_ids = load_warehouse_ids(wh)
    if warehouse_ids is None:
        context.log.info("storefront stock: push disabled (no stock section, or storefront.enabled is false)")
        return dg.MaterializeResult(metadata={"push_enabled": False})
    push = StockPush(wh.connect, warehouse_ids, context.log, context.run_id)

    def client() -> Any:
        return _storefront_client(storefront, "stock level")

    with wh.session():
        report = push.run(client)
        requests = push.requests
    wh.publish()
    context.log.info(
        f"storefront stock: {report.sent} sent in {report.batches} batch(es), {report.unchanged} unchanged, "
        f"{report.reconciled} reconciled, {report.dead_lettered} dead-lettered; {report.only_brightpearl} SKU(s) "
        f"only in Brightpearl, {report.only_storefront} only on the storefront. {' '.join(report.notes)}"
    )
    with wh.connect() as conn:
        states = dict(
            conn.execute("SELECT state, count(*) FROM push.ledger WHERE kind = ? GROUP BY ALL", [KIND]).fetchall()
        )
        (open_dead,) = conn.execute(
            "SELECT count(*) FROM push.dead_letters WHERE kind = ? AND resolved_at IS NULL", [KIND]
        ).fetchone()
    return dg.MaterializeResult(
        metadata={
            **report.metadata(),
            "bc_requests": requests,
            "open_dead_letters": open_dead,
            "ledger_states": dg.MetadataValue.json(states),
            "dagster/row_count": report.storefront_items,
        }
    )
