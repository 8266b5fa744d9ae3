"""Customers V3: GET (filters + offset paging), POST/PUT batches of at most 10, DELETE by `id:in`."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from bp_sandbox.bigcommerce import customer_rules as rules
from bp_sandbox.bigcommerce.errors import ApiError
from bp_sandbox.bigcommerce.formatting import DateParseError, dumps, parse_date_ms
from bp_sandbox.bigcommerce.gateway import Ctx, Gateway, json_response, no_content
from bp_sandbox.bigcommerce.pagination import csv_ints, placeholders, split_csv, v3_meta, v3_page
from bp_sandbox.bigcommerce.storage import Where, now_ms, transaction
from bp_sandbox.state import Store

SELECT = (
    "SELECT c.*, x.extras_json AS extras_json FROM bc_customers c "
    "LEFT JOIN bc_customer_extras x ON x.customer_id = c.id "
)
SORTS = {"date_created": "c.date_created_ms", "date_modified": "c.date_modified_ms", "last_name": "c.last_name"}


def _bad_filter(name: str) -> ApiError:
    return ApiError(422, "The filter parameter was not valid.", errors={name: f"invalid value for {name}"})


def _in_filter(where: Where, params: Mapping[str, str], name: str, column: str, *, lower: bool = False) -> None:
    values = split_csv(params.get(name))
    if values:
        if lower:
            values = [v.lower() for v in values]
        where.add(f"{column} IN ({placeholders(values)})", *values)


def _where(params: Mapping[str, str]) -> Where:
    where = Where()
    for name, column in (("id:in", "c.id"), ("customer_group_id:in", "c.customer_group_id")):
        ids = csv_ints(params, name)
        if ids:
            where.add(f"{column} IN ({placeholders(ids)})", *ids)
    _in_filter(where, params, "email:in", "lower(c.email)", lower=True)
    _in_filter(where, params, "company:in", "lower(c.company)", lower=True)
    _in_filter(where, params, "phone:in", "c.phone")
    _in_filter(where, params, "name:in", "lower(c.first_name || ' ' || c.last_name)", lower=True)
    for needle in split_csv(params.get("name:like")):
        where.add("lower(c.first_name || ' ' || c.last_name) LIKE ?", f"%{needle.lower()}%")
    for field in ("date_created", "date_modified"):
        for suffix, op in (("", "="), (":min", ">="), (":max", "<=")):
            raw = params.get(field + suffix)
            if raw:
                try:
                    where.add(f"c.{field}_ms / 1000 {op} ?", parse_date_ms(raw) // 1000)
                except DateParseError:
                    raise _bad_filter(field + suffix) from None
    return where


def _order_by(params: Mapping[str, str]) -> str:
    raw = params.get("sort")
    if not raw:
        return "c.id ASC"
    name, _, direction = raw.partition(":")
    if name not in SORTS or direction not in ("asc", "desc"):
        raise _bad_filter("sort")
    return f"{SORTS[name]} {direction.upper()}, c.id {direction.upper()}"


def _render(rows: list[sqlite3.Row], include: set[str]) -> list[dict[str, Any]]:
    return [rules.customer_json(r, r["extras_json"], include) for r in rows]


def list_customers(ctx: Ctx) -> Response:
    params = ctx.params
    page = v3_page(params)
    where = _where(params)
    total = int(ctx.store.query_one(f"SELECT COUNT(*) FROM bc_customers c WHERE {where.sql}", tuple(where.params))[0])
    rows = ctx.store.query(
        SELECT + f"WHERE {where.sql} ORDER BY {_order_by(params)} LIMIT ? OFFSET ?",
        (*where.params, page.limit, page.offset),
    )
    data = _render(rows, set(split_csv(params.get("include"))))
    return json_response({"data": data, "meta": v3_meta(page, total, len(data))})


def _context(store: Store) -> tuple[dict[str, int], set[int], set[int]]:
    emails = {str(r["e"]): int(r["id"]) for r in store.query("SELECT lower(email) AS e, id FROM bc_customers")}
    ids = set(emails.values())
    groups = {int(r["id"]) for r in store.query("SELECT id FROM bc_customer_groups")}
    return emails, ids, groups


def load_customers(store: Store, ids: list[int]) -> list[dict[str, Any]]:
    rows = store.query(SELECT + f"WHERE c.id IN ({placeholders(ids)}) ORDER BY c.id", tuple(ids))
    return _render(rows, set(rules.INCLUDES))


def _save_extras(store: Store, customer_id: int, extras: dict[str, Any]) -> None:
    store.execute(
        "INSERT INTO bc_customer_extras (customer_id, extras_json) VALUES (?, ?) "
        "ON CONFLICT(customer_id) DO UPDATE SET extras_json = excluded.extras_json",
        (customer_id, dumps(extras)),
    )


def create_customers(ctx: Ctx) -> Response:
    items = rules.check_batch(ctx.json(), "Create")
    created: list[int] = []
    with transaction(ctx.store):
        emails, ids, groups = _context(ctx.store)
        rules.validate(items, creating=True, emails_in_use=emails, existing_ids=ids, group_ids=groups)
        now = now_ms(ctx.store)
        for item in items:
            auth = item.get("authentication") if isinstance(item.get("authentication"), dict) else {}
            cursor = ctx.store.execute(
                "INSERT INTO bc_customers (email, first_name, last_name, company, phone, notes, customer_group_id, "
                "force_password_reset, origin_channel_id, date_created_ms, date_modified_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item["email"].strip(),
                    item["first_name"],
                    item["last_name"],
                    item.get("company", ""),
                    item.get("phone", ""),
                    item.get("notes", ""),
                    int(item.get("customer_group_id") or 0),
                    int(bool(auth.get("force_password_reset"))),
                    int(item.get("origin_channel_id") or 1),
                    now,
                    now,
                ),
            )
            customer_id = int(cursor.lastrowid or 0)
            _save_extras(ctx.store, customer_id, rules.merged_extras(None, item, customer_id, creating=True))
            created.append(customer_id)
    return json_response({"data": load_customers(ctx.store, created), "meta": {}})


def update_customers(ctx: Ctx) -> Response:
    items = rules.check_batch(ctx.json(), "Update")
    with transaction(ctx.store):
        emails, ids, groups = _context(ctx.store)
        rules.validate(items, creating=False, emails_in_use=emails, existing_ids=ids, group_ids=groups)
        now = now_ms(ctx.store)
        for item in items:
            changes: dict[str, Any] = {
                k: item[k]
                for k in ("email", "first_name", "last_name", "company", "phone", "notes", "customer_group_id")
                if k in item
            }
            auth = item.get("authentication")
            if isinstance(auth, dict) and "force_password_reset" in auth:
                changes["force_password_reset"] = int(bool(auth["force_password_reset"]))
            changes["date_modified_ms"] = now
            sets = ", ".join(f"{k} = ?" for k in changes)
            ctx.store.execute(f"UPDATE bc_customers SET {sets} WHERE id = ?", (*changes.values(), item["id"]))
            row = ctx.store.query_one("SELECT extras_json FROM bc_customer_extras WHERE customer_id = ?", (item["id"],))
            extras = rules.merged_extras(row["extras_json"] if row else None, item, item["id"], creating=False)
            _save_extras(ctx.store, item["id"], extras)
    return json_response({"data": load_customers(ctx.store, [int(i["id"]) for i in items]), "meta": {}})


def delete_customers(ctx: Ctx) -> Response:
    ids = csv_ints(ctx.params, "id:in")
    if ids:  # no id:in -> 204 and nothing deleted (reference §6)
        with transaction(ctx.store):
            ctx.store.execute(f"DELETE FROM bc_customers WHERE id IN ({placeholders(ids)})", tuple(ids))
            ctx.store.execute(f"DELETE FROM bc_customer_extras WHERE customer_id IN ({placeholders(ids)})", tuple(ids))
    return no_content()


def routes(gw: Gateway) -> list[Route]:
    return [
        gw.route(
            "/v3/customers", GET=list_customers, POST=create_customers, PUT=update_customers, DELETE=delete_customers
        )
    ]
