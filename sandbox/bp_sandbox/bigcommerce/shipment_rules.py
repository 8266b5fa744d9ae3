"""Validation of shipment bodies (POST/PUT /v2/orders/{id}/shipments) and the shipment JSON shape.

BigCommerce's exact answers to bad items are unconfirmed; the sandbox answers 400 V2 errors that name
the offending item (docs/sandbox-bigcommerce.md lists the messages).
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from typing import Any

from bp_sandbox.bigcommerce.errors import ApiError, invalid_field, not_supported, read_only, required_missing
from bp_sandbox.bigcommerce.formatting import loads_or, money4, rfc2822
from bp_sandbox.bigcommerce.order_format import ADDRESS_FIELDS

READ_ONLY = frozenset(
    {
        "id",
        "order_id",
        "customer_id",
        "date_created",
        "billing_address",
        "shipping_address",
        "shipping_provider_display_name",
        "generated_tracking_link",
    }
)
TEXT_LIMITS = {
    "tracking_number": 50,
    "tracking_link": 500,
    "shipping_method": 250,
    "tracking_carrier": 100,
    "comments": 65535,
}
PUT_FIELDS = frozenset(
    {
        "order_address_id",
        "tracking_number",
        "merchant_shipping_cost",
        "shipping_method",
        "shipping_provider",
        "tracking_carrier",
        "tracking_link",
        "comments",
    }
)
POST_FIELDS = PUT_FIELDS | {"items"}
PROVIDERS = {
    "": "",
    "auspost": "Australia Post",
    "canadapost": "Canada Post",
    "endicia": "Endicia",
    "usps": "USPS",
    "fedex": "FedEx",
    "royalmail": "Royal Mail",
    "ups": "UPS",
    "upsready": "UPS Ready",
    "upsonline": "UPS Online",
    "shipperhq": "ShipperHQ",
}
_CARRIER = re.compile(r"^carrier_\w+$")


def check_fields(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    for key in body:
        if key in READ_ONLY or (key == "items" and "items" not in allowed):
            raise read_only(key)  # PUT cannot change items (reference §4)
        if key not in allowed:
            raise not_supported(key)
    return body


def scalar_changes(body: dict[str, Any]) -> dict[str, Any]:
    """Validated values of the non-item fields present in `body`, keyed by field name."""
    out: dict[str, Any] = {}
    for key, limit in TEXT_LIMITS.items():
        if key in body:
            value = body[key]
            if not isinstance(value, str) or len(value) > limit:
                raise invalid_field(key)
            out[key] = value
    if "shipping_provider" in body:
        provider = body["shipping_provider"]
        if not isinstance(provider, str) or (provider not in PROVIDERS and not _CARRIER.match(provider)):
            raise invalid_field("shipping_provider")
        out["shipping_provider"] = provider
    if "merchant_shipping_cost" in body:
        try:
            out["merchant_shipping_cost"] = money4(body["merchant_shipping_cost"])
        except ValueError:
            raise invalid_field("merchant_shipping_cost") from None
    return out


def address_id(body: dict[str, Any], addresses: set[int], order_id: int) -> int:
    value = body.get("order_address_id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_field("order_address_id")
    if value not in addresses:
        raise ApiError(400, f"Order address {value} does not exist on order {order_id}.")
    return value


def items_to_ship(body: dict[str, Any], products: dict[int, sqlite3.Row], address: int, order_id: int) -> Counter[int]:
    """order_product_id -> quantity to ship now, after checking every item against what remains."""
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise invalid_field("items")
    wanted: Counter[int] = Counter()
    for item in items:
        if not isinstance(item, dict):
            raise invalid_field("items")
        if "product_id" in item:
            raise read_only("product_id")
        for key in item:
            if key not in ("order_product_id", "quantity"):
                raise not_supported(f"items.{key}")
        missing = [k for k in ("order_product_id", "quantity") if k not in item]
        if missing:
            raise required_missing([f"items.{k}" for k in missing])
        pid, qty = item["order_product_id"], item["quantity"]
        if isinstance(pid, bool) or not isinstance(pid, int) or pid not in products:
            raise ApiError(400, f"Order product {pid} does not exist on order {order_id}.")
        if int(products[pid]["order_address_id"]) != address:
            raise ApiError(400, f"Order product {pid} does not belong to order address {address}.")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise ApiError(400, f"Invalid quantity {qty!r} for order product {pid}: it must be a positive integer.")
        wanted[pid] += qty
    for pid, qty in wanted.items():
        remaining = int(products[pid]["quantity"]) - int(products[pid]["quantity_shipped"])
        if qty > remaining:
            raise ApiError(400, f"Quantity {qty} for order product {pid} exceeds the unshipped quantity {remaining}.")
    return wanted


def generated_link(provider: str, carrier: str, tracking_number: str, tracking_link: str) -> str:
    """Empty when a custom tracking_link was given (spec); otherwise an AfterShip-style link (sandbox choice)."""
    slug = carrier or provider
    if tracking_link or not tracking_number or not slug:
        return ""
    return f"https://track.aftership.com/{slug}/{tracking_number}"


def _address(raw: dict[str, Any]) -> dict[str, str]:
    return {name: str(raw.get(name) or "") for name in ADDRESS_FIELDS}


def shipment_json(row: sqlite3.Row, billing_json: str, shipping_json: str | None) -> dict[str, Any]:
    provider, carrier = row["shipping_provider"], row["tracking_carrier"]
    tracking_link = row["tracking_link"] or ""
    return {
        "id": int(row["id"]),
        "order_id": int(row["order_id"]),
        "customer_id": int(row["customer_id"]),
        "order_address_id": int(row["order_address_id"]),
        "date_created": rfc2822(row["date_created_ms"]),
        "tracking_number": row["tracking_number"],
        "merchant_shipping_cost": money4(row["merchant_shipping_cost"] or "0"),
        "shipping_method": row["shipping_method"],
        "comments": row["comments"],
        "shipping_provider": provider,
        "tracking_carrier": carrier,
        "tracking_link": tracking_link,
        "billing_address": _address(loads_or(billing_json, {})),
        "shipping_address": _address(loads_or(shipping_json, {})),
        "items": [
            {
                "order_product_id": int(i["order_product_id"]),
                "product_id": int(i.get("product_id") or 0),
                "quantity": int(i["quantity"]),
            }
            for i in loads_or(row["items_json"], [])
        ],
        "shipping_provider_display_name": PROVIDERS.get(provider, provider),
        "generated_tracking_link": generated_link(provider, carrier, row["tracking_number"], tracking_link),
    }
