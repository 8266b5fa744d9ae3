"""Reference data (order statuses, warehouses, channels, shipping methods): small lists, full refresh.

Incremental runs skip a list refreshed within `reference_max_age_minutes` (so a quiet 15-minute tick costs only
the searches) unless a record waits in quarantine for an unknown reference id.
"""

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from bp_pipelines.resources.brightpearl import BrightpearlError, BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

from . import bookkeeping as bk
from . import tables as t
from .coerce import RecordError, Row, required, to_bool, to_int, to_str
from .config import SyncConfig, effective_mode
from .execution import GROUP, POOL, api_failure, publish_if_changed
from .metadata import build_metadata, log_run
from .sql import Counts, mark_deleted, upsert


# ------------------------------------------------------------------ payload -> row
def order_status_row(raw: Mapping[str, Any]) -> Row:
    return {
        "order_status_id": to_int(required(raw, "statusId"), "statusId"),
        "name": to_str(raw.get("name"), "name"),
        "order_type_code": to_str(raw.get("orderTypeCode"), "orderTypeCode"),
        "sort_order": to_int(raw.get("sortOrder", raw.get("sort")), "sortOrder"),
        "state": to_str(raw.get("state"), "state"),
        "color": to_str(raw.get("color"), "color"),
        "is_visible": to_bool(raw.get("visible"), "visible"),
        "is_disabled": to_bool(raw.get("disabled"), "disabled"),
    }


def warehouse_row(raw: Mapping[str, Any]) -> Row:
    address = raw.get("address")
    return {
        "warehouse_id": to_int(required(raw, "id"), "id"),
        "name": to_str(raw.get("name"), "name"),
        "address": json.dumps(address, sort_keys=True) if address is not None else None,
    }


def channel_row(raw: Mapping[str, Any]) -> Row:
    return {
        "channel_id": to_int(required(raw, "id"), "id"),
        "name": to_str(raw.get("name"), "name"),
        "channel_type_id": to_int(raw.get("channelTypeId"), "channelTypeId"),
        "warehouse_id": to_int(raw.get("warehouseId", raw.get("defaultWarehouseId")), "warehouseId"),
        "price_list_id": to_int(raw.get("priceListId", raw.get("defaultPriceListId")), "priceListId"),
    }


def shipping_method_row(raw: Mapping[str, Any]) -> Row:
    return {
        "shipping_method_id": to_int(required(raw, "id"), "id"),
        "code": to_str(raw.get("code"), "code"),
        "name": to_str(raw.get("name"), "name"),
        "method_type": to_str(raw.get("methodType"), "methodType"),
        "carrier": to_str(raw.get("carrier"), "carrier"),
    }


REFERENCE: dict[str, tuple[str, Callable[[Mapping[str, Any]], Row], t.Table, str]] = {
    "order_statuses": (
        "order-service/order-status",
        order_status_row,
        t.ORDER_STATUSES,
        "Order statuses per order type (SO/PO/SC/PC): name, sort order, state, colour.",
    ),
    "warehouses": (
        "warehouse-service/warehouse",
        warehouse_row,
        t.WAREHOUSES,
        "Warehouses stock is held and shipped from.",
    ),
    "channels": (
        "product-service/channel",
        channel_row,
        t.CHANNELS,
        "Sales channels orders come from (e.g. the BigCommerce storefront, phone, marketplaces).",
    ),
    "shipping_methods": (
        "warehouse-service/shipping-method",
        shipping_method_row,
        t.SHIPPING_METHODS,
        "Shipping methods (carrier services) used on orders and goods-out notes.",
    ),
}


def refresh(
    name: str, bp: Any, wh: WarehouseResource, log: Any, *, skip_if_fresh: timedelta | None, run_id: str
) -> tuple[Counts, int, str, datetime | None]:
    """Refresh one list; returns (counts, quarantined, outcome, time of the last refresh)."""
    path, transform, table, _ = REFERENCE[name]
    now = datetime.now(UTC)
    with wh.connect() as conn:
        state = bk.get_watermark(conn, name)
        waiting = bk.open_unknown_reference_count(conn)
    if skip_if_fresh is not None and state.updated_at and now - state.updated_at < skip_if_fresh and not waiting:
        age = int((now - state.updated_at).total_seconds())
        return Counts(), 0, f"skipped: refreshed {age} s ago", state.updated_at
    response = bp.get(path)
    items = response if isinstance(response, list) else []
    rows, bad = [], []
    for raw in items:
        try:
            rows.append(transform(raw if isinstance(raw, Mapping) else {}))
        except RecordError as exc:
            bad.append((raw, str(exc)))
    key = table.key[0]
    with wh.connect() as conn:
        conn.execute("BEGIN TRANSACTION")
        counts = upsert(conn, table, rows, now)
        if rows:  # an empty or unusable list never wipes the table
            present = [r[key] for r in rows]
            gone = [
                r[0]
                for r in conn.execute(
                    f"SELECT {key} FROM {table.qualified} WHERE NOT is_deleted AND {key} NOT IN "
                    "(SELECT unnest(?::BIGINT[]))",
                    [present],
                ).fetchall()
            ]
            counts.deleted += mark_deleted(conn, table, key, gone, now)
        bk.resolve(conn, name, [str(r[key]) for r in rows], now)  # entries that load now are no dead letters
        for raw, reason in bad:
            log.warning(f"{name}: entry quarantined: {reason}. Fix it in Brightpearl; retried on every refresh.")
            record_id = raw.get("id", raw.get("statusId", "?")) if isinstance(raw, Mapping) else "?"
            bk.quarantine(conn, name, str(record_id), reason, raw, now)
        bk.set_watermark(conn, name, None, now, mode="full", window=(None, now), run_id=run_id)
        conn.execute("COMMIT")
    if not isinstance(response, list):
        log.warning(f"{name}: {path} did not return a list; table left as it was")
    return counts, len(bad), f"full refresh ({len(rows)} entries)", now


def _reference_asset(name: str) -> dg.AssetsDefinition:
    description = REFERENCE[name][3] + " Reference data: full refresh, unpartitioned; removed entries are marked."

    @dg.asset(
        name=name,
        group_name=GROUP,
        pool=POOL,
        kinds={"duckdb", "brightpearl"},
        description=description,
        tags={"table": f"brightpearl.{name}"},
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: SyncConfig,
        brightpearl: BrightpearlResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        mode = effective_mode(context, config)
        fresh = timedelta(minutes=config.reference_max_age_minutes) if mode == "incremental" else None
        started = datetime.now(UTC)
        with warehouse.session():
            try:
                with brightpearl.get_client() as bp:
                    counts, quarantined, outcome, refreshed_at = refresh(
                        name, bp, warehouse, context.log, skip_if_fresh=fresh, run_id=context.run_id
                    )
                    client_stats = bp.stats
            except BrightpearlError as exc:
                raise api_failure(name, exc) from exc
            meta = build_metadata(
                counts=counts,
                quarantined=quarantined,
                client=client_stats,
                mode=mode,
                window_from=None,
                window_to=started,
                watermark=refreshed_at,
                extra={"outcome": outcome},
            )
            log_run(
                warehouse,
                run_id=context.run_id,
                asset=name,
                partition_range=None,
                started=started,
                meta=meta,
                window_from=None,
                window_to=started,
                watermark=refreshed_at,
            )
            published = publish_if_changed(
                warehouse, bool(counts.inserted or counts.updated or counts.deleted or quarantined)
            )
        return dg.MaterializeResult(metadata={**meta, "published": published})

    return _asset


order_statuses = _reference_asset("order_statuses")
warehouses = _reference_asset("warehouses")
channels = _reference_asset("channels")
shipping_methods = _reference_asset("shipping_methods")
