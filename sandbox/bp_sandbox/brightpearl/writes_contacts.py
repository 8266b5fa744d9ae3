"""`POST contact-service/postal-address` and `POST contact-service/contact` (responses `{"response": id}`;
the contact response shape is unconfirmed — sandbox choice). Validation codes CMNC-400/CONC-0xx are sandbox
choices (docs/sandbox.md).
"""

from __future__ import annotations

import json
from typing import Any

from ..generator.mutations import next_id
from ..generator.vocab import COUNTRIES
from .envelope import BpResponse, bad_request, ok
from .router import Ctx, Route

ISO3 = {v[2]: k for k, v in COUNTRIES.items()}
BY_COUNTRY_ID = {v[0]: k for k, v in COUNTRIES.items()}


def address_from_body(body: dict[str, Any]) -> dict[str, str]:
    if not body.get("addressLine1"):
        raise bad_request("addressLine1 is required", "CONC-010")
    iso = str(body.get("countryIsoCode") or "")
    if len(iso) == 3:
        iso = ISO3.get(iso.upper(), "")
    if not iso and body.get("countryId") is not None:
        iso = BY_COUNTRY_ID.get(int(body["countryId"]), "")
    if not iso:
        raise bad_request("A valid countryIsoCode or countryId is required", "CONC-011")
    return {
        k: str(body.get(k) or "")
        for k in ("addressLine1", "addressLine2", "addressLine3", "addressLine4", "postalCode")
    } | {"countryIsoCode": iso.upper()}


def post_postal_address(ctx: Ctx) -> BpResponse:
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object", "CMNC-010")
    doc = address_from_body(body)
    with ctx.store.transaction() as conn:
        address_id = next_id(conn, "postal_addresses")
        conn.execute("INSERT INTO postal_addresses VALUES (?, ?)", (address_id, json.dumps(doc, ensure_ascii=False)))
    return ok(address_id)


def _name(body: dict[str, Any], key: str) -> str:
    value = str(body.get(key) or "")
    if len(value) > 32:
        raise bad_request(f"{key} must be at most 32 characters", "CONC-012")
    return value


def post_contact(ctx: Ctx) -> BpResponse:
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object", "CMNC-010")
    first, last = _name(body, "firstName"), _name(body, "lastName")
    company = str(((body.get("organisation") or {}).get("name")) or "")
    if not (first or last or company):
        raise bad_request("A contact needs a firstName, lastName or organisation name", "CONC-013")
    comm = body.get("communication") or {}
    email = (((comm.get("emails") or {}).get("PRI")) or {}).get("email")
    phones = comm.get("telephones") or {}
    rel = body.get("relationshipToAccount") or {}
    fin = body.get("financialDetails") or {}
    ids = body.get("postAddressIds") or {}
    supplier, staff = bool(rel.get("isSupplier")), bool(rel.get("isStaff"))
    now = ctx.store.now_ms()
    with ctx.store.transaction() as conn:
        addresses = {}
        for role in ("DEF", "BIL", "DEL"):
            if ids.get(role) is not None:
                row = conn.execute("SELECT address_json FROM postal_addresses WHERE id = ?", (ids[role],)).fetchone()
                if row is None:
                    raise bad_request(f"Postal address {ids[role]} ({role}) does not exist", "CONC-014")
                addresses[role] = (int(ids[role]), row[0])
        default = addresses.get("DEF") or next(iter(addresses.values()), (None, None))
        contact_id = next_id(conn, "contacts", 200)
        conn.execute(
            "INSERT INTO contacts (id, salutation, first_name, last_name, email, company_name, organisation_id, "
            "is_customer, is_supplier, is_staff, is_b2b, price_list_id, credit_limit, credit_term_days, currency_id, "
            "phone, mobile, address_json, created_ms, updated_ms, def_address_id, bil_address_id, del_address_id, "
            "newsletter) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                contact_id,
                str(body.get("salutation") or ""),
                first,
                last,
                email,
                company or None,
                contact_id,
                int(not supplier and not staff),
                int(supplier),
                int(staff),
                int(bool(company) and not supplier),
                int(fin.get("priceListId") or 2),
                str(fin.get("creditLimit") or "0"),
                int(fin.get("creditTermDays") or 0),
                1,
                phones.get("PRI") or "",
                phones.get("MOB") or "",
                default[1],
                now,
                now,
                default[0],
                (addresses.get("BIL") or default)[0],
                (addresses.get("DEL") or default)[0],
                int(bool((body.get("marketingDetails") or {}).get("isReceiveEmailNewsletter"))),
            ),
        )
    return ok(contact_id)


# JSON-Patch paths `PATCH contact-service/contact/{id}` accepts (sandbox choice: `/firstName` and `/lastName` are
# recorded; the telephone paths follow the contact's document shape and are unconfirmed).
PATCHABLE = {
    "/firstName": "first_name",
    "/lastName": "last_name",
    "/communication/telephones/PRI": "phone",
    "/communication/telephones/MOB": "mobile",
}


def patch_contact(ctx: Ctx) -> BpResponse:
    from .render_master import load_contacts

    contact_id = int(ctx.args[0])
    ops = ctx.json()
    if not isinstance(ops, list) or not ops:
        raise bad_request("The request body must be a non-empty JSON-Patch array", "CMNC-010")
    now = ctx.store.now_ms()
    with ctx.store.transaction() as conn:
        if conn.execute("SELECT 1 FROM contacts WHERE id = ? AND deleted = 0", (contact_id,)).fetchone() is None:
            raise bad_request(f"Contact {contact_id} not found", "CONC-015")
        for op in ops:
            path = op.get("path") if isinstance(op, dict) else None
            if not isinstance(op, dict) or op.get("op") != "replace" or path not in PATCHABLE:
                raise bad_request(f"Unsupported patch operation {op!r}", "CMNC-400")
            value = str(op.get("value") or "")
            if path in ("/firstName", "/lastName") and len(value) > 32:
                raise bad_request(f"{path[1:]} must be at most 32 characters", "CONC-012")
            conn.execute(
                f"UPDATE contacts SET {PATCHABLE[path]} = ?, updated_ms = ? WHERE id = ?", (value, now, contact_id)
            )
    return ok(load_contacts(ctx.store, ctx.fmt, [contact_id])[0])


def contact_routes() -> list[Route]:
    return [
        Route("POST", "contact-service/postal-address", post_postal_address, "post-postal-address"),
        Route("POST", "contact-service/contact", post_contact, "post-contact"),
        Route("PATCH", "contact-service/contact/{id}", patch_contact, "patch-contact"),
    ]
