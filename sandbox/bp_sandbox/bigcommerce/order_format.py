"""Rows of bc_orders / bc_order_products / bc_shipping_addresses rendered as Orders V2 JSON.

Field sets follow the orders.v2 spec schemas (`order_Resp`, `orderProducts`, `orderShippingAddress`);
fields the sandbox does not model get the neutral values the spec examples show.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from bp_sandbox.bigcommerce.formatting import loads_or, money4, rfc2822, to_decimal
from bp_sandbox.bigcommerce.gateway import Ctx
from bp_sandbox.bigcommerce.statuses import status_name

ZERO = "0.0000"
ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "street_1",
    "street_2",
    "city",
    "state",
    "zip",
    "country",
    "country_iso2",
    "phone",
    "email",
)


def address(raw: dict[str, Any]) -> dict[str, Any]:
    """billingAddress / shippingAddress base fields, all strings, plus form_fields."""
    out: dict[str, Any] = {name: str(raw.get(name) or "") for name in ADDRESS_FIELDS}
    out["form_fields"] = raw.get("form_fields") or []
    return out


def cart_id(order_id: int) -> str:
    """A stable UUID-shaped cart id that encodes the order id (the sandbox has no carts), so the
    `cart_id` filter can be answered without a table."""
    return f"00000000-0000-4000-8000-{order_id:012d}"


def order_id_from_cart(value: str) -> int | None:
    head, _, tail = value.rpartition("-")
    if head != "00000000-0000-4000-8000" or not tail.isdigit():
        return None
    return int(tail)


def link(ctx: Ctx, resource: str) -> dict[str, str]:
    return {"url": ctx.api_url(resource), "resource": resource}


def order_json(ctx: Ctx, row: sqlite3.Row, address_count: int) -> dict[str, Any]:
    oid = int(row["id"])
    billing = address(loads_or(row["billing_address_json"], {}))
    shipping_tax = to_decimal(row["shipping_cost_inc_tax"]) - to_decimal(row["shipping_cost_ex_tax"])
    currency = row["currency_code"]
    name = status_name(int(row["status_id"]))
    return {
        "id": oid,
        "customer_id": int(row["customer_id"]),
        "date_created": rfc2822(row["date_created_ms"]),
        "date_modified": rfc2822(row["date_modified_ms"]),
        "date_shipped": rfc2822(row["date_shipped_ms"]),  # "" until fully shipped
        "status_id": int(row["status_id"]),
        "status": name,
        "custom_status": name,
        "subtotal_ex_tax": money4(row["subtotal_ex_tax"]),
        "subtotal_inc_tax": money4(row["subtotal_inc_tax"]),
        "subtotal_tax": money4(row["subtotal_tax"]),
        "base_shipping_cost": money4(row["shipping_cost_ex_tax"]),
        "shipping_cost_ex_tax": money4(row["shipping_cost_ex_tax"]),
        "shipping_cost_inc_tax": money4(row["shipping_cost_inc_tax"]),
        "shipping_cost_tax": money4(shipping_tax),
        "shipping_cost_tax_class_id": 0,
        "base_handling_cost": ZERO,
        "handling_cost_ex_tax": ZERO,
        "handling_cost_inc_tax": ZERO,
        "handling_cost_tax": ZERO,
        "handling_cost_tax_class_id": 0,
        "base_wrapping_cost": ZERO,
        "wrapping_cost_ex_tax": ZERO,
        "wrapping_cost_inc_tax": ZERO,
        "wrapping_cost_tax": ZERO,
        "wrapping_cost_tax_class_id": 0,
        "total_ex_tax": money4(row["total_ex_tax"]),
        "total_inc_tax": money4(row["total_inc_tax"]),
        "total_tax": money4(row["total_tax"]),
        "items_total": int(row["items_total"]),
        "items_shipped": int(row["items_shipped"]),
        "payment_method": row["payment_method"],
        "payment_provider_id": "",
        "payment_status": row["payment_status"],
        "refunded_amount": ZERO,
        "order_is_digital": False,
        "store_credit_amount": ZERO,
        "gift_certificate_amount": ZERO,
        "ip_address": "",
        "ip_address_v6": "",
        "geoip_country": billing["country"],
        "geoip_country_iso2": billing["country_iso2"],
        "currency_id": 1,
        "currency_code": currency,
        "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1,
        "default_currency_code": currency,
        "store_default_currency_code": currency,
        "store_default_to_transactional_exchange_rate": "1.0000000000",
        "staff_notes": row["staff_notes"],
        "customer_message": row["customer_message"],
        "discount_amount": ZERO,
        "coupon_discount": ZERO,
        "shipping_address_count": address_count,
        "is_deleted": bool(row["is_deleted"]),
        "ebay_order_id": "0",
        "cart_id": cart_id(oid),
        "billing_address": billing,
        "is_email_opt_in": False,
        "is_tax_inclusive_pricing": False,
        "credit_card_type": None,
        "order_source": "www",
        "channel_id": int(row["channel_id"]),
        "external_source": "",
        "external_id": None,
        "external_merchant_id": None,
        "external_order_id": row["external_order_id"] or "",
        "tax_provider_id": "BasicTaxProvider",
        "customer_locale": "en",
        "products": link(ctx, f"/orders/{oid}/products"),
        # The spec's own link spells it without the underscore; both paths are served.
        "shipping_addresses": link(ctx, f"/orders/{oid}/shippingaddresses"),
        "coupons": link(ctx, f"/orders/{oid}/coupons"),
    }


def order_product_json(row: sqlite3.Row) -> dict[str, Any]:
    quantity = int(row["quantity"])
    base_total = to_decimal(row["base_price"]) * quantity
    return {
        "id": int(row["id"]),
        "order_id": int(row["order_id"]),
        "product_id": int(row["product_id"]),
        "variant_id": int(row["variant_id"]),
        "order_pickup_method_id": 0,
        "order_address_id": int(row["order_address_id"]),
        "name": row["name"],
        "name_customer": row["name"],
        "name_merchant": row["name"],
        "sku": row["sku"],
        "upc": "",
        "type": row["type"],
        "base_price": money4(row["base_price"]),
        "price_ex_tax": money4(row["price_ex_tax"]),
        "price_inc_tax": money4(row["price_inc_tax"]),
        "price_tax": money4(row["price_tax"]),
        "base_total": money4(base_total),
        "total_ex_tax": money4(row["total_ex_tax"]),
        "total_inc_tax": money4(row["total_inc_tax"]),
        "total_tax": money4(row["total_tax"]),
        "discounted_total_inc_tax": money4(row["total_inc_tax"]),
        "weight": ZERO,
        "width": ZERO,
        "height": ZERO,
        "depth": ZERO,
        "quantity": quantity,
        "base_cost_price": ZERO,
        "cost_price_inc_tax": ZERO,
        "cost_price_ex_tax": ZERO,
        "cost_price_tax": ZERO,
        "is_refunded": False,
        "quantity_refunded": 0,
        "refund_amount": ZERO,
        "return_id": 0,
        "wrapping_id": 0,
        "wrapping_name": "",
        "base_wrapping_cost": ZERO,
        "wrapping_cost_ex_tax": ZERO,
        "wrapping_cost_inc_tax": ZERO,
        "wrapping_cost_tax": ZERO,
        "wrapping_message": "",
        "quantity_shipped": int(row["quantity_shipped"]),
        "event_name": None,
        "event_date": None,
        "fixed_shipping_cost": ZERO,
        "ebay_item_id": "",
        "ebay_transaction_id": "",
        "option_set_id": None,
        "parent_order_product_id": None,
        "is_bundled_product": False,
        "bin_picking_number": "",
        "external_id": None,
        "brand": "",
        "applied_discounts": [],
        "product_options": [],
        "configurable_fields": [],
        "gift_certificate_id": None,
    }


def shipping_address_json(ctx: Ctx, row: sqlite3.Row) -> dict[str, Any]:
    raw = loads_or(row["address_json"], {})
    oid, aid = int(row["order_id"]), int(row["id"])
    cost_tax = to_decimal(row["cost_inc_tax"]) - to_decimal(row["cost_ex_tax"])
    body: dict[str, Any] = {"id": aid, "order_id": oid}
    body.update(address(raw))
    body.update(
        {
            "items_total": int(row["items_total"]),
            "items_shipped": int(row["items_shipped"]),
            "shipping_method": row["shipping_method"],
            "base_cost": money4(row["cost_ex_tax"]),
            "cost_ex_tax": money4(row["cost_ex_tax"]),
            "cost_inc_tax": money4(row["cost_inc_tax"]),
            "cost_tax": money4(cost_tax),
            "cost_tax_class_id": 0,
            "base_handling_cost": ZERO,
            "handling_cost_ex_tax": ZERO,
            "handling_cost_inc_tax": ZERO,
            "handling_cost_tax": ZERO,
            "handling_cost_tax_class_id": 0,
            "shipping_zone_id": 1,
            "shipping_zone_name": "Sandbox Zone",
            "shipping_quotes": link(ctx, f"/orders/{oid}/shipping_addresses/{aid}/shipping_quotes"),
        }
    )
    return body
