"""Inventory items: resolving `sku | variant_id | product_id` to a stock key, and reading stock levels.

An item's stock lives in bc_inventory keyed by (location_id, variant_id): a product tracked by
product keeps it on its base variant, a product tracked by variant on each variant.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from bp_sandbox.bigcommerce.formatting import iso8601
from bp_sandbox.state import Store

DEFAULT_LOCATION = {"id": 1, "code": "BC-LOCATION-1", "label": "Default location"}
WEEK = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
# Variant rows that are inventory items: every variant of a variant-tracked product, the base
# variant (else the lowest id) of a product-tracked one; untracked products have none.
ITEM_ROWS = (
    "SELECT v.id AS variant_id, v.sku AS sku, v.product_id AS product_id, p.base_variant_id AS base_variant_id "
    "FROM bc_variants v JOIN bc_products p ON p.id = v.product_id "
    "WHERE (p.inventory_tracking = 'variant' OR (p.inventory_tracking = 'product' AND v.id = "
    "COALESCE(p.base_variant_id, (SELECT MIN(id) FROM bc_variants w WHERE w.product_id = p.id))))"
)


class ItemError(Exception):
    """An item the adjustment cannot apply; the message is the 422 title."""


@dataclass(frozen=True)
class Target:
    product_id: int
    variant_id: int  # the bc_inventory key
    tracking: str


def locations(store: Store) -> list[dict[str, Any]]:
    """Configured locations, or the implicit default location 1 when the generator made none."""
    rows = store.query("SELECT id, code, label FROM bc_inventory_locations ORDER BY id")
    return [dict(r) for r in rows] or [dict(DEFAULT_LOCATION)]


def default_location_id(store: Store) -> int:
    ids = [int(loc["id"]) for loc in locations(store)]
    return 1 if 1 in ids else min(ids)


def location_json(loc: dict[str, Any], created_ms: int) -> dict[str, Any]:
    """Shape of the locations spec; the sandbox models only id/code/label."""
    created = (iso8601(created_ms) or "").replace("+00:00", "Z")
    closed = {"open": False, "opening": "00:00", "closing": "00:00"}
    return {
        "id": int(loc["id"]),
        "code": loc["code"],
        "label": loc["label"],
        "description": "",
        "managed_by_external_source": False,
        "type_id": "PHYSICAL",
        "enabled": True,
        "operating_hours": {day: dict(closed) for day in WEEK},
        "time_zone": "Etc/UTC",
        "created_at": created,
        "updated_at": created,
        "address": {
            "address1": "",
            "address2": "",
            "city": "",
            "state": "",
            "zip": "",
            "email": "",
            "phone": "",
            "geo_coordinates": {"latitude": 0, "longitude": 0},
            "country_code": "",
        },
        "storefront_visibility": True,
        "special_hours": [],
    }


def base_key(store: Store, product: sqlite3.Row) -> int | None:
    if product["base_variant_id"] is not None:
        return int(product["base_variant_id"])
    row = store.query_one("SELECT MIN(id) FROM bc_variants WHERE product_id = ?", (product["id"],))
    return int(row[0]) if row and row[0] is not None else None


def _product_target(store: Store, product: sqlite3.Row, identity: str) -> Target:
    tracking = product["inventory_tracking"]
    if tracking == "none":
        raise ItemError(f"[Item with {identity} has inventory tracking disabled]")
    if tracking == "variant":
        raise ItemError(f"[Item with {identity} is tracked by variant, please update stock by variant id]")
    key = base_key(store, product)
    if key is None:
        raise ItemError(f"[Item with {identity} has no base variant]")
    return Target(int(product["id"]), key, tracking)


def _variant_target(store: Store, variant: sqlite3.Row, identity: str, *, by_sku: bool) -> Target:
    product = store.query_one("SELECT * FROM bc_products WHERE id = ?", (variant["product_id"],))
    if product is None:
        raise ItemError(f"Items with identity: [{identity}] not found")
    tracking = product["inventory_tracking"]
    if tracking == "none":
        raise ItemError(f"[Item with {identity} has inventory tracking disabled]")
    if tracking == "product":
        # A product-tracked item may be named by its (base) SKU, never by variant id.
        if by_sku and int(variant["id"]) == base_key(store, product):
            return Target(int(product["id"]), int(variant["id"]), tracking)
        raise ItemError(f"[Item with {identity} is tracked by product, please update stock by product id]")
    return Target(int(product["id"]), int(variant["id"]), tracking)


def resolve(store: Store, item: dict[str, Any]) -> Target:
    keys = [k for k in ("sku", "variant_id", "product_id") if k in item]
    if len(keys) != 1:
        raise ItemError("Each item needs exactly one of sku, variant_id or product_id")
    key = keys[0]
    value = item[key]
    identity = f"{key} {value}"
    if key == "sku":
        if not isinstance(value, str) or not value:
            raise ItemError(f"Items with identity: [{identity}] not found")
        variant = store.query_one("SELECT * FROM bc_variants WHERE sku = ? ORDER BY id LIMIT 1", (value,))
        if variant is not None:
            return _variant_target(store, variant, identity, by_sku=True)
        product = store.query_one("SELECT * FROM bc_products WHERE sku = ? ORDER BY id LIMIT 1", (value,))
    else:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ItemError(f"Items with identity: [{identity}] not found")
        if key == "variant_id":
            variant = store.query_one("SELECT * FROM bc_variants WHERE id = ?", (value,))
            if variant is None:
                raise ItemError(f"Items with identity: [{identity}] not found")
            return _variant_target(store, variant, identity, by_sku=False)
        product = store.query_one("SELECT * FROM bc_products WHERE id = ?", (value,))
    if product is None:
        raise ItemError(f"Items with identity: [{identity}] not found")
    return _product_target(store, product, identity)


def stock(store: Store, variant_ids: list[int]) -> dict[tuple[int, int], int]:
    """(location_id, variant_id) -> quantity for the given variants."""
    if not variant_ids:
        return {}
    marks = ",".join("?" for _ in variant_ids)
    rows = store.query(
        f"SELECT location_id, variant_id, quantity FROM bc_inventory WHERE variant_id IN ({marks})", tuple(variant_ids)
    )
    return {(int(r["location_id"]), int(r["variant_id"])): int(r["quantity"]) for r in rows}


def settings_json() -> dict[str, Any]:
    return {"safety_stock": 0, "is_in_stock": True, "warning_level": 0, "bin_picking_number": ""}


def identity_json(row: sqlite3.Row, *, with_sku_id: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": row["sku"],
        "variant_id": int(row["variant_id"]),
        "product_id": int(row["product_id"]),
    }
    if with_sku_id:
        base = row["base_variant_id"]
        body["sku_id"] = None if base is not None and int(base) == int(row["variant_id"]) else int(row["variant_id"])
    return body
