"""Inventory V3: absolute adjustments, items (all locations / one location) and locations.

Adjustments are validated as a whole before anything is written (all or nothing) and applied
synchronously (BigCommerce applies them "with a short delay"). Catalog `inventory_level` follows the
default location, as the specs say the Catalog API only shows that location.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from bp_sandbox.bigcommerce import inventory_items as items
from bp_sandbox.bigcommerce.errors import ApiError, batch_too_large
from bp_sandbox.bigcommerce.gateway import Ctx, Gateway, json_response
from bp_sandbox.bigcommerce.pagination import csv_ints, placeholders, split_csv, v3_meta, v3_page
from bp_sandbox.bigcommerce.storage import Where, now_ms, transaction
from bp_sandbox.state import Store

MAX_ADJUSTMENT_ITEMS = 2000
MAX_ITEMS_PAGE = 1000
MAX_QUANTITY = 2_147_483_647


def _problem(title: str, errors: dict[str, Any] | None = None) -> ApiError:
    return ApiError(422, title, errors=errors, problem=True)


def _validate(store: Store, body: Any) -> list[tuple[int, items.Target, int]]:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise _problem("Payload contains invalid fields", {"items": "items must be an array"})
    raw_items = body["items"]
    if len(raw_items) > MAX_ADJUSTMENT_ITEMS:
        raise batch_too_large(MAX_ADJUSTMENT_ITEMS)  # status 413 (the docs give only the 2000 limit)
    if "reason" in body and not isinstance(body["reason"], str):
        raise _problem("Payload contains invalid fields", {"reason": "reason must be a string"})
    known_locations = {int(loc["id"]) for loc in items.locations(store)}
    resolved: list[tuple[int, items.Target, int]] = []
    errors: dict[str, str] = {}
    for index, item in enumerate(raw_items):
        try:
            if not isinstance(item, dict):
                raise items.ItemError("Each item must be an object")
            location, quantity = item.get("location_id"), item.get("quantity")
            if isinstance(location, bool) or not isinstance(location, int) or location not in known_locations:
                raise items.ItemError(f"[Location with id {location} not found]")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
                raise items.ItemError(f"Invalid quantity {quantity!r}: it must be an integer from 0 to {MAX_QUANTITY}")
            resolved.append((location, items.resolve(store, item), quantity))
        except items.ItemError as exc:
            errors[f"items.{index}"] = str(exc)
    if errors:
        raise _problem(next(iter(errors.values())), errors)
    return resolved


def _sync_catalog(store: Store, product_ids: set[int], now: int) -> None:
    """Catalog inventory_level = quantity at the default location (variant sum for variant tracking)."""
    default = items.default_location_id(store)
    for product_id in product_ids:
        store.execute(
            "UPDATE bc_variants SET inventory_level = COALESCE((SELECT quantity FROM bc_inventory i "
            "WHERE i.variant_id = bc_variants.id AND i.location_id = ?), inventory_level) WHERE product_id = ?",
            (default, product_id),
        )
        product = store.query_one("SELECT * FROM bc_products WHERE id = ?", (product_id,))
        if product["inventory_tracking"] == "variant":
            row = store.query_one("SELECT SUM(inventory_level) FROM bc_variants WHERE product_id = ?", (product_id,))
        else:
            row = store.query_one(
                "SELECT inventory_level FROM bc_variants WHERE id = ?", (items.base_key(store, product),)
            )
        level = int(row[0]) if row and row[0] is not None else int(product["inventory_level"])
        # Stock changes count as product modifications (unconfirmed), so date_modified:min syncs see them.
        store.execute(
            "UPDATE bc_products SET inventory_level = ?, date_modified_ms = MAX(date_modified_ms, ?) WHERE id = ?",
            (level, now, product_id),
        )


def absolute_adjustment(ctx: Ctx) -> Response:
    with transaction(ctx.store):
        resolved = _validate(ctx.store, ctx.json())
        for location, target, quantity in resolved:
            ctx.store.execute(
                "INSERT INTO bc_inventory (location_id, variant_id, quantity) VALUES (?, ?, ?) "
                "ON CONFLICT(location_id, variant_id) DO UPDATE SET quantity = excluded.quantity",
                (location, target.variant_id, quantity),
            )
        _sync_catalog(ctx.store, {t.product_id for _, t, _ in resolved}, now_ms(ctx.store))
    return json_response({"transaction_id": str(uuid.uuid4())})


def _item_where(params: Mapping[str, str]) -> Where:
    where = Where()
    skus = split_csv(params.get("sku:in"))
    if skus:
        where.add(f"sku IN ({placeholders(skus)})", *skus)
    for name in ("variant_id", "product_id"):
        ids = csv_ints(params, f"{name}:in")
        if ids:
            where.add(f"{name} IN ({placeholders(ids)})", *ids)
    return where


def _page_items(ctx: Ctx) -> tuple[Any, list[Any], int]:
    page = v3_page(ctx.params, max_limit=MAX_ITEMS_PAGE)
    where = _item_where(ctx.params)
    base = f"SELECT * FROM ({items.ITEM_ROWS}) WHERE {where.sql}"
    total = int(ctx.store.query_one(f"SELECT COUNT(*) FROM ({base})", tuple(where.params))[0])
    rows = ctx.store.query(base + " ORDER BY variant_id LIMIT ? OFFSET ?", (*where.params, page.limit, page.offset))
    return page, rows, total


def list_items(ctx: Ctx) -> Response:
    page, rows, total = _page_items(ctx)
    wanted_ids = set(csv_ints(ctx.params, "location_id:in"))
    wanted_codes = set(split_csv(ctx.params.get("location_code:in")))
    locs = [
        loc
        for loc in items.locations(ctx.store)
        if (not wanted_ids or int(loc["id"]) in wanted_ids) and (not wanted_codes or loc["code"] in wanted_codes)
    ]
    levels = items.stock(ctx.store, [int(r["variant_id"]) for r in rows])
    data = []
    for row in rows:
        per_location = []
        for loc in locs:
            onhand = levels.get((int(loc["id"]), int(row["variant_id"])), 0)
            per_location.append(
                {
                    "location_id": int(loc["id"]),
                    "location_code": loc["code"],
                    "location_name": loc["label"],
                    "available_to_sell": onhand,
                    "total_inventory_onhand": onhand,
                    "location_enabled": True,
                    "settings": items.settings_json(),
                }
            )
        data.append({"identity": items.identity_json(row, with_sku_id=True), "locations": per_location})
    return json_response({"data": data, "meta": v3_meta(page, total, len(data))})


def list_location_items(ctx: Ctx) -> Response:
    location_id = int(ctx.path_params["location_id"])
    if location_id not in {int(loc["id"]) for loc in items.locations(ctx.store)}:
        raise ApiError(404, f"Location with id {location_id} not found", problem=True)
    page, rows, total = _page_items(ctx)
    levels = items.stock(ctx.store, [int(r["variant_id"]) for r in rows])
    data = []
    for row in rows:
        onhand = levels.get((location_id, int(row["variant_id"])), 0)
        data.append(
            {
                "identity": items.identity_json(row, with_sku_id=False),
                "available_to_sell": onhand,
                "total_inventory_onhand": onhand,
                "settings": items.settings_json(),
            }
        )
    return json_response({"data": data, "meta": v3_meta(page, total, len(data))})


def list_locations(ctx: Ctx) -> Response:
    page = v3_page(ctx.params)
    wanted_ids = set(csv_ints(ctx.params, "location_id:in"))
    wanted_codes = set(split_csv(ctx.params.get("location_code:in")))
    locs = [
        loc
        for loc in items.locations(ctx.store)
        if (not wanted_ids or int(loc["id"]) in wanted_ids) and (not wanted_codes or loc["code"] in wanted_codes)
    ]
    chunk = locs[page.offset : page.offset + page.limit]
    created = now_ms(ctx.store)
    data = [items.location_json(loc, created) for loc in chunk]
    return json_response({"data": data, "meta": v3_meta(page, len(locs), len(data))})


def routes(gw: Gateway) -> list[Route]:
    return [
        gw.route("/v3/inventory/adjustments/absolute", PUT=absolute_adjustment),
        gw.route("/v3/inventory/items", GET=list_items),
        gw.route("/v3/inventory/locations", GET=list_locations),
        gw.route("/v3/inventory/locations/{location_id:int}/items", GET=list_location_items),
    ]
