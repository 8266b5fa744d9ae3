"""`GET order-service/order/{ids}` documents, shaped like the recordings (order_get_one.yml, order_get_one_po.yml).

Keys set only when the value exists (closedOn, delivery.deliveryDate, externalRef...) follow the recorded
"null/unset fields are omitted" rule; externalRef/installedIntegrationInstanceId appear only when set.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from typing import Any

from ..generator.currency import BASE_CURRENCY, to_base
from ..generator.vocab import COUNTRIES
from ..state import Store
from .formatting import Formatter, money2

TAX_CLASS = {"T": 2, "N": 3, "Z": 1}


def _marks(values: list[int]) -> str:
    return ",".join("?" * len(values))


def party(addr: dict[str, str], contact: sqlite3.Row | None, contact_id: int | None) -> dict[str, Any]:
    iso = addr.get("countryIsoCode", "")
    country_id, country, iso3 = COUNTRIES.get(iso, (0, "", ""))
    first = contact["first_name"] if contact else ""
    last = contact["last_name"] if contact else ""
    out: dict[str, Any] = {} if contact_id is None else {"contactId": contact_id}
    out.update(
        {
            "addressFullName": addr.get("addressFullName") or f"{first} {last}".strip(),
            "companyName": addr.get("companyName", (contact["company_name"] if contact else "") or ""),
            "addressLine1": addr.get("addressLine1", ""),
            "addressLine2": addr.get("addressLine2", ""),
            "addressLine3": addr.get("addressLine3", ""),
            "addressLine4": addr.get("addressLine4", ""),
            "postalCode": addr.get("postalCode", ""),
            "country": country,
            "telephone": addr.get("telephone", (contact["phone"] if contact else "") or ""),
            "mobileTelephone": (contact["mobile"] if contact else "") or "",
            "fax": "",
            "email": addr.get("email", (contact["email"] if contact else "") or ""),
            "countryId": country_id,
            "countryIsoCode": iso,
            "countryIsoCode3": iso3,
        }
    )
    return out


def _row_doc(r: sqlite3.Row, currency: str) -> dict[str, Any]:
    money = {"currencyCode": currency}
    doc: dict[str, Any] = {"orderRowSequence": str(r["sequence"])}
    if r["product_id"] is not None:
        doc["productId"] = r["product_id"]
    doc["productName"] = r["product_name"]
    if r["sku"] is not None:
        doc["productSku"] = r["sku"]
    doc.update(
        {
            "quantity": {"magnitude": f"{r['quantity']}.0000"},
            "itemCost": {**money, "value": r["item_cost"]},
            "productPrice": {**money, "value": r["unit_price"]},
            "discountPercentage": r["discount_percentage"],
            "rowValue": {
                "taxRate": r["tax_rate"],
                "taxCode": r["tax_code"],
                "taxCalculator": "brightpearl",
                "rowNet": {**money, "value": r["row_net"]},
                "rowTax": {**money, "value": r["row_tax"]},
                "taxClassId": TAX_CLASS.get(r["tax_code"], 2),
            },
            "nominalCode": r["nominal_code"],
            "composition": {
                "bundleParent": bool(r["bundle_parent"]),
                "bundleChild": bool(r["bundle_child"]),
                "parentOrderRowId": r["parent_order_row_id"],
            },
            "clonedFromId": 0,
        }
    )
    if r["external_ref"]:
        doc["externalRef"] = r["external_ref"]
    return doc


def _order_doc(
    o: sqlite3.Row,
    fmt: Formatter,
    status_names: dict[int, str],
    rows: list[sqlite3.Row],
    addresses: dict[int, dict[str, str]],
    contacts: dict[int, sqlite3.Row],
) -> dict[str, Any]:
    invoiced = bool(o["invoice_reference"])
    doc: dict[str, Any] = {
        "id": o["id"],
        "parentOrderId": o["parent_order_id"],
        "orderTypeCode": o["order_type_code"],
        "reference": o["customer_ref"] or "",
        "version": o["version"],
        "state": {"tax": "INVOICED" if invoiced else "READY"},
        "orderStatus": {"orderStatusId": o["status_id"], "name": status_names.get(o["status_id"], "")},
        "tax": {"errors": []},
        "orderPaymentStatus": o["payment_status"],
        "stockStatusCode": o["stock_status_code"],
        "allocationStatusCode": o["allocation_status_code"],
        "shippingStatusCode": o["shipping_status_code"],
        "placedOn": fmt.dt(o["placed_on_ms"] or o["created_ms"]),
        "createdOn": fmt.dt(o["created_ms"]),
        "updatedOn": fmt.dt(o["updated_ms"]),
    }
    if o["closed_ms"] is not None:
        doc["closedOn"] = fmt.dt(o["closed_ms"])
    doc.update(
        {
            "createdById": o["created_by_id"],
            "priceListId": o["price_list_id"] or 0,
            "priceModeCode": o["price_mode_code"],
        }
    )
    delivery: dict[str, Any] = {}
    if o["delivery_date_ms"] is not None:
        delivery["deliveryDate"] = fmt.dt(o["delivery_date_ms"])
    delivery["shippingMethodId"] = o["shipping_method_id"]
    doc["delivery"] = delivery
    invoice: dict[str, Any] = {"invoiceReference": o["invoice_reference"] or ""}
    if o["tax_date_ms"] is not None:
        invoice.update(taxDate=fmt.dt(o["tax_date_ms"]), dueDate=fmt.dt(o["due_date_ms"]))
    doc["invoices"] = [invoice]
    if o["external_ref"]:
        doc["externalRef"] = o["external_ref"]
    if o["installed_integration_instance_id"] is not None:
        doc["installedIntegrationInstanceId"] = o["installed_integration_instance_id"]
    net, tax = money2(o["total_net"]), money2(o["total_tax"])
    rate = o["exchange_rate"]
    base_net, base_tax = to_base(net, rate), to_base(tax, rate)
    doc["currency"] = {
        "accountingCurrencyCode": BASE_CURRENCY,
        "orderCurrencyCode": o["currency_code"],
        "exchangeRate": o["exchange_rate"],
        "fixedExchangeRate": False,
    }
    doc["totalValue"] = {
        "net": net,
        "taxAmount": tax,
        # base (GBP) amounts: each converted and rounded, the total their sum (sandbox choice)
        "baseNet": base_net,
        "baseTaxAmount": base_tax,
        "baseTotal": str(Decimal(base_net) + Decimal(base_tax)),
        "total": money2(o["total_value"]),
    }
    doc["assignment"] = {
        "current": {
            "staffOwnerContactId": o["staff_owner_contact_id"],
            "projectId": 0,
            "channelId": o["channel_id"],
            "leadSourceId": 0,
            "teamId": 0,
        }
    }
    contact = contacts.get(o["contact_id"])
    billing = addresses.get(o["billing_address_id"] or 0, {})
    delivery_addr = addresses.get(o["delivery_address_id"] or 0, billing)
    main_role = "supplier" if o["order_type_code"] in ("PO", "PC") else "customer"
    doc["parties"] = {
        main_role: party(billing, contact, o["contact_id"]),
        "delivery": party(delivery_addr, contact, None),
        "billing": party(billing, contact, o["contact_id"]),
    }
    doc["orderRows"] = {str(r["id"]): _row_doc(r, o["currency_code"]) for r in rows}
    doc.update({"warehouseId": o["warehouse_id"], "acknowledged": 0, "costPriceListId": 1, "historicalOrder": False})
    if o["tax_date_ms"] is not None:
        doc["originalInvoiceDate"] = fmt.dt(o["tax_date_ms"])
    doc["orderWeighting"] = 100
    return doc


def load_orders(store: Store, fmt: Formatter, ids: list[int]) -> list[dict[str, Any]]:
    """Existing (not deleted) orders among `ids`, ascending by id; at most a few hundred ids per call."""
    if not ids:
        return []
    with store.lock:
        conn = store.conn
        orders = conn.execute(
            f"SELECT * FROM orders WHERE id IN ({_marks(ids)}) AND deleted = 0 ORDER BY id", ids
        ).fetchall()
        if not orders:
            return []
        found = [o["id"] for o in orders]
        rows: dict[int, list[sqlite3.Row]] = {}
        for r in conn.execute(
            f"SELECT * FROM order_rows WHERE order_id IN ({_marks(found)}) ORDER BY order_id, sequence, id", found
        ):
            rows.setdefault(r["order_id"], []).append(r)
        addr_ids = sorted({a for o in orders for a in (o["billing_address_id"], o["delivery_address_id"]) if a})
        addresses = {
            i: json.loads(j)
            for i, j in conn.execute(
                f"SELECT id, address_json FROM postal_addresses WHERE id IN ({_marks(addr_ids)})", addr_ids
            )
        }
        contact_ids = sorted({o["contact_id"] for o in orders})
        contacts = {
            c["id"]: c for c in conn.execute(f"SELECT * FROM contacts WHERE id IN ({_marks(contact_ids)})", contact_ids)
        }
        status_names = dict(conn.execute("SELECT id, name FROM order_statuses").fetchall())
    return [_order_doc(o, fmt, status_names, rows.get(o["id"], []), addresses, contacts) for o in orders]
