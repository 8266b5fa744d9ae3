"""`POST order-service/sales-order` (atomic sales order with rows). Response `{"response": <orderId>}`
(unconfirmed shape; sandbox choice). `externalRef` + `installedIntegrationInstanceId` is a unique key:
a duplicate is refused with 400 ORDC-050 so importers can rely on it for idempotency.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..generator.currency import BASE_CURRENCY
from ..generator.mutations import next_id, refresh_order
from ..generator.reference import DEFAULT_STATUS
from .envelope import BpResponse, bad_request, ok
from .router import Ctx
from .writes_contacts import address_from_body
from .writes_orders import _dict, _instant, _status, create_order, insert_rows, parse_row


def _address_id(conn: sqlite3.Connection, address: Any, where: str) -> int | None:
    if not isinstance(address, dict) or not address:
        return None
    doc = address_from_body(address, where)
    address_id = next_id(conn, "postal_addresses")
    conn.execute("INSERT INTO postal_addresses VALUES (?, ?)", (address_id, json.dumps(doc, ensure_ascii=False)))
    return address_id


def post_sales_order(ctx: Ctx) -> BpResponse:
    body = _dict(ctx.json())
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    customer_id = customer.get("id") or body.get("customerId")
    if customer_id is None:
        raise bad_request("Customer ID Required.", "ORDC-021")
    rows = body.get("rows") if isinstance(body.get("rows"), list) else []
    delivery = body.get("delivery") if isinstance(body.get("delivery"), dict) else {}
    billing = body.get("billing") if isinstance(body.get("billing"), dict) else {}
    ext_ref, integration = body.get("externalRef"), body.get("installedIntegrationInstanceId")
    # Every address given is checked before anything is stored (the customer's one is used only without billing's).
    for where, part in (
        ("customer.address.", customer),
        ("billing.address.", billing),
        ("delivery.address.", delivery),
    ):
        if isinstance(part.get("address"), dict) and part["address"]:
            address_from_body(part["address"], where)
    now = ctx.store.now_ms()
    with ctx.store.transaction() as conn:
        contact = conn.execute("SELECT * FROM contacts WHERE id = ? AND deleted = 0", (customer_id,)).fetchone()
        if contact is None:
            raise bad_request(f"Contact {customer_id} not found", "ORDC-023")
        if ext_ref and integration is not None:
            dup = conn.execute(
                "SELECT id FROM orders WHERE external_ref = ? AND installed_integration_instance_id = ? "
                "AND deleted = 0",
                (str(ext_ref), int(integration)),
            ).fetchone()
            if dup:
                raise bad_request(
                    f"An order with externalRef {ext_ref} already exists for installed integration "
                    f"instance {integration} (order {dup[0]})",
                    "ORDC-050",
                )
        status_id = body.get("statusId") or DEFAULT_STATUS["SO"]
        _status(conn, status_id, "SO")
        parsed = [
            parse_row(
                conn,
                r.get("productId"),
                r.get("name"),
                r.get("quantity", 1),
                r.get("net"),
                r.get("tax"),
                r.get("taxCode") or "T",
                None,
                str(r.get("nominalCode") or "4000"),
                r.get("externalRef"),
            )
            for r in rows
            if isinstance(r, dict)
        ]
        currency = (body.get("currency") or {}).get("code") if isinstance(body.get("currency"), dict) else None
        order_id = create_order(
            conn,
            type_code="SO",
            contact=contact,
            now=now,
            status_id=status_id,
            reference=body.get("ref"),
            parent_id=int(body.get("parentId") or 0),
            channel_id=int(body.get("channelId") or 0),
            warehouse_id=int(body.get("warehouseId") or 1),
            placed_ms=_instant(body["placedOn"], "placedOn") if body.get("placedOn") else None,
            delivery_ms=_instant(delivery["date"], "delivery.date") if delivery.get("date") else None,
            shipping_method_id=int(delivery.get("shippingMethodId") or 0),
            tax_date_ms=_instant(body["taxDate"], "taxDate") if body.get("taxDate") else None,
            external_ref=str(ext_ref) if ext_ref is not None else None,
            integration_id=int(integration) if integration is not None else None,
            billing_address_id=_address_id(conn, billing.get("address"), "billing.address.")
            or _address_id(conn, customer.get("address"), "customer.address."),
            delivery_address_id=_address_id(conn, delivery.get("address"), "delivery.address."),
            currency=currency or BASE_CURRENCY,
        )
        insert_rows(conn, order_id, parsed)
        refresh_order(conn, order_id, now, bump=False)
    return ok(order_id)
