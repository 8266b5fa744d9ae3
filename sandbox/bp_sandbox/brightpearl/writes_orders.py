"""Order writes: PUT status, POST order, POST order row, POST sales-order.

Error codes ORDC-005/006/022 are recorded; the others (ORDC-021, ORDC-030..033, ORDC-040..042, ORDC-050,
CMNC-404 for a missing order) are sandbox choices, listed in docs/sandbox.md.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..generator.currency import BASE_CURRENCY, rate_for
from ..generator.mutations import add_note, next_id, refresh_order
from ..generator.reference import DEFAULT_STATUS, SYSTEM_USER_ID
from .envelope import BpResponse, bad_request, not_found, ok
from .formatting import DateParseError, parse_instant
from .router import Ctx, Route

TAX_RATES = {"T": Decimal("8.25"), "N": Decimal(0), "Z": Decimal(0)}
FOUR = Decimal("0.0001")


@dataclass
class RowInput:
    product: sqlite3.Row | None
    name: str
    quantity: Decimal
    net: Decimal
    tax: Decimal
    tax_code: str
    nominal: str = "4000"
    external_ref: str | None = None


def _dict(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object", "CMNC-010")
    return body


def _money(value: Any, field: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:
        raise bad_request(f"{field} must be a number", "ORDC-042") from exc
    if d != d.quantize(Decimal("0.01")):
        raise bad_request(f"{field} has more than 2 decimal places", "ORDC-042")
    return d


def _instant(value: Any, field: str) -> int:
    try:
        return parse_instant(str(value))
    except DateParseError as exc:
        raise bad_request(f"{field} is not a valid date: {value!r}", "CMNC-018") from exc


def _order(conn: sqlite3.Connection, order_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM orders WHERE id = ? AND deleted = 0", (order_id,)).fetchone()
    if row is None:
        raise not_found(f"Order {order_id} not found")
    return row


def _product(conn: sqlite3.Connection, product_id: Any) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM products WHERE id = ? AND deleted = 0", (product_id,)).fetchone()
    if row is None:
        raise bad_request(f"Product {product_id} not found", "ORDC-041")
    return row


def _status(conn: sqlite3.Connection, status_id: Any, type_code: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM order_statuses WHERE id = ?", (status_id,)).fetchone()
    if row is None:
        raise bad_request(f"Order status {status_id} does not exist", "ORDC-030")
    if row["order_type_code"] != type_code:
        raise bad_request(f"Order status {status_id} does not belong to order type {type_code}", "ORDC-031")
    if row["disabled"]:
        raise bad_request(f"Order status {status_id} is disabled", "ORDC-032")
    return row


def insert_rows(conn: sqlite3.Connection, order_id: int, rows: list[RowInput]) -> list[int]:
    """Append rows (bundles expand into a parent row + zero-priced child rows); returns the top-level row ids."""
    seq = conn.execute("SELECT max(sequence) FROM order_rows WHERE order_id = ?", (order_id,)).fetchone()[0] or 0
    ids = []
    for r in rows:
        seq += 10
        rid = next_id(conn, "order_rows")
        rate = TAX_RATES.get(r.tax_code, (r.tax * 100 / r.net).quantize(FOUR) if r.net else Decimal(0))
        unit = (r.net / r.quantity).quantize(FOUR) if r.quantity else Decimal(0)
        qty: int | float = int(r.quantity) if r.quantity == r.quantity.to_integral() else float(r.quantity)
        p = r.product
        conn.execute(
            "INSERT INTO order_rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                rid,
                order_id,
                seq,
                p["id"] if p else None,
                p["sku"] if p else None,
                r.name,
                qty,
                f"{unit:.4f}",
                p["cost"] if p else "0.0000",
                "0.00",
                f"{r.net:.4f}",
                f"{r.tax:.2f}",
                f"{rate:.4f}",
                r.tax_code,
                r.nominal,
                int(bool(p and p["is_bundle"])),
                0,
                0,
                r.external_ref,
            ),
        )
        ids.append(rid)
        if p and p["is_bundle"]:
            for comp_id, per in conn.execute(
                "SELECT component_product_id, quantity FROM bundle_components "
                "WHERE bundle_product_id = ? ORDER BY component_product_id",
                (p["id"],),
            ):
                comp = conn.execute("SELECT * FROM products WHERE id = ?", (comp_id,)).fetchone()
                seq += 10
                conn.execute(
                    "INSERT INTO order_rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        next_id(conn, "order_rows"),
                        order_id,
                        seq,
                        comp_id,
                        comp["sku"],
                        comp["name"],
                        qty * per,
                        "0.0000",
                        comp["cost"],
                        "0.00",
                        "0.0000",
                        "0.00",
                        f"{rate:.4f}",
                        r.tax_code,
                        r.nominal,
                        0,
                        1,
                        rid,
                        None,
                    ),
                )
    return ids


def put_status(ctx: Ctx) -> BpResponse:
    order_id = int(ctx.args[0])
    body = _dict(ctx.json())
    if "orderStatusId" not in body:
        raise bad_request("You have not supplied an orderStatusId", "ORDC-030")
    now = ctx.store.now_ms()
    with ctx.store.transaction() as conn:
        order = _order(conn, order_id)
        status = _status(conn, body["orderStatusId"], order["order_type_code"])
        if status["state"] == "cancelled" and order["order_type_code"] == "SO":
            _check_cancellable(conn, order)
        closed = now if status["state"] in ("cancelled", "invoiced", "completed") else None
        conn.execute(
            "UPDATE orders SET status_id = ?, closed_ms = coalesce(?, closed_ms), allocation_status_code = "
            "CASE WHEN ? THEN 'ANR' ELSE allocation_status_code END WHERE id = ?",
            (status["id"], closed, status["state"] == "cancelled", order_id),
        )
        note = body.get("orderNote") if isinstance(body.get("orderNote"), dict) else {}
        old = conn.execute("SELECT name FROM order_statuses WHERE id = ?", (order["status_id"],)).fetchone()
        add_note(
            conn,
            order_id,
            note.get("text") or f"Order status changed from {old[0] if old else '?'} to {status['name']}",
            now,
            bool(note.get("isPublic", False)),
        )
        refresh_order(conn, order_id, now)
    return BpResponse(200, {})


def _check_cancellable(conn: sqlite3.Connection, order: sqlite3.Row) -> None:
    oid = order["id"]
    if conn.execute("SELECT 1 FROM goods_out_notes WHERE order_id = ? AND deleted = 0", (oid,)).fetchone():
        raise bad_request(f"Order {oid} cannot be cancelled: it has goods-out notes", "ORDC-033")
    if order["invoice_reference"]:
        raise bad_request(f"Order {oid} cannot be cancelled: it has been invoiced", "ORDC-033")
    if order["payment_status"] in ("PAID", "PARTIALLY_PAID"):
        raise bad_request(f"Order {oid} cannot be cancelled: it has payments", "ORDC-033")


def create_order(
    conn: sqlite3.Connection,
    *,
    type_code: str,
    contact: sqlite3.Row,
    now: int,
    status_id: int,
    reference: str | None = None,
    parent_id: int = 0,
    channel_id: int = 0,
    warehouse_id: int = 1,
    price_list_id: int | None = None,
    price_mode: str = "EXC",
    placed_ms: int | None = None,
    delivery_ms: int | None = None,
    shipping_method_id: int = 0,
    tax_date_ms: int | None = None,
    external_ref: str | None = None,
    integration_id: int | None = None,
    billing_address_id: int | None = None,
    delivery_address_id: int | None = None,
    currency: str = BASE_CURRENCY,  # Brightpearl's default: the account's accounting currency
) -> int:
    order_id = next_id(conn, "orders")
    conn.execute(
        "INSERT INTO orders (id, order_type_code, parent_order_id, status_id, contact_id, channel_id, warehouse_id, "
        "external_ref, customer_ref, currency_code, exchange_rate, price_list_id, price_mode_code, total_net, total_tax, "
        "total_value, payment_status, shipping_status_code, stock_status_code, allocation_status_code, tax_date_ms, "
        "due_date_ms, shipping_method_id, delivery_date_ms, placed_on_ms, created_ms, updated_ms, created_by_id, "
        "installed_integration_instance_id, billing_address_id, delivery_address_id) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'0.00','0.00','0.00','NOT_APPLICABLE','NST','NON','ANR',"
        "?,?,?,?,?,?,?,?,?,?,?)",
        (
            order_id,
            type_code,
            parent_id,
            status_id,
            contact["id"],
            channel_id,
            warehouse_id,
            external_ref,
            reference,
            currency,
            rate_for(currency, now),  # the day's rate against the GBP base currency
            price_list_id or contact["price_list_id"],
            price_mode,
            tax_date_ms,
            tax_date_ms,
            shipping_method_id,
            delivery_ms,
            placed_ms or now,
            now,
            now,
            SYSTEM_USER_ID,
            integration_id,
            billing_address_id or contact["def_address_id"],
            delivery_address_id or contact["del_address_id"],
        ),
    )
    return order_id


def post_order(ctx: Ctx) -> BpResponse:
    body = _dict(ctx.json())
    code = body.get("orderTypeCode")
    if not code:
        raise bad_request("You have not supplied an order type code", "ORDC-005")
    if code not in DEFAULT_STATUS:
        raise bad_request("You have supplied an invalid order type code", "ORDC-006")
    parties = body.get("parties") if isinstance(body.get("parties"), dict) else {}
    role = "supplier" if code in ("PO", "PC") else "customer"
    contact_id = (parties.get(role) or {}).get("contactId")
    if contact_id is None:
        raise bad_request(
            "Suppllier ID Required." if role == "supplier" else "Customer ID Required.",
            "ORDC-022" if role == "supplier" else "ORDC-021",
        )
    delivery = body.get("delivery") if isinstance(body.get("delivery"), dict) else {}
    invoices = body.get("invoices") if isinstance(body.get("invoices"), list) else []
    assignment = body.get("assignment") if isinstance(body.get("assignment"), dict) else {}
    assignment = assignment.get("current") or {}
    now = ctx.store.now_ms()
    with ctx.store.transaction() as conn:
        contact = conn.execute("SELECT * FROM contacts WHERE id = ? AND deleted = 0", (contact_id,)).fetchone()
        if contact is None:
            raise bad_request(f"Contact {contact_id} not found", "ORDC-023")
        status_id = (body.get("orderStatus") or {}).get("orderStatusId") or DEFAULT_STATUS[code]
        _status(conn, status_id, code)
        order_id = create_order(
            conn,
            type_code=code,
            contact=contact,
            now=now,
            status_id=status_id,
            reference=body.get("reference"),
            parent_id=int(body.get("parentOrderId") or 0),
            channel_id=int(assignment.get("channelId") or 0),
            warehouse_id=int(body.get("warehouseId") or 1),
            price_list_id=body.get("priceListId"),
            price_mode=body.get("priceModeCode") or "EXC",
            placed_ms=_instant(body["placedOn"], "placedOn") if body.get("placedOn") else None,
            delivery_ms=_instant(delivery["deliveryDate"], "deliveryDate") if delivery.get("deliveryDate") else None,
            shipping_method_id=int(delivery.get("shippingMethodId") or 0),
            tax_date_ms=_instant(invoices[0]["taxDate"], "taxDate")
            if invoices and invoices[0].get("taxDate")
            else None,
        )
    return ok(order_id)


def post_row(ctx: Ctx) -> BpResponse:
    order_id = int(ctx.args[0])
    body = _dict(ctx.json())
    now = ctx.store.now_ms()
    with ctx.store.transaction() as conn:
        _order(conn, order_id)
        row = parse_row(
            conn,
            body.get("productId"),
            body.get("productName"),
            (body.get("quantity") or {}).get("magnitude", 1),
            ((body.get("rowValue") or {}).get("rowNet") or {}).get("value"),
            ((body.get("rowValue") or {}).get("rowTax") or {}).get("value"),
            (body.get("rowValue") or {}).get("taxCode") or "T",
            (body.get("productPrice") or {}).get("value"),
            body.get("nominalCode") or "4000",
            None,
        )
        row_id = insert_rows(conn, order_id, [row])[0]
        refresh_order(conn, order_id, now)
    return ok(row_id)


def parse_row(
    conn: sqlite3.Connection,
    product_id: Any,
    name: Any,
    quantity: Any,
    net: Any,
    tax: Any,
    tax_code: str,
    unit: Any,
    nominal: str,
    external_ref: str | None,
) -> RowInput:
    if product_id is None and not name:
        raise bad_request("You must supply either a productId or a productName", "ORDC-040")
    product = _product(conn, product_id) if product_id is not None else None
    try:
        qty = Decimal(str(quantity))
    except InvalidOperation as exc:
        raise bad_request("quantity.magnitude must be a number", "ORDC-042") from exc
    if product is not None and product["stock_tracked"] and qty != qty.to_integral():
        raise bad_request("The quantity of a stock tracked product must be a whole number", "ORDC-042")
    if net is None:
        price = Decimal(str(unit)) if unit is not None else Decimal(product["price"] if product else 0)
        net_d = (price * qty).quantize(Decimal("0.01"))
    else:
        net_d = _money(net, "rowNet")
    rate = TAX_RATES.get(tax_code, Decimal(0))
    tax_d = _money(tax, "rowTax") if tax is not None else (net_d * rate / 100).quantize(Decimal("0.01"))
    return RowInput(
        product, str(name or (product["name"] if product else "")), qty, net_d, tax_d, tax_code, nominal, external_ref
    )


def delete_customer_payment(ctx: Ctx) -> BpResponse:
    """`DELETE accounting-service/customer-payment/{id}`: 200 `{}` as recorded (customer_payment/delete); the payment
    then vanishes from customer-payment-search. An unknown id is a 404 (sandbox choice)."""
    payment_id = int(ctx.args[0])
    with ctx.store.transaction() as conn:
        done = conn.execute("UPDATE customer_payments SET deleted = 1 WHERE id = ? AND deleted = 0", (payment_id,))
        if done.rowcount == 0:
            raise not_found(f"Customer payment {payment_id} not found", "ACCC-404")
    return BpResponse(200, {})


def post_note(ctx: Ctx) -> BpResponse:
    """`POST order-service/order/{id}/note` `{"text", "isPublic", "addedOn"}` -> `{"response": <noteId>}`
    (documented in the reference; `fileId` ignored)."""
    order_id = int(ctx.args[0])
    body = _dict(ctx.json())
    text = str(body.get("text") or "")
    if not text.strip():
        raise bad_request("text is required", "ORDC-060")
    now = ctx.store.now_ms()
    added = _instant(body["addedOn"], "addedOn") if body.get("addedOn") else now
    with ctx.store.transaction() as conn:
        _order(conn, order_id)
        note_id = add_note(conn, order_id, text, added, bool(body.get("isPublic")))
    return ok(note_id)


def get_notes(ctx: Ctx) -> BpResponse:
    """`GET order-service/order/{id}/note`: the order's notes, oldest first (sandbox shape, unconfirmed:
    `{noteId, orderId, text, isPublic, addedOn}`)."""
    order_id = int(ctx.args[0])
    with ctx.store.transaction() as conn:
        _order(conn, order_id)
        rows = conn.execute(
            "SELECT id, text, is_public, added_ms FROM order_notes WHERE order_id = ? ORDER BY id", (order_id,)
        ).fetchall()
    return ok(
        [
            {"noteId": r[0], "orderId": order_id, "text": r[1], "isPublic": bool(r[2]), "addedOn": ctx.fmt.dt(r[3])}
            for r in rows
        ]
    )


def write_routes() -> list[Route]:
    from .writes_sales import post_sales_order

    return [
        Route("POST", "order-service/order/{id}/note", post_note, "post-order-note"),
        Route("GET", "order-service/order/{id}/note", get_notes, "get-order-note"),
        Route("PUT", "order-service/order/{id}/status", put_status, "put-order-status"),
        Route("POST", "order-service/order", post_order, "post-order"),
        Route("POST", "order-service/order/{id}/row", post_row, "post-order-row"),
        Route("POST", "order-service/sales-order", post_sales_order, "post-sales-order"),
        Route("DELETE", "accounting-service/customer-payment/{id}", delete_customer_payment, "delete-customer-payment"),
    ]
