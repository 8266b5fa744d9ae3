"""Order shipments V2: list/count/get/create/update/delete, with the order-level side effects.

Creating a shipment raises `quantity_shipped` on the lines and `items_shipped` on the address and the
order, then sets the order to Shipped (2, with `date_shipped`) when every line is fully shipped, else
Partially Shipped (3). Deleting one gives the quantities back but leaves status and date_shipped alone
("Deleting a shipment does not move the order out of shipped status").
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from bp_sandbox.bigcommerce import shipment_rules as rules
from bp_sandbox.bigcommerce.errors import not_found, required_missing
from bp_sandbox.bigcommerce.formatting import dumps, loads_or
from bp_sandbox.bigcommerce.gateway import Ctx, Gateway, json_response, no_content
from bp_sandbox.bigcommerce.orders import load_order
from bp_sandbox.bigcommerce.pagination import v2_page
from bp_sandbox.bigcommerce.statuses import PARTIALLY_SHIPPED, SHIPPED
from bp_sandbox.bigcommerce.storage import now_ms, transaction
from bp_sandbox.state import Store

SELECT = (
    "SELECT s.*, COALESCE(x.tracking_link, '') AS tracking_link, "
    "COALESCE(x.merchant_shipping_cost, '0.0000') AS merchant_shipping_cost, "
    "a.address_json AS shipping_json FROM bc_shipments s "
    "LEFT JOIN bc_shipment_extras x ON x.shipment_id = s.id "
    "LEFT JOIN bc_shipping_addresses a ON a.id = s.order_address_id "
)


def _ids(ctx: Ctx) -> tuple[int, int | None]:
    sid = ctx.path_params.get("shipment_id")
    return int(ctx.path_params["order_id"]), (int(sid) if sid is not None else None)


def _render(store: Store, order: sqlite3.Row, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    return [rules.shipment_json(r, order["billing_address_json"], r["shipping_json"]) for r in rows]


def _load(store: Store, order_id: int, shipment_id: int) -> sqlite3.Row:
    row = store.query_one(SELECT + "WHERE s.order_id = ? AND s.id = ?", (order_id, shipment_id))
    if row is None:
        raise not_found()
    return row


def list_shipments(ctx: Ctx) -> Response:
    order_id, _ = _ids(ctx)
    order = load_order(ctx.store, order_id)
    page = v2_page(ctx.params)
    rows = ctx.store.query(
        SELECT + "WHERE s.order_id = ? ORDER BY s.id LIMIT ? OFFSET ?", (order_id, page.limit, page.offset)
    )
    if not rows:
        return no_content()  # spec: "204 No Content (No shipments exist)"
    return json_response(_render(ctx.store, order, rows))


def count_shipments(ctx: Ctx) -> Response:
    order_id, _ = _ids(ctx)
    load_order(ctx.store, order_id)
    row = ctx.store.query_one("SELECT COUNT(*) AS n FROM bc_shipments WHERE order_id = ?", (order_id,))
    return json_response({"count": int(row["n"]) if row else 0})


def get_shipment(ctx: Ctx) -> Response:
    order_id, shipment_id = _ids(ctx)
    order = load_order(ctx.store, order_id)
    return json_response(_render(ctx.store, order, [_load(ctx.store, order_id, shipment_id or 0)])[0])


def _addresses(store: Store, order_id: int) -> set[int]:
    return {int(r["id"]) for r in store.query("SELECT id FROM bc_shipping_addresses WHERE order_id = ?", (order_id,))}


def _apply_quantities(store: Store, order_id: int, address_id: int, shipped: Counter[int], sign: int) -> None:
    for pid, qty in shipped.items():
        store.execute(
            "UPDATE bc_order_products SET quantity_shipped = MAX(0, quantity_shipped + ?) WHERE id = ?",
            (sign * qty, pid),
        )
    store.execute(
        "UPDATE bc_shipping_addresses SET items_shipped = MAX(0, items_shipped + ?) WHERE id = ?",
        (sign * sum(shipped.values()), address_id),
    )


def _refresh_order(store: Store, order_id: int, *, set_status: bool) -> None:
    totals = store.query_one(
        "SELECT COALESCE(SUM(quantity), 0) AS q, COALESCE(SUM(quantity_shipped), 0) AS s "
        "FROM bc_order_products WHERE order_id = ?",
        (order_id,),
    )
    shipped, total = int(totals["s"]), int(totals["q"])
    now = now_ms(store)
    store.execute(
        "UPDATE bc_orders SET items_shipped = ?, date_modified_ms = MAX(date_modified_ms, ?) WHERE id = ?",
        (shipped, now, order_id),
    )
    if not set_status:
        return
    if shipped >= total:
        store.execute("UPDATE bc_orders SET status_id = ?, date_shipped_ms = ? WHERE id = ?", (SHIPPED, now, order_id))
    else:
        store.execute("UPDATE bc_orders SET status_id = ? WHERE id = ?", (PARTIALLY_SHIPPED, order_id))


def create_shipment(ctx: Ctx) -> Response:
    order_id, _ = _ids(ctx)
    body = rules.check_fields(ctx.json(), rules.POST_FIELDS)
    missing = [k for k in ("order_address_id", "items") if k not in body]
    if missing:
        raise required_missing(missing)
    values = rules.scalar_changes(body)
    with transaction(ctx.store):
        order = load_order(ctx.store, order_id)
        address = rules.address_id(body, _addresses(ctx.store, order_id), order_id)
        products = {
            int(r["id"]): r for r in ctx.store.query("SELECT * FROM bc_order_products WHERE order_id = ?", (order_id,))
        }
        wanted = rules.items_to_ship(body, products, address, order_id)
        items = [
            {"order_product_id": pid, "product_id": int(products[pid]["product_id"]), "quantity": qty}
            for pid, qty in wanted.items()
        ]
        cursor = ctx.store.execute(
            "INSERT INTO bc_shipments (order_id, order_address_id, tracking_number, tracking_carrier, "
            "shipping_method, shipping_provider, comments, items_json, customer_id, date_created_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order_id,
                address,
                values.get("tracking_number", ""),
                values.get("tracking_carrier", ""),
                values.get("shipping_method", ""),
                values.get("shipping_provider", ""),
                values.get("comments", ""),
                dumps(items),
                int(order["customer_id"]),
                now_ms(ctx.store),
            ),
        )
        shipment_id = int(cursor.lastrowid or 0)
        ctx.store.execute(
            "INSERT INTO bc_shipment_extras (shipment_id, tracking_link, merchant_shipping_cost) VALUES (?, ?, ?)",
            (shipment_id, values.get("tracking_link", ""), values.get("merchant_shipping_cost", "0.0000")),
        )
        _apply_quantities(ctx.store, order_id, address, wanted, +1)
        _refresh_order(ctx.store, order_id, set_status=True)
        row = _load(ctx.store, order_id, shipment_id)
    return json_response(_render(ctx.store, order, [row])[0], status=201)


def update_shipment(ctx: Ctx) -> Response:
    order_id, shipment_id = _ids(ctx)
    body = rules.check_fields(ctx.json(), rules.PUT_FIELDS)
    values = rules.scalar_changes(body)
    with transaction(ctx.store):
        order = load_order(ctx.store, order_id)
        current = _load(ctx.store, order_id, shipment_id or 0)
        if "order_address_id" in body:
            address = rules.address_id(body, _addresses(ctx.store, order_id), order_id)
            ctx.store.execute("UPDATE bc_shipments SET order_address_id = ? WHERE id = ?", (address, current["id"]))
        for column in ("tracking_number", "tracking_carrier", "shipping_method", "shipping_provider", "comments"):
            if column in values:
                ctx.store.execute(f"UPDATE bc_shipments SET {column} = ? WHERE id = ?", (values[column], current["id"]))
        ctx.store.execute(
            "INSERT INTO bc_shipment_extras (shipment_id, tracking_link, merchant_shipping_cost) VALUES (?, ?, ?) "
            "ON CONFLICT(shipment_id) DO UPDATE SET tracking_link = excluded.tracking_link, "
            "merchant_shipping_cost = excluded.merchant_shipping_cost",
            (
                current["id"],
                values.get("tracking_link", current["tracking_link"]),
                values.get("merchant_shipping_cost", current["merchant_shipping_cost"]),
            ),
        )
        row = _load(ctx.store, order_id, int(current["id"]))
    return json_response(_render(ctx.store, order, [row])[0])


def _delete(store: Store, row: sqlite3.Row) -> None:
    shipped: Counter[int] = Counter()
    for item in loads_or(row["items_json"], []):
        shipped[int(item["order_product_id"])] += int(item["quantity"])
    _apply_quantities(store, int(row["order_id"]), int(row["order_address_id"]), shipped, -1)
    store.execute("DELETE FROM bc_shipments WHERE id = ?", (row["id"],))
    store.execute("DELETE FROM bc_shipment_extras WHERE shipment_id = ?", (row["id"],))


def delete_shipment(ctx: Ctx) -> Response:
    order_id, shipment_id = _ids(ctx)
    with transaction(ctx.store):
        load_order(ctx.store, order_id)
        _delete(ctx.store, _load(ctx.store, order_id, shipment_id or 0))
        _refresh_order(ctx.store, order_id, set_status=False)
    return no_content()


def delete_all_shipments(ctx: Ctx) -> Response:
    order_id, _ = _ids(ctx)
    with transaction(ctx.store):
        load_order(ctx.store, order_id)
        for row in ctx.store.query(SELECT + "WHERE s.order_id = ?", (order_id,)):
            _delete(ctx.store, row)
        _refresh_order(ctx.store, order_id, set_status=False)
    return no_content()


def routes(gw: Gateway) -> list[Route]:
    base = "/v2/orders/{order_id:int}/shipments"
    return [
        gw.route(base, GET=list_shipments, POST=create_shipment, DELETE=delete_all_shipments),
        gw.route(base + "/count", GET=count_shipments),
        gw.route(base + "/{shipment_id:int}", GET=get_shipment, PUT=update_shipment, DELETE=delete_shipment),
    ]
