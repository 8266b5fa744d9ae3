"""Where the order import reads storefront orders: the warehouse's schema `storefront`, as `storefront_extract`
left it (orders, lines, shipping addresses). Planning makes no API call.

One query per plan: importable orders (status in `import.statuses`, not deleted, optionally modified in a window)
anti-joined with the ledger on the deterministic push id, so planning costs what is new, not the history. Each
order comes back with the field names of the BigCommerce V2 order (money as decimal text, dates as RFC-2822),
the same shape the ledger's `desired` has always held, so the import engine reads every row alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb


@dataclass(frozen=True)
class StorefrontOrder:
    order: dict[str, Any]  # V2 order field names: id, customer_id, billing_address{...}, date_created, ...
    products: list[dict[str, Any]]
    shipping_addresses: list[dict[str, Any]]

    @property
    def id(self) -> int:
        return int(self.order["id"])


# V2 dates: RFC-2822, always UTC. Money as the exact decimal text (DECIMAL -> VARCHAR), never through float.
_V2_DATE = "strftime({} AT TIME ZONE 'UTC', '%a, %d %b %Y %H:%M:%S +0000')"


def _date(column: str) -> str:
    return _V2_DATE.format(column)


def _money(column: str) -> str:
    return f"CAST({column} AS VARCHAR)"


_SQL = f"""
WITH todo AS (
    SELECT o.* FROM storefront.orders o
    WHERE NOT coalesce(o.is_deleted, false) AND o.status_id IN (SELECT unnest($statuses))
      AND ($modified_from IS NULL OR o.date_modified >= $modified_from)
      AND ($modified_to IS NULL OR o.date_modified < $modified_to)
      AND @LEDGER@
),
lines AS (
    SELECT p.order_id, list({{
        'id': p.order_product_id, 'product_id': p.product_id, 'variant_id': p.variant_id,
        'order_address_id': p.order_address_id, 'sku': p.sku,
        -- the line's UPC, else its catalog variant's (import.match_on: upc); EAN: order lines carry none, the
        -- catalog variant's GTIN holds it (import.match_on: ean)
        'upc': coalesce(nullif(trim(p.upc), ''), v.upc), 'ean': nullif(trim(v.gtin), ''), 'name': p.name, 'type': p.type, 'quantity': p.quantity,
        'price_ex_tax': {_money("p.price_ex_tax")}, 'price_inc_tax': {_money("p.price_inc_tax")},
        'total_ex_tax': {_money("p.total_ex_tax")}, 'total_inc_tax': {_money("p.total_inc_tax")},
        'total_tax': {_money("p.total_tax")}
    }} ORDER BY p.order_product_id) AS products
    FROM storefront.order_products p
    JOIN todo USING (order_id)
    LEFT JOIN storefront.variants v ON v.variant_id = p.variant_id AND NOT coalesce(v.is_deleted, false)
    WHERE NOT coalesce(p.is_deleted, false)
    GROUP BY p.order_id
),
addresses AS (
    SELECT a.order_id, list({{
        'id': a.order_address_id, 'first_name': a.first_name, 'last_name': a.last_name, 'company': a.company,
        'street_1': a.street_1, 'street_2': a.street_2, 'city': a.city, 'state': a.state, 'zip': a.zip,
        'country': a.country, 'country_iso2': a.country_iso2, 'email': a.email, 'phone': a.phone,
        'shipping_method': a.shipping_method, 'cost_ex_tax': {_money("a.cost_ex_tax")},
        'cost_inc_tax': {_money("a.cost_inc_tax")}
    }} ORDER BY a.order_address_id) AS shipping_addresses
    FROM storefront.order_shipping_addresses a JOIN todo USING (order_id)
    WHERE NOT coalesce(a.is_deleted, false)
    GROUP BY a.order_id
)
SELECT t.date_modified, {{
    'id': t.order_id, 'customer_id': t.customer_id, 'status_id': t.status_id, 'status': t.status,
    'channel_id': t.channel_id, 'date_created': {_date("t.date_created")},
    'date_modified': {_date("t.date_modified")}, 'currency_code': t.currency_code,
    'subtotal_ex_tax': {_money("t.subtotal_ex_tax")}, 'total_ex_tax': {_money("t.total_ex_tax")},
    'total_tax': {_money("t.total_tax")}, 'total_inc_tax': {_money("t.total_inc_tax")},
    'shipping_cost_ex_tax': {_money("t.shipping_cost_ex_tax")},
    'shipping_cost_inc_tax': {_money("t.shipping_cost_inc_tax")},
    'shipping_cost_tax': {_money("t.shipping_cost_tax")},
    'customer_message': t.customer_message, 'staff_notes': t.staff_notes,
    'billing_address': {{
        'first_name': t.billing_first_name, 'last_name': t.billing_last_name, 'company': t.billing_company,
        'street_1': t.billing_street_1, 'street_2': t.billing_street_2, 'city': t.billing_city,
        'state': t.billing_state, 'zip': t.billing_zip, 'country': t.billing_country,
        'country_iso2': t.billing_country_iso2, 'phone': t.billing_phone, 'email': t.billing_email
    }}
}} AS "order", l.products, a.shipping_addresses
FROM todo t LEFT JOIN lines l USING (order_id) LEFT JOIN addresses a USING (order_id)
ORDER BY t.date_modified, t.order_id
"""


# Not planned yet (the plan), or planned, still unsent, and changed on the storefront since (refreshed before sending).
_NEW = "NOT EXISTS (SELECT 1 FROM push.ledger l WHERE l.push_id = 'import:order:' || o.order_id)"
_CHANGED = (
    "EXISTS (SELECT 1 FROM push.ledger l WHERE l.push_id = 'import:order:' || o.order_id AND l.kind = 'order_import' "
    "AND l.state = 'planned' AND o.date_modified > l.changed_at)"
)
IMPORTABLE_SQL = _SQL.replace("@LEDGER@", _NEW)
CHANGED_SQL = _SQL.replace("@LEDGER@", _CHANGED)


def importable_orders(
    conn: duckdb.DuckDBPyConnection,
    statuses: tuple[int, ...],
    *,
    modified_from: datetime | None = None,
    modified_to: datetime | None = None,
    changed_since_planned: bool = False,
) -> list[tuple[datetime | None, StorefrontOrder]]:
    """(date_modified, order) of every extracted storefront order in one of `statuses` (optionally modified in
    [from, to)) whose push id the ledger does not hold yet, oldest change first. `changed_since_planned`: instead,
    those whose ledger row is still 'planned' (e.g. re-driven after a dead letter) and that the storefront changed
    after it was planned."""
    rows = conn.execute(
        CHANGED_SQL if changed_since_planned else IMPORTABLE_SQL,
        {"statuses": list(statuses), "modified_from": modified_from, "modified_to": modified_to},
    ).fetchall()
    return [
        (modified, StorefrontOrder(dict(order), list(products or []), list(addresses or [])))
        for modified, order, products, addresses in rows
    ]
