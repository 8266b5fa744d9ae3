"""Read endpoints: searches, GET by ID set, OPTIONS, and reference lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..generator.reference import CATEGORIES, CONTACT_TAGS
from .codes import ORDER_TYPES, SHIPPING_STATUSES, STOCK_STATUS_NAMES
from .envelope import BpResponse, bad_request, not_found, ok
from .idsets import Ranges, chunks, parse_id_set, sql_in, to_id_set
from .render_goods_out import load_notes
from .render_master import load_availability, load_contacts, load_products
from .render_orders import load_orders
from .router import Ctx, Handler, Route, id_list
from .search import SearchDef, int_param, run_search
from .search_defs import CONTACT_SEARCH, CUSTOMER_PAYMENT_SEARCH, GOODS_OUT_SEARCH, ORDER_SEARCH, PRODUCT_SEARCH

ORDER_LIMIT = PRODUCT_LIMIT = CONTACT_LIMIT = 200
GOODS_OUT_LIMIT = 500
AVAILABILITY_LIMIT = 500  # undocumented; the pipeline uses 100 (docs/sandbox.md)


def _search(sdef: SearchDef) -> Handler:
    def handler(ctx: Ctx) -> BpResponse:
        with ctx.state.lock:
            pending = ctx.state.pending_shifts.pop(ctx.endpoint, None)
        if pending:  # a record edited between two page requests moves to "now"
            table, row_id = pending
            ctx.store.execute(f"UPDATE {table} SET updated_ms = ? WHERE id = ?", (ctx.store.now_ms(), row_id))
        result = run_search(ctx.store, ctx.fmt, sdef, ctx.params)
        if ctx.fault and ctx.fault.kind == "shift_rows" and sdef.shift_table and result.first_row_id is not None:
            with ctx.state.lock:
                ctx.state.pending_shifts[ctx.endpoint] = (sdef.shift_table, result.first_row_id)
        return BpResponse(200, result.body)

    return handler


def get_orders(ctx: Ctx) -> BpResponse:
    return ok(load_orders(ctx.store, ctx.fmt, id_list(ctx.args[0], ORDER_LIMIT, "orders")))


def get_products(ctx: Ctx) -> BpResponse:
    found = load_products(ctx.store, ctx.fmt, id_list(ctx.args[0], PRODUCT_LIMIT, "products"))
    if not found:  # sandbox choice: like contacts (404 when nothing matches), unlike orders (200 [])
        raise not_found("No Product Found", "PRDC-404")
    return ok(found)


def get_contacts(ctx: Ctx) -> BpResponse:
    """Documented: no ID set or more than 200 ids -> one page (<= 200) plus a pagination block."""
    ranges: Ranges | None = None
    if ctx.args:
        id_list(ctx.args[0], None, "contacts")  # syntax errors -> 400
        ranges = parse_id_set(ctx.args[0])
    where = "deleted = 0" + (" AND " + sql_in("id", ranges) if ranges is not None else "")
    descending = ctx.params.get("sort", "").lower() == "contactid.desc"
    ids = [
        r[0]
        for r in ctx.store.query(f"SELECT id FROM contacts WHERE {where} ORDER BY id {'DESC' if descending else 'ASC'}")
    ]
    first = int_param(ctx.params, "firstResult", 1)
    size = min(CONTACT_LIMIT, int_param(ctx.params, "pageSize", CONTACT_LIMIT))
    page = ids[first - 1 : first - 1 + size]
    if not page:
        raise not_found("No Contact Found")
    docs = load_contacts(ctx.store, ctx.fmt, page, descending)
    pagination = {
        "morePagesAvailable": first - 1 + len(page) < len(ids),
        "resultsReturned": len(page),
        "firstResult": first,
        "lastResult": first - 1 + len(page),
    }
    return ok(
        docs, pagination=pagination, sorting=[{"field": "contactId", "direction": "DESC" if descending else "ASC"}]
    )


def _options(table: str, prefix: str, limit: int) -> Handler:
    def handler(ctx: Ctx) -> BpResponse:
        id_list(ctx.args[0], None, table)  # syntax errors -> 400; any size is fine for OPTIONS
        ranges = parse_id_set(ctx.args[0])
        ids = [
            r[0]
            for r in ctx.store.query(f"SELECT id FROM {table} WHERE deleted = 0 AND {sql_in('id', ranges)} ORDER BY id")
        ]
        return ok({"getUris": [f"/{prefix}/{to_id_set(c)}" for c in chunks(ids, limit)]})

    return handler


def get_availability(ctx: Ctx) -> BpResponse:
    ids = id_list(ctx.args[0], AVAILABILITY_LIMIT, "products")
    existing = {
        r[0]
        for r in ctx.store.query(
            f"SELECT id FROM products WHERE deleted = 0 AND {sql_in('id', parse_id_set(ctx.args[0]))}"
        )
    }
    missing = [i for i in ids if i not in existing]
    if missing:  # as seen on a live account (RSM): one invalid id fails the whole request with a 400
        raise bad_request(f"Product ID {missing[0]} is invalid", "WHSC-003")
    return ok(load_availability(ctx.store, ids))


def _goods_out_set(text: str, what: str) -> Ranges:
    id_list(text, GOODS_OUT_LIMIT, what)  # documented maximum of 500 ids per set
    return parse_id_set(text)


def get_goods_out(ctx: Ctx) -> BpResponse:
    """`order/{orders|*}/goods-note/goods-out[/{notes}]`; nothing found -> 200 `{}` (sandbox choice)."""
    order_ranges = None if ctx.args[0] == "*" else _goods_out_set(ctx.args[0], "orders")
    note_ranges = _goods_out_set(ctx.args[1], "goods-out notes") if len(ctx.args) > 1 else None
    return ok(load_notes(ctx.store, ctx.fmt, order_ranges, note_ranges))


def _listing(sql: str, doc: Callable[[Any], dict[str, Any]], table_ids: str = "id") -> Handler:
    """Reference list GET with optional ID set; unknown ids are simply absent."""

    def handler(ctx: Ctx) -> BpResponse:
        rows = ctx.store.query(sql)
        if ctx.args:
            wanted = set(id_list(ctx.args[0], 500, "records"))
            rows = [r for r in rows if r[table_ids] in wanted]
        return ok([doc(r) for r in rows])

    return handler


def order_statuses_doc(r: Any) -> dict[str, Any]:
    return {
        "statusId": r["id"],
        "name": r["name"],
        "orderTypeCode": r["order_type_code"],
        "sortOrder": r["sort_order"],
        "disabled": bool(r["disabled"]),
        "visible": bool(r["visible"]),
        "color": r["color"],
        "remindAfterDays": 10,
        "alertEmails": [],
        "emailContent": "",
        "batchProcess": False,
        "state": r["state"],
    }


def _static(items: list[dict[str, Any]] | dict[str, Any]) -> Handler:
    def handler(ctx: Ctx) -> BpResponse:
        if ctx.args and isinstance(items, list):
            wanted = set(id_list(ctx.args[0], 500, "records"))
            return ok([i for i in items if i.get("id") in wanted])
        return ok(items)

    return handler


def _with_optional(method: str, template: str, handler: Handler, message: str) -> list[Route]:
    return [Route(method, template, handler, message), Route(method, template + "/{ids}", handler, message)]


def read_routes() -> list[Route]:
    warehouses = _listing(
        "SELECT * FROM warehouses ORDER BY id",
        lambda r: {"id": r["id"], "name": r["name"], "address": _warehouse_address(r)},
    )
    channels = _listing(
        "SELECT * FROM channels ORDER BY id",
        lambda r: {
            "id": r["id"],
            "name": r["name"],
            "channelTypeId": r["channel_type_id"],
            "defaultWarehouseId": r["warehouse_id"],
            "defaultPriceListId": r["price_list_id"],
        },
    )
    methods = _listing(
        "SELECT * FROM shipping_methods ORDER BY id",
        lambda r: {"id": r["id"], "name": r["name"], "code": r["code"], "methodType": r["method_type"]},
    )
    statuses = _listing("SELECT * FROM order_statuses ORDER BY id", order_statuses_doc)
    brands = _listing("SELECT * FROM brands ORDER BY id", lambda r: {"id": r["id"], "name": r["name"]})
    types = _listing("SELECT * FROM product_types ORDER BY id", lambda r: {"id": r["id"], "name": r["name"]})
    price_lists = _listing(
        "SELECT * FROM price_lists ORDER BY id",
        lambda r: {
            "id": r["id"],
            "name": {"languageCode": "en", "text": r["name"], "format": "PLAINTEXT"},
            "code": r["code"],
            "currencyCode": r["currency_code"],
            "currencySymbol": "$",
            "currencyId": 1,
            "priceListTypeCode": r["price_list_type"],
            "gross": False,
        },
    )
    shipping = _static([{"id": i, "code": c, "description": d} for i, c, d in SHIPPING_STATUSES])
    stock = _static([{"id": i, "name": n} for i, n in STOCK_STATUS_NAMES.items()])
    order_types = _static([{"id": t[0], "name": t[2]} for t in ORDER_TYPES.values()])
    categories = _static([{"id": i, "name": n} for i, n in CATEGORIES])
    tags = _static({str(i): {"tagId": i, "tagName": n, "tagParentId": 0, "tagColor": c} for i, n, c in CONTACT_TAGS})
    return [
        Route("GET", "order-service/order-search", _search(ORDER_SEARCH), "bulk-data-search"),
        Route("GET", "product-service/product-search", _search(PRODUCT_SEARCH), "bulk-data-search"),
        Route("GET", "contact-service/contact-search", _search(CONTACT_SEARCH), "bulk-data-search"),
        Route("GET", "warehouse-service/goods-note/goods-out-search", _search(GOODS_OUT_SEARCH), "bulk-data-search"),
        Route(
            "GET", "accounting-service/customer-payment-search", _search(CUSTOMER_PAYMENT_SEARCH), "bulk-data-search"
        ),
        Route("GET", "order-service/order/{ids}", get_orders, "get-order"),
        Route("OPTIONS", "order-service/order/{ids}", _options("orders", "order", ORDER_LIMIT), "options-order"),
        Route("GET", "product-service/product/{ids}", get_products, "product-get"),
        Route(
            "OPTIONS",
            "product-service/product/{ids}",
            _options("products", "product", PRODUCT_LIMIT),
            "product-options",
        ),
        *_with_optional("GET", "contact-service/contact", get_contacts, "get-contact"),
        Route(
            "OPTIONS",
            "contact-service/contact/{ids}",
            _options("contacts", "contact", CONTACT_LIMIT),
            "options-contact",
        ),
        Route("GET", "warehouse-service/product-availability/{ids}", get_availability, "get-product-availability"),
        *_with_optional(
            "GET", "warehouse-service/order/{ids}/goods-note/goods-out", get_goods_out, "get-goods-out-note"
        ),
        *_with_optional("GET", "warehouse-service/warehouse", warehouses, "get-warehouse"),
        *_with_optional("GET", "order-service/order-status", statuses, "get-order-status"),
        *_with_optional("GET", "order-service/order-shipping-status", shipping, "get-order-shipping-status"),
        *_with_optional("GET", "order-service/order-stock-status", stock, "get-order-stock-status"),
        *_with_optional("GET", "order-service/order-type", order_types, "get-order-type"),
        *_with_optional("GET", "product-service/channel", channels, "get-channel"),
        *_with_optional("GET", "product-service/brand", brands, "get-brand"),
        *_with_optional("GET", "product-service/product-type", types, "get-product-type"),
        *_with_optional("GET", "product-service/price-list", price_lists, "get-price-list"),
        *_with_optional("GET", "product-service/brightpearl-category", categories, "get-brightpearl-category"),
        *_with_optional("GET", "warehouse-service/shipping-method", methods, "get-shipping-method"),
        Route("GET", "contact-service/tag", tags, "get-tag"),
    ]


def _warehouse_address(r: Any) -> dict[str, Any]:
    a = json.loads(r["address_json"] or "{}")
    return {
        "addressId": 100 + r["id"],
        "customerId": 0,
        "streetAddress": a.get("streetAddress", ""),
        "postcode": a.get("postcode", ""),
        "city": a.get("city", ""),
        "state": a.get("state", ""),
        "countryId": 223,
        "countryIsoCode2": a.get("countryIsoCode2", "US"),
    }
