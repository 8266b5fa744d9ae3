"""Customers V3: the customer JSON (`customer_Full`) and validation of POST/PUT batches.

Batches are all-or-nothing: any invalid item rejects the whole request with one 422 whose `errors`
are keyed `"<index>.<field>"`. Duplicate emails (case-insensitive, against the store and within the
batch) are a 422 too: the management API documents only 413/422 (409 is unconfirmed).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from bp_sandbox.bigcommerce.errors import ApiError
from bp_sandbox.bigcommerce.formatting import iso8601, loads_or

MAX_BATCH = 10
REQUIRED = ("email", "first_name", "last_name")
MAX_LENGTHS = {
    "email": 250,
    "first_name": 100,
    "last_name": 100,
    "company": 255,
    "phone": 50,
    "notes": 65535,
    "tax_exempt_category": 255,
}
READ_ONLY_POST = frozenset(
    {"id", "date_created", "date_modified", "address_count", "attribute_count", "registration_ip_address"}
)
READ_ONLY_PUT = frozenset(
    {
        "registration_ip_address",
        "date_created",
        "date_modified",
        "origin_channel_id",
        "address_count",
        "attribute_count",
    }
)
EXTRA_FIELDS = (
    "tax_exempt_category",
    "accepts_product_review_abandoned_cart_emails",
    "channel_ids",
    "store_credit_amounts",
)
ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "state_or_province",
    "postal_code",
    "country_code",
    "phone",
    "address_type",
)
INCLUDES = {
    "addresses": "addresses",
    "storecredit": "store_credit_amounts",
    "attributes": "attributes",
    "formfields": "form_fields",
}


def customer_json(row: sqlite3.Row, extras_json: str | None, include: set[str]) -> dict[str, Any]:
    extras = loads_or(extras_json, {})
    addresses = extras.get("addresses") or []
    attributes = extras.get("attributes") or []
    body: dict[str, Any] = {
        "id": int(row["id"]),
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "company": row["company"],
        "phone": row["phone"],
        "registration_ip_address": extras.get("registration_ip_address", ""),
        "notes": row["notes"],
        "tax_exempt_category": extras.get("tax_exempt_category", ""),
        "customer_group_id": int(row["customer_group_id"]),
        "date_modified": iso8601(row["date_modified_ms"]),
        "date_created": iso8601(row["date_created_ms"]),
        "address_count": len(addresses),
        "attribute_count": len(attributes),
        "authentication": {"force_password_reset": bool(row["force_password_reset"])},
        "accepts_product_review_abandoned_cart_emails": bool(
            extras.get("accepts_product_review_abandoned_cart_emails", False)
        ),
        "origin_channel_id": int(row["origin_channel_id"]),
        "channel_ids": extras.get("channel_ids"),
    }
    values = {
        "addresses": addresses,
        "store_credit_amounts": extras.get("store_credit_amounts") or [],
        "attributes": attributes,
        "form_fields": extras.get("form_fields") or [],
    }
    for name, field in INCLUDES.items():
        if name in include:
            body[field] = values[field]
    return body


def _check_text(errors: dict[str, str], index: int, item: dict[str, Any], field: str) -> None:
    if field not in item:
        return
    value = item[field]
    if not isinstance(value, str) or len(value) > MAX_LENGTHS[field]:
        errors[f"{index}.{field}"] = f"{field} must be a string of at most {MAX_LENGTHS[field]} characters"


def _check_email(errors: dict[str, str], index: int, value: Any) -> str | None:
    if not isinstance(value, str) or "@" not in value or not 3 <= len(value) <= MAX_LENGTHS["email"]:
        errors[f"{index}.email"] = "email must be a valid email address"
        return None
    return value.strip().lower()


def check_batch(body: Any, op: str) -> list[dict[str, Any]]:
    """Shape checks shared by POST and PUT: a JSON array of 1..10 objects."""
    if not isinstance(body, list):
        raise ApiError(422, f"{op} customers failed.", errors={"body": "The request body must be a JSON array."})
    if len(body) > MAX_BATCH:
        raise ApiError(413, f"The request payload is too large. The maximum items allowed in the array is {MAX_BATCH}.")
    if not body:
        raise ApiError(422, f"{op} customers failed.", errors={"body": "The array must hold at least one customer."})
    bad = {f"{i}": "each customer must be an object" for i, item in enumerate(body) if not isinstance(item, dict)}
    if bad:
        raise ApiError(422, f"{op} customers failed.", errors=bad)
    return body


def validate(
    items: list[dict[str, Any]],
    *,
    creating: bool,
    emails_in_use: dict[str, int],
    existing_ids: set[int],
    group_ids: set[int],
) -> None:
    """Raise one 422 naming every bad field; `emails_in_use` maps lower(email) -> customer id."""
    errors: dict[str, str] = {}
    missing = False
    seen: dict[str, int] = {}
    read_only = READ_ONLY_POST if creating else READ_ONLY_PUT
    for index, item in enumerate(items):
        for field in sorted(read_only & item.keys()):
            errors[f"{index}.{field}"] = f"The field '{field}' is read-only."
        if creating:
            for field in REQUIRED:
                if field not in item or item[field] in (None, ""):
                    errors[f"{index}.{field}"] = f"{field} is required"
                    missing = True
            own_id = None
        else:
            own_id = item.get("id")
            if isinstance(own_id, bool) or not isinstance(own_id, int):
                errors[f"{index}.id"] = "id is required"
                missing = True
            elif own_id not in existing_ids:
                errors[f"{index}.id"] = f"Customer {own_id} does not exist."
        for field in ("first_name", "last_name", "company", "phone", "notes", "tax_exempt_category"):
            if f"{index}.{field}" not in errors:
                _check_text(errors, index, item, field)
        if "email" in item and f"{index}.email" not in errors:
            email = _check_email(errors, index, item["email"])
            if email is not None:
                holder = emails_in_use.get(email)
                if (holder is not None and holder != own_id) or email in seen:
                    errors[f"{index}.email"] = (
                        f"The email address '{item['email']}' is already in use by another customer."
                    )
                seen[email] = index
        group = item.get("customer_group_id")
        if group is not None and (
            isinstance(group, bool) or not isinstance(group, int) or (group != 0 and group not in group_ids)
        ):
            errors[f"{index}.customer_group_id"] = f"Customer group {group} does not exist."
    if errors:
        op = "Create" if creating else "Update"
        raise ApiError(422, "Missing Required Fields" if missing else f"{op} customers failed.", errors=errors)


def merged_extras(
    current_json: str | None, item: dict[str, Any], customer_id: int, *, creating: bool
) -> dict[str, Any]:
    """Fields kept in bc_customer_extras; on PUT sub-resources (addresses, attributes) are not updated."""
    extras = loads_or(current_json, {})
    for field in EXTRA_FIELDS:
        if field in item:
            extras[field] = item[field]
    if creating:
        addresses = []
        for n, raw in enumerate(item.get("addresses") or [], start=1):
            address = {k: raw.get(k, "") for k in ADDRESS_FIELDS if isinstance(raw, dict)}
            address.update(
                {
                    "id": customer_id * 100 + n,
                    "customer_id": customer_id,
                    "country": address.get("country_code", ""),
                    "form_fields": [],
                }
            )
            addresses.append(address)
        extras["addresses"] = addresses
        extras["attributes"] = item.get("attributes") or []
        extras["form_fields"] = item.get("form_fields") or []
    return extras
