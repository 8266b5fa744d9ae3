"""Orders V2: list/count/get/update an order, its products, shipping addresses and (empty) coupons."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from bp_sandbox.bigcommerce import order_format as fmt
from bp_sandbox.bigcommerce.errors import ApiError, invalid_field, not_found, not_supported, read_only
from bp_sandbox.bigcommerce.formatting import dumps, loads_or
from bp_sandbox.bigcommerce.gateway import Ctx, Gateway, json_response, no_content
from bp_sandbox.bigcommerce.order_filters import build_where, order_by
from bp_sandbox.bigcommerce.pagination import placeholders, split_csv, v2_page
from bp_sandbox.bigcommerce.statuses import BY_ID, STATUSES
from bp_sandbox.bigcommerce.storage import now_ms, transaction
from bp_sandbox.state import Store

# Fields of order_RespOnly that order_Put does not list, plus those the reference says cannot be PUT.
READ_ONLY = frozenset(
    {
        "id",
        "date_modified",
        "date_shipped",
        "cart_id",
        "status",
        "custom_status",
        "subtotal_tax",
        "shipping_cost_tax",
        "shipping_cost_tax_class_id",
        "handling_cost_tax",
        "handling_cost_tax_class_id",
        "wrapping_cost_tax",
        "wrapping_cost_tax_class_id",
        "payment_status",
        "store_credit_amount",
        "gift_certificate_amount",
        "currency_id",
        "currency_code",
        "currency_exchange_rate",
        "default_currency_id",
        "store_default_currency_code",
        "store_default_to_transactional_exchange_rate",
        "coupon_discount",
        "shipping_address_count",
        "is_deleted",
        "total_tax",
        "is_tax_inclusive_pricing",
        "is_email_opt_in",
        "coupons",
        "external_id",
        "external_merchant_id",
        "credit_card_type",
    }
)
MAX_TEXT = 65535


# -- shared lookups ------------------------------------------------------------------------------
def load_order(store: Store, order_id: int) -> sqlite3.Row:
    row = store.query_one("SELECT * FROM bc_orders WHERE id = ? AND is_deleted = 0", (order_id,))
    if row is None:
        raise not_found()
    return row


def address_counts(store: Store, order_ids: list[int]) -> dict[int, int]:
    if not order_ids:
        return {}
    rows = store.query(
        f"SELECT order_id, COUNT(*) AS n FROM bc_shipping_addresses WHERE order_id IN ({placeholders(order_ids)}) "
        "GROUP BY order_id",
        tuple(order_ids),
    )
    return {int(r["order_id"]): int(r["n"]) for r in rows}


def _with_includes(body: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    """`include=consignments,fees`: the sandbox has neither, so both come back empty."""
    for name in split_csv(params.get("include")):
        if name.split(".")[0] in ("consignments", "fees"):
            body[name.split(".")[0]] = []
    return body


def render_order(ctx: Ctx, order_id: int) -> dict[str, Any]:
    row = load_order(ctx.store, order_id)
    body = fmt.order_json(ctx, row, address_counts(ctx.store, [order_id]).get(order_id, 0))
    return _with_includes(body, ctx.params)


def _order_id(ctx: Ctx) -> int:
    return int(ctx.path_params["order_id"])


# -- /v2/orders ------------------------------------------------------------------------------------
def list_orders(ctx: Ctx) -> Response:
    params = ctx.params
    page = v2_page(params)
    where = build_where(params, allow_paging=True, hide_incomplete=True)
    rows = ctx.store.query(
        f"SELECT * FROM bc_orders WHERE {where.sql} ORDER BY {order_by(params)} LIMIT ? OFFSET ?",
        (*where.params, page.limit, page.offset),
    )
    if not rows:
        return no_content()  # V2: nothing matches / past the last page -> 204, empty body
    counts = address_counts(ctx.store, [int(r["id"]) for r in rows])
    return json_response([_with_includes(fmt.order_json(ctx, r, counts.get(int(r["id"]), 0)), params) for r in rows])


def count_orders(ctx: Ctx) -> Response:
    where = build_where(ctx.params, allow_paging=False, hide_incomplete=False)
    rows = ctx.store.query(
        f"SELECT status_id, COUNT(*) AS n FROM bc_orders WHERE {where.sql} GROUP BY status_id", tuple(where.params)
    )
    by_status = {int(r["status_id"]): int(r["n"]) for r in rows}
    statuses = []
    for status in sorted(STATUSES, key=lambda s: s.order):
        body = status.to_json()
        body["sort_order"] = body.pop("order")
        body["count"] = by_status.get(status.id, 0)
        statuses.append(body)
    return json_response({"statuses": statuses, "count": sum(by_status.values())})


def get_order(ctx: Ctx) -> Response:
    return json_response(render_order(ctx, _order_id(ctx)))


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise invalid_field(name)
    return value


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid_field(name)
    return value


def _billing(current: str, value: Any) -> str:
    if not isinstance(value, dict):
        raise invalid_field("billing_address")
    merged = loads_or(current, {})
    for key, item in value.items():
        if key not in fmt.ADDRESS_FIELDS and key != "form_fields":
            raise not_supported(f"billing_address.{key}")
        merged[key] = item
    return dumps(merged)


def update_order(ctx: Ctx) -> Response:
    order_id = _order_id(ctx)
    body = ctx.json()
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    for key in body:
        if key in READ_ONLY:
            raise read_only(key)
    with transaction(ctx.store):
        row = load_order(ctx.store, order_id)
        changes: dict[str, Any] = {}
        for key, value in body.items():
            if key == "status_id":
                if isinstance(value, bool) or not isinstance(value, int) or value not in BY_ID:
                    raise invalid_field("status_id")  # only 0-14 exist (reference §3)
                changes["status_id"] = value
            elif key in ("staff_notes", "customer_message", "payment_method", "external_order_id"):
                changes[key] = _text(key, value)
            elif key in ("customer_id", "channel_id"):
                changes[key] = _non_negative_int(key, value)
            elif key == "billing_address":
                changes["billing_address_json"] = _billing(row["billing_address_json"], value)
            else:
                raise not_supported(key)  # writable in BigCommerce, not modelled by the sandbox
        changes["date_modified_ms"] = max(now_ms(ctx.store), int(row["date_modified_ms"]))
        assignments = ", ".join(f"{column} = ?" for column in changes)
        ctx.store.execute(f"UPDATE bc_orders SET {assignments} WHERE id = ?", (*changes.values(), order_id))
    return json_response(render_order(ctx, order_id))


# -- sub-resources ---------------------------------------------------------------------------------
def list_order_products(ctx: Ctx) -> Response:
    order_id = _order_id(ctx)
    load_order(ctx.store, order_id)
    page = v2_page(ctx.params)
    rows = ctx.store.query(
        "SELECT * FROM bc_order_products WHERE order_id = ? ORDER BY id LIMIT ? OFFSET ?",
        (order_id, page.limit, page.offset),
    )
    if not rows:
        return no_content()
    return json_response([fmt.order_product_json(r) for r in rows])


def get_order_product(ctx: Ctx) -> Response:
    order_id = _order_id(ctx)
    load_order(ctx.store, order_id)
    row = ctx.store.query_one(
        "SELECT * FROM bc_order_products WHERE order_id = ? AND id = ?", (order_id, int(ctx.path_params["product_id"]))
    )
    if row is None:
        raise not_found()
    return json_response(fmt.order_product_json(row))


def list_shipping_addresses(ctx: Ctx) -> Response:
    order_id = _order_id(ctx)
    load_order(ctx.store, order_id)
    page = v2_page(ctx.params)
    rows = ctx.store.query(
        "SELECT * FROM bc_shipping_addresses WHERE order_id = ? ORDER BY id LIMIT ? OFFSET ?",
        (order_id, page.limit, page.offset),
    )
    if not rows:
        return no_content()
    return json_response([fmt.shipping_address_json(ctx, r) for r in rows])


def get_shipping_address(ctx: Ctx) -> Response:
    order_id = _order_id(ctx)
    load_order(ctx.store, order_id)
    row = ctx.store.query_one(
        "SELECT * FROM bc_shipping_addresses WHERE order_id = ? AND id = ?",
        (order_id, int(ctx.path_params["address_id"])),
    )
    if row is None:
        raise not_found()
    return json_response(fmt.shipping_address_json(ctx, row))


def list_coupons(ctx: Ctx) -> Response:
    load_order(ctx.store, _order_id(ctx))
    return no_content()  # the sandbox applies no coupons; an empty V2 list is a 204


def routes(gw: Gateway) -> list[Route]:
    order = "/v2/orders/{order_id:int}"
    return [
        gw.route("/v2/orders", GET=list_orders),
        gw.route("/v2/orders/count", GET=count_orders),
        gw.route(order, GET=get_order, PUT=update_order),
        gw.route(order + "/products", GET=list_order_products),
        gw.route(order + "/products/{product_id:int}", GET=get_order_product),
        gw.route(order + "/shipping_addresses", GET=list_shipping_addresses),
        gw.route(order + "/shipping_addresses/{address_id:int}", GET=get_shipping_address),
        gw.route(order + "/shippingaddresses", GET=list_shipping_addresses),
        gw.route(order + "/shippingaddresses/{address_id:int}", GET=get_shipping_address),
        gw.route(order + "/coupons", GET=list_coupons),
    ]
