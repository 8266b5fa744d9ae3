"""Contact writes: `POST contact-service/postal-address` and `POST contact-service/contact` (responses
`{"response": id}`; the contact response shape is unconfirmed — sandbox choice), `PATCH contact-service/contact/{id}`,
`GET contact-service/postal-address/{ids}`, `PUT contact-service/postal-address/{id}`,
`PUT contact-service/contact/{id}/postal-address`, `POST contact-service/company` (shapes as documented:
AD:contact/postal-address/get|put.html, contact-postal-address/put.html, company/post.html). Validation codes
CMNC-400/CONC-0xx are sandbox choices (docs/sandbox.md).
"""

from __future__ import annotations

import json
from typing import Any

from ..generator.mutations import next_id
from ..generator.vocab import COUNTRIES
from .envelope import BpResponse, bad_request, ok
from .router import Ctx, Route, id_list

ISO3 = {v[2]: k for k, v in COUNTRIES.items()}
BY_COUNTRY_ID = {v[0]: k for k, v in COUNTRIES.items()}


def address_from_body(body: dict[str, Any], where: str = "") -> dict[str, str]:
    """The stored form of an address body (country as ISO-2, the vocabulary's key). `where` prefixes the field
    names in errors, e.g. "delivery.address." for a sales-order address."""
    if not body.get("addressLine1"):
        raise bad_request(f"{where}addressLine1 is required", "CONC-010")
    # As documented (AD:contact/postal-address/post.html): countryIsoCode is the country's 3 character ISO code;
    # two letters are refused rather than guessed, like any other code the account does not know.
    given = str(body.get("countryIsoCode") or "").strip()
    if given and len(given) != 3:
        raise bad_request(
            f"{where}countryIsoCode must be the country's 3 character ISO code (e.g. GBR), not {given!r}", "CONC-011"
        )
    iso = ISO3.get(given.upper(), "") if given else ""
    if not iso and body.get("countryId") is not None:
        iso = BY_COUNTRY_ID.get(int(body["countryId"]), "")
    if not iso:
        raise bad_request(f"A valid {where}countryIsoCode or {where}countryId is required", "CONC-011")
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


# JSON-Patch paths `PATCH contact-service/contact/{id}` accepts (`/firstName` and `/lastName` are recorded; the
# telephone paths and `/companyId` are documented, AD:contact/contact/patch.html).
PATCHABLE = {
    "/firstName": "first_name",
    "/lastName": "last_name",
    "/communication/telephones/PRI": "phone",
    "/communication/telephones/MOB": "mobile",
    "/companyId": "organisation_id",
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
            if path == "/companyId":
                _join_company(conn, contact_id, op.get("value"), now)
                continue
            value = str(op.get("value") or "")
            if path in ("/firstName", "/lastName") and len(value) > 32:
                raise bad_request(f"{path[1:]} must be at most 32 characters", "CONC-012")
            conn.execute(
                f"UPDATE contacts SET {PATCHABLE[path]} = ?, updated_ms = ? WHERE id = ?", (value, now, contact_id)
            )
    return ok(load_contacts(ctx.store, ctx.fmt, [contact_id])[0])


def _join_company(conn: Any, contact_id: int, value: Any, now: int) -> None:
    """`/companyId`: the contact joins a company (one written by `POST contact-service/company`, or a generated B2B
    organisation); its organisation name becomes the company's."""
    if type(value) is not int or value <= 0:
        raise bad_request(f"companyId must be a company id, got {value!r}", "CONC-016")
    row = (
        conn.execute("SELECT name FROM companies WHERE id = ?", (value,)).fetchone()
        or conn.execute(
            "SELECT company_name FROM contacts WHERE organisation_id = ? AND company_name IS NOT NULL LIMIT 1", (value,)
        ).fetchone()
    )
    if row is None:
        raise bad_request(f"Company {value} does not exist", "CONC-017")
    conn.execute(
        "UPDATE contacts SET organisation_id = ?, company_name = ?, updated_ms = ? WHERE id = ?",
        (value, row[0], now, contact_id),
    )


def post_company(ctx: Ctx) -> BpResponse:
    body = ctx.json()
    name = str(body.get("name") or "").strip() if isinstance(body, dict) else ""
    if not 1 <= len(name) <= 64:
        raise bad_request("name is required (1 to 64 characters)", "CONC-018")
    with ctx.store.transaction() as conn:
        # Ids above every organisation id in use (generated organisations share the id space).
        used = conn.execute("SELECT max(organisation_id) FROM contacts").fetchone()[0] or 0
        company_id = max(next_id(conn, "companies"), used + 1)
        conn.execute("INSERT INTO companies VALUES (?, ?)", (company_id, name))
    return ok(company_id)


def _address_doc(address_id: int, stored: str, contact_id: int) -> dict[str, Any]:
    a = json.loads(stored)
    iso2 = str(a.get("countryIsoCode") or "")
    country = COUNTRIES.get(iso2)
    doc: dict[str, Any] = {"addressId": address_id, "contactId": contact_id}
    # As documented: empty lines are left out.
    doc |= {k: a[k] for k in ("addressLine1", "addressLine2", "addressLine3", "addressLine4", "postalCode") if a.get(k)}
    if country is not None:
        doc |= {"countryIsoCode": country[2], "countryIsoCode2": iso2, "countryId": country[0]}
    return doc


def get_postal_addresses(ctx: Ctx) -> BpResponse:
    ids = id_list(ctx.args[0], 200, "postal addresses")
    marks = ",".join("?" * len(ids))
    rows = ctx.store.query(
        f"SELECT id, address_json FROM postal_addresses WHERE id IN ({marks}) ORDER BY id", tuple(ids)
    )
    owners: dict[int, int] = {}
    for cid, d, b, e in ctx.store.query(
        f"SELECT id, def_address_id, bil_address_id, del_address_id FROM contacts WHERE def_address_id IN ({marks}) "
        f"OR bil_address_id IN ({marks}) OR del_address_id IN ({marks})",
        tuple(ids * 3),
    ):
        for address_id in (d, b, e):
            owners.setdefault(address_id, cid)
    return ok([_address_doc(r[0], r[1], owners.get(r[0], 0)) for r in rows])


def put_postal_address(ctx: Ctx) -> BpResponse:
    address_id = int(ctx.args[0])
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object", "CMNC-010")
    doc = address_from_body(body)
    with ctx.store.transaction() as conn:
        old = conn.execute("SELECT address_json FROM postal_addresses WHERE id = ?", (address_id,)).fetchone()
        if old is None:
            raise bad_request(f"Postal address {address_id} does not exist", "CONC-014")
        # Orders keep the address they were placed with (Brightpearl copies it onto the order): they move to a copy.
        copy_id = next_id(conn, "postal_addresses")
        conn.execute("INSERT INTO postal_addresses VALUES (?, ?)", (copy_id, old[0]))
        conn.execute("UPDATE orders SET billing_address_id = ? WHERE billing_address_id = ?", (copy_id, address_id))
        conn.execute("UPDATE orders SET delivery_address_id = ? WHERE delivery_address_id = ?", (copy_id, address_id))
        merged = json.dumps({**json.loads(old[0]), **doc}, ensure_ascii=False)
        conn.execute("UPDATE postal_addresses SET address_json = ? WHERE id = ?", (merged, address_id))
        now = ctx.store.now_ms()
        conn.execute("UPDATE contacts SET address_json = ? WHERE def_address_id = ?", (merged, address_id))
        conn.execute(
            "UPDATE contacts SET updated_ms = ? WHERE ? IN (def_address_id, bil_address_id, del_address_id)",
            (now, address_id),
        )
    return ok({})


ROLE_COLUMNS = {"DEF": "def_address_id", "BIL": "bil_address_id", "DEL": "del_address_id"}


def put_contact_postal_addresses(ctx: Ctx) -> BpResponse:
    """Associate addresses with a contact: `[{"postalAddressId": 220, "type": "DEL"}, ...]`; all or nothing."""
    contact_id = int(ctx.args[0])
    body = ctx.json()
    if not isinstance(body, list) or not body:
        raise bad_request("The request body must be a non-empty list of associations", "CMNC-010")
    with ctx.store.transaction() as conn:
        if conn.execute("SELECT 1 FROM contacts WHERE id = ? AND deleted = 0", (contact_id,)).fetchone() is None:
            raise bad_request(f"Contact {contact_id} not found", "CONC-015")
        updates = []
        for item in body:
            address_id = item.get("postalAddressId") if isinstance(item, dict) else None
            role = item.get("type") if isinstance(item, dict) else None
            if type(address_id) is not int or role not in (None, *ROLE_COLUMNS):
                raise bad_request(f"Unsupported association {item!r}", "CMNC-400")
            if conn.execute("SELECT 1 FROM postal_addresses WHERE id = ?", (address_id,)).fetchone() is None:
                raise bad_request(f"Postal address {address_id} does not exist", "CONC-014")
            other = conn.execute(
                "SELECT id FROM contacts WHERE id <> ? AND ? IN (def_address_id, bil_address_id, del_address_id)",
                (contact_id, address_id),
            ).fetchone()
            if other is not None:
                raise bad_request(f"Postal address {address_id} belongs to contact {other[0]}", "CONC-019")
            if role is not None:
                updates.append((ROLE_COLUMNS[role], address_id))
        now = ctx.store.now_ms()
        for column, address_id in updates:
            conn.execute(
                f"UPDATE contacts SET {column} = ?, updated_ms = ? WHERE id = ?", (address_id, now, contact_id)
            )
            if column == "def_address_id":
                conn.execute(
                    "UPDATE contacts SET address_json = (SELECT address_json FROM postal_addresses WHERE id = ?) "
                    "WHERE id = ?",
                    (address_id, contact_id),
                )
    return ok({})


def contact_routes() -> list[Route]:
    return [
        Route("POST", "contact-service/postal-address", post_postal_address, "post-postal-address"),
        Route("GET", "contact-service/postal-address/{ids}", get_postal_addresses, "get-postal-address"),
        Route("PUT", "contact-service/postal-address/{id}", put_postal_address, "put-postal-address"),
        Route("POST", "contact-service/contact", post_contact, "post-contact"),
        Route("PATCH", "contact-service/contact/{id}", patch_contact, "patch-contact"),
        Route(
            "PUT",
            "contact-service/contact/{id}/postal-address",
            put_contact_postal_addresses,
            "put-contact-postal-address",
        ),
        Route("POST", "contact-service/company", post_company, "post-company"),
    ]
