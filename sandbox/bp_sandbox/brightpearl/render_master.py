"""Product, contact and product-availability documents, shaped like the recordings."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..state import Store
from .formatting import Formatter

TEXT = {"languageCode": "en", "text": "", "format": "HTML_FRAGMENT"}


def _marks(values: list[int]) -> str:
    return ",".join("?" * len(values))


def _product_doc(
    p: sqlite3.Row, fmt: Formatter, warehouses: list[int], components: list[tuple[int, int]]
) -> dict[str, Any]:
    identity: dict[str, Any] = {"sku": p["sku"]}
    for key in ("isbn", "ean", "upc", "mpn"):
        if p[key] is not None:
            identity[key] = p[key]
    identity["barcode"] = p["barcode"] or ""
    doc: dict[str, Any] = {
        "id": p["id"],
        "brandId": p["brand_id"],
        "productTypeId": p["product_type_id"],
        "identity": identity,
    }
    if p["product_group_id"] is not None:
        doc["productGroupId"] = p["product_group_id"]
    tracked = bool(p["stock_tracked"])
    doc.update(
        {
            "featured": False,
            "stock": {
                "stockTracked": tracked,
                "weight": {"magnitude": float(p["weight"] or 0)},
                "dimensions": {"length": 0.0, "height": 0.0, "width": 0.0, "volume": 0.0},
            },
            "financialDetails": {"taxable": True, "taxCode": {"id": 2, "code": "T"}},
            "salesChannels": [
                {
                    "salesChannelName": "Brightpearl",
                    "productName": p["name"],
                    "productCondition": "new",
                    "categories": [{"categoryCode": c} for c in p["category_codes"].split(",") if c],
                    "description": dict(TEXT),
                    "shortDescription": dict(TEXT),
                }
            ],
            "composition": {"bundle": bool(p["is_bundle"])},
        }
    )
    if p["is_bundle"]:
        doc["composition"]["bundleComponents"] = [{"productId": c, "productQuantity": q} for c, q in components]
    if p["variations_json"]:
        doc["variations"] = json.loads(p["variations_json"])
    doc.update(
        {
            "createdOn": fmt.dt(p["created_ms"]),
            "updatedOn": fmt.dt(p["updated_ms"]),
            "warehouses": {
                str(w): {"defaultLocationId": 0, "overflowLocationId": 0, "reorderLevel": 0, "reorderQuantity": 0}
                for w in warehouses
            },
            "nominalCodeStock": "1001",
            "nominalCodePurchases": "5000",
            "nominalCodeSales": "4000",
            "seasonIds": [],
            "reporting": {},
            "status": p["status"],
            "salesPopupMessage": "",
            "warehousePopupMessage": "",
            "version": p["version"],
        }
    )
    return doc


def load_products(store: Store, fmt: Formatter, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    with store.lock:
        conn = store.conn
        prods = conn.execute(
            f"SELECT * FROM products WHERE id IN ({_marks(ids)}) AND deleted = 0 ORDER BY id", ids
        ).fetchall()
        found = [p["id"] for p in prods]
        wh: dict[int, list[int]] = {}
        for pid, w in conn.execute(
            f"SELECT product_id, warehouse_id FROM stock WHERE product_id IN ({_marks(found)}) ORDER BY 1, 2", found
        ):
            wh.setdefault(pid, []).append(w)
        comps: dict[int, list[tuple[int, int]]] = {}
        for b, c, q in conn.execute(
            f"SELECT bundle_product_id, component_product_id, quantity FROM "
            f"bundle_components WHERE bundle_product_id IN ({_marks(found)}) ORDER BY 1, 2",
            found,
        ):
            comps.setdefault(b, []).append((c, q))
    return [_product_doc(p, fmt, wh.get(p["id"], []), comps.get(p["id"], [])) for p in prods]


def _contact_doc(c: sqlite3.Row, fmt: Formatter) -> dict[str, Any]:
    emails = {"PRI": {"email": c["email"]}} if c["email"] else {}
    phones = {k: v for k, v in (("PRI", c["phone"]), ("MOB", c["mobile"])) if v}
    organisation: dict[str, Any] = {"organisationId": c["organisation_id"] or c["id"]}
    if c["company_name"]:
        organisation["name"] = c["company_name"]
    trade = "TRADE" if c["is_b2b"] else ("RETAIL" if c["is_customer"] else "UNKNOWN")
    return {
        "contactId": c["id"],
        "isPrimaryContact": True,
        "salutation": c["salutation"] or "",
        "firstName": c["first_name"] or "",
        "lastName": c["last_name"] or "",
        "postAddressIds": {"DEF": c["def_address_id"], "BIL": c["bil_address_id"], "DEL": c["del_address_id"]},
        "communication": {"emails": emails, "telephones": phones, "messagingVoips": {}, "websites": {}},
        "contactStatus": {"current": {"contactStatusId": 0}},
        "relationshipToAccount": {"isSupplier": bool(c["is_supplier"]), "isStaff": bool(c["is_staff"])},
        "marketingDetails": {"isReceiveEmailNewsletter": bool(c["newsletter"])},
        "financialDetails": {
            "priceListId": c["price_list_id"] or 0,
            "nominalCode": "0",
            "creditLimit": _number(c["credit_limit"]),
            "creditTermDays": c["credit_term_days"],
            "currencyId": c["currency_id"] or 1,
            "discountPercentage": 0.0,
            "creditTermTypeId": 1,
        },
        "assignment": {"current": {}},
        "organisation": organisation,
        "tradeStatus": trade,
        "createdByid": 0,
        "createdOn": fmt.dt(c["created_ms"]),
        "updatedOn": fmt.dt(c["updated_ms"]),
        "contactTags": c["contact_tags"],
        "aliases": {},
        # B2B buyers share their organisation; a contact that joined a company (PATCH /companyId) shows it too.
        "companyId": c["organisation_id"] if c["is_b2b"] or c["organisation_id"] != c["id"] else 0,
    }


def _number(value: str) -> int | float:
    f = float(value or 0)
    return int(f) if f.is_integer() else f


def load_contacts(store: Store, fmt: Formatter, ids: list[int], descending: bool = False) -> list[dict[str, Any]]:
    if not ids:
        return []
    order = "DESC" if descending else "ASC"
    rows = store.query(
        f"SELECT * FROM contacts WHERE id IN ({_marks(ids)}) AND deleted = 0 ORDER BY id {order}", tuple(ids)
    )
    return [_contact_doc(c, fmt) for c in rows]


def load_availability(store: Store, ids: list[int]) -> dict[str, Any]:
    """Map product id -> {total, warehouses}; only warehouses holding the product are listed."""
    out: dict[str, Any] = {}
    rows = store.query(
        f"SELECT product_id, warehouse_id, in_stock, allocated, in_transit FROM stock "
        f"WHERE product_id IN ({_marks(ids)}) ORDER BY product_id, warehouse_id",
        tuple(ids),
    )
    by_product: dict[int, list[sqlite3.Row]] = {}
    for r in rows:
        by_product.setdefault(r["product_id"], []).append(r)
    for pid in ids:
        total = {"inStock": 0, "onHand": 0, "allocated": 0, "inTransit": 0}
        warehouses: dict[str, Any] = {}
        for r in by_product.get(pid, []):
            cell = {
                "inStock": r["in_stock"],
                "onHand": r["in_stock"] - r["allocated"],
                "allocated": r["allocated"],
                "inTransit": r["in_transit"],
            }
            warehouses[str(r["warehouse_id"])] = cell
            for k in total:
                total[k] += cell[k]
        out[str(pid)] = {"total": total, "warehouses": warehouses}
    return out
