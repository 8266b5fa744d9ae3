"""Customer groups V2 (customers.v2 spec): list/count/get/create/update/delete.

Creates answer 200 as the spec lists (not 201). A duplicate name is a 409 V2 error (unconfirmed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from bp_sandbox.bigcommerce.errors import (
    ApiError,
    invalid_field,
    not_found,
    not_supported,
    read_only,
    required_missing,
)
from bp_sandbox.bigcommerce.formatting import DateParseError, dumps, group_date, loads_or, parse_date_ms
from bp_sandbox.bigcommerce.gateway import Ctx, Gateway, json_response, no_content
from bp_sandbox.bigcommerce.pagination import v2_page
from bp_sandbox.bigcommerce.storage import Where, now_ms, transaction
from bp_sandbox.state import Store

SELECT = (
    "SELECT g.*, x.discount_rules_json, COALESCE(x.is_group_for_guests, 0) AS is_group_for_guests, "
    "x.date_created_ms, x.date_modified_ms FROM bc_customer_groups g "
    "LEFT JOIN bc_customer_group_extras x ON x.group_id = g.id "
)
READ_ONLY = frozenset({"id", "date_created", "date_modified"})
WRITABLE = frozenset({"name", "is_default", "category_access", "discount_rules", "is_group_for_guests"})
CATEGORY_ACCESS_TYPES = ("all", "specific", "none")
DATE_FILTERS = {
    f"{field}{suffix}": (field, op)
    for field in ("date_created", "date_modified")
    for suffix, op in (("", "="), (":min", ">="), (":max", "<="))
}


def group_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "is_default": bool(row["is_default"]),
        "category_access": loads_or(row["category_access_json"], {"type": "all"}),
        "discount_rules": loads_or(row["discount_rules_json"], []),
        "date_created": group_date(row["date_created_ms"]),
        "date_modified": group_date(row["date_modified_ms"]),
        "is_group_for_guests": bool(row["is_group_for_guests"]),
    }


def _flag(name: str, raw: str) -> int:
    if raw.lower() in ("true", "1"):
        return 1
    if raw.lower() in ("false", "0"):
        return 0
    raise invalid_field(name)


def _where(params: Mapping[str, str]) -> Where:
    where = Where()
    for name, value in params.items():
        if name in ("page", "limit"):
            continue
        if name == "name":
            where.add("lower(g.name) = lower(?)", value)
        elif name == "name:like":
            where.add("lower(g.name) LIKE ?", f"%{value.lower()}%")
        elif name == "is_default":
            where.add("g.is_default = ?", _flag(name, value))
        elif name == "is_group_for_guests":
            where.add("COALESCE(x.is_group_for_guests, 0) = ?", _flag(name, value))
        elif name in DATE_FILTERS:
            field, op = DATE_FILTERS[name]
            try:
                where.add(f"COALESCE(x.{field}_ms, 0) / 1000 {op} ?", parse_date_ms(value) // 1000)
            except DateParseError:
                raise invalid_field(name) from None
        else:
            raise not_supported(name)
    return where


def _load(store: Store, group_id: int) -> sqlite3.Row:
    row = store.query_one(SELECT + "WHERE g.id = ?", (group_id,))
    if row is None:
        raise not_found()
    return row


def list_groups(ctx: Ctx) -> Response:
    page = v2_page(ctx.params)
    where = _where(ctx.params)
    rows = ctx.store.query(
        SELECT + f"WHERE {where.sql} ORDER BY g.id LIMIT ? OFFSET ?", (*where.params, page.limit, page.offset)
    )
    if not rows:
        return no_content()
    return json_response([group_json(r) for r in rows])


def count_groups(ctx: Ctx) -> Response:
    row = ctx.store.query_one("SELECT COUNT(*) FROM bc_customer_groups")
    return json_response({"count": int(row[0]) if row else 0})


def get_group(ctx: Ctx) -> Response:
    return json_response(group_json(_load(ctx.store, int(ctx.path_params["group_id"]))))


def _validated(body: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    for key in body:
        if key in READ_ONLY:
            raise read_only(key)
        if key not in WRITABLE:
            raise not_supported(key)
    if creating and not body.get("name"):
        raise required_missing(["name"])
    if "name" in body and (not isinstance(body["name"], str) or not body["name"].strip()):
        raise invalid_field("name")
    for flag in ("is_default", "is_group_for_guests"):
        if flag in body and not isinstance(body[flag], bool):
            raise invalid_field(flag)
    access = body.get("category_access")
    if access is not None and (not isinstance(access, dict) or access.get("type") not in CATEGORY_ACCESS_TYPES):
        raise invalid_field("category_access")
    if "discount_rules" in body and not isinstance(body["discount_rules"], list):
        raise invalid_field("discount_rules")
    return body


def _check_name(store: Store, name: str, own_id: int | None) -> None:
    row = store.query_one(
        "SELECT id FROM bc_customer_groups WHERE lower(name) = lower(?) AND id != ?", (name.strip(), own_id or -1)
    )
    if row is not None:
        raise ApiError(409, f"A customer group with the name '{name}' already exists.")


def _write(store: Store, group_id: int, body: dict[str, Any], now: int, *, creating: bool) -> None:
    if body.get("is_default"):
        store.execute("UPDATE bc_customer_groups SET is_default = 0 WHERE id != ?", (group_id,))
    for key, column in (("name", "name"), ("is_default", "is_default")):
        if key in body:
            value = body[key].strip() if key == "name" else int(body[key])
            store.execute(f"UPDATE bc_customer_groups SET {column} = ? WHERE id = ?", (value, group_id))
    if "category_access" in body:
        store.execute(
            "UPDATE bc_customer_groups SET category_access_json = ? WHERE id = ?",
            (dumps(body["category_access"]), group_id),
        )
    store.execute(
        "INSERT INTO bc_customer_group_extras (group_id, date_created_ms, date_modified_ms) "
        "VALUES (?, ?, ?) ON CONFLICT(group_id) DO UPDATE SET date_modified_ms = excluded.date_modified_ms",
        (group_id, now if creating else None, now),
    )
    if "discount_rules" in body:
        store.execute(
            "UPDATE bc_customer_group_extras SET discount_rules_json = ? WHERE group_id = ?",
            (dumps(body["discount_rules"]), group_id),
        )
    if "is_group_for_guests" in body:
        store.execute(
            "UPDATE bc_customer_group_extras SET is_group_for_guests = ? WHERE group_id = ?",
            (int(body["is_group_for_guests"]), group_id),
        )


def create_group(ctx: Ctx) -> Response:
    body = _validated(ctx.json(), creating=True)
    with transaction(ctx.store):
        _check_name(ctx.store, body["name"], None)
        cursor = ctx.store.execute("INSERT INTO bc_customer_groups (name) VALUES (?)", (body["name"].strip(),))
        group_id = int(cursor.lastrowid or 0)
        _write(ctx.store, group_id, body, now_ms(ctx.store), creating=True)
    return json_response(group_json(_load(ctx.store, group_id)))


def update_group(ctx: Ctx) -> Response:
    group_id = int(ctx.path_params["group_id"])
    body = _validated(ctx.json(), creating=False)
    with transaction(ctx.store):
        _load(ctx.store, group_id)
        if "name" in body:
            _check_name(ctx.store, body["name"], group_id)
        _write(ctx.store, group_id, body, now_ms(ctx.store), creating=False)
    return json_response(group_json(_load(ctx.store, group_id)))


def delete_group(ctx: Ctx) -> Response:
    group_id = int(ctx.path_params["group_id"])
    with transaction(ctx.store):
        _load(ctx.store, group_id)
        ctx.store.execute("DELETE FROM bc_customer_groups WHERE id = ?", (group_id,))
        ctx.store.execute("DELETE FROM bc_customer_group_extras WHERE group_id = ?", (group_id,))
        ctx.store.execute("UPDATE bc_customers SET customer_group_id = 0 WHERE customer_group_id = ?", (group_id,))
    return no_content()


def routes(gw: Gateway) -> list[Route]:
    return [
        gw.route("/v2/customer_groups", GET=list_groups, POST=create_group),
        gw.route("/v2/customer_groups/count", GET=count_groups),
        gw.route("/v2/customer_groups/{group_id:int}", GET=get_group, PUT=update_group, DELETE=delete_group),
    ]
