"""GET /v2/orders and /v2/orders/count query parameters -> SQL (filters from the orders.v2 spec)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bp_sandbox.bigcommerce.errors import invalid_field, not_supported
from bp_sandbox.bigcommerce.formatting import DateParseError, parse_date_ms, to_decimal
from bp_sandbox.bigcommerce.order_format import order_id_from_cart
from bp_sandbox.bigcommerce.storage import Where

PAGING_PARAMS = frozenset({"page", "limit", "sort"})
IGNORED_PARAMS = frozenset({"include", "consignment_structure"})  # accepted; the sandbox has no consignments
SORT_COLUMNS = {
    "id": "id",
    "customer_id": "customer_id",
    "date_created": "date_created_ms",
    "date_modified": "date_modified_ms",
    "status_id": "status_id",
    "channel_id": "channel_id",
    "external_id": "id",  # external_id is always null in the sandbox
}


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise invalid_field(name) from None


def _seconds(name: str, raw: str) -> int:
    # Compare at whole seconds: V2 dates are shown with second precision, so a client that passes
    # back a date it has seen must get that row again.
    try:
        return parse_date_ms(raw) // 1000
    except DateParseError:
        raise invalid_field(name) from None


def _money(name: str, raw: str) -> float:
    try:
        return float(to_decimal(raw))
    except ValueError:
        raise invalid_field(name) from None


_FILTERS: dict[str, Callable[[Where, str, str], None]] = {
    "min_id": lambda w, n, v: w.add("id >= ?", _int(n, v)),
    "max_id": lambda w, n, v: w.add("id <= ?", _int(n, v)),
    "min_total": lambda w, n, v: w.add("CAST(total_inc_tax AS REAL) >= ?", _money(n, v)),
    "max_total": lambda w, n, v: w.add("CAST(total_inc_tax AS REAL) <= ?", _money(n, v)),
    "customer_id": lambda w, n, v: w.add("customer_id = ?", _int(n, v)),
    "email": lambda w, n, v: w.add("lower(json_extract(billing_address_json, '$.email')) = lower(?)", v),
    "status_id": lambda w, n, v: w.add("status_id = ?", _int(n, v)),
    "cart_id": lambda w, n, v: w.add("id = ?", order_id_from_cart(v) or -1),
    "payment_method": lambda w, n, v: w.add("payment_method = ?", v),
    "min_date_created": lambda w, n, v: w.add("date_created_ms / 1000 >= ?", _seconds(n, v)),
    "max_date_created": lambda w, n, v: w.add("date_created_ms / 1000 <= ?", _seconds(n, v)),
    "min_date_modified": lambda w, n, v: w.add("date_modified_ms / 1000 >= ?", _seconds(n, v)),
    "max_date_modified": lambda w, n, v: w.add("date_modified_ms / 1000 <= ?", _seconds(n, v)),
    "channel_id": lambda w, n, v: w.add("channel_id = ?", _int(n, v)),
    "external_order_id": lambda w, n, v: w.add("external_order_id = ?", v),
}


def build_where(params: Mapping[str, str], *, allow_paging: bool, hide_incomplete: bool) -> Where:
    """Unknown names -> 400 "The field 'X' is not supported by this resource." (as BigCommerce answers).

    `hide_incomplete`: lists leave out Incomplete (status 0) orders unless `status_id=0` is asked for
    (real behaviour unconfirmed; see docs/sandbox-bigcommerce.md).
    """
    where = Where(["is_deleted = 0"])
    for name, value in params.items():
        if name in IGNORED_PARAMS or (allow_paging and name in PAGING_PARAMS):
            continue
        apply = _FILTERS.get(name)
        if apply is None:
            if name in PAGING_PARAMS:
                continue  # /count ignores page/limit/sort rather than failing on them
            raise not_supported(name)
        apply(where, name, value)
    if hide_incomplete and "status_id" not in params:
        where.add("status_id != 0")
    return where


def order_by(params: Mapping[str, str]) -> str:
    raw = params.get("sort") or "id"
    name, _, direction = raw.partition(":")
    column = SORT_COLUMNS.get(name.strip())
    direction = (direction or "asc").strip().lower()
    if column is None or direction not in ("asc", "desc"):
        raise invalid_field("sort")
    if column == "id":
        return f"id {direction}"
    return f"{column} {direction}, id {direction}"
