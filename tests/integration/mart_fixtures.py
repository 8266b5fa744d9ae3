"""A small hand-made Brightpearl warehouse covering the business cases the marts and checks must get right.

Customers: 1 Acme Ltd (B2B, credit limit 5000: unpaid / partially paid / paid invoices, open orders, a quote, a
cancelled and a deleted order, an unpaid and a paid credit note, a pending sales credit), 2 Jane Doe (B2C, GBP + USD),
3 Euro GmbH (EUR, over its credit limit), 5 deleted customer, 6 never-classified contact; 4 is a supplier with POs,
7 is staff. The base (accounting) currency is GBP: EUR orders convert at 1.2, USD at 1.25 (base = total / rate, as
Brightpearl's totalValue.base* would carry). Expected values are spelled out in the tests next to each assertion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from bp_pipelines.lib.warehouse.tables import Table
from bp_pipelines.resources.warehouse import WarehouseResource

STATUSES = [  # (id, name, order type, state)
    (1, "Draft / Quote", "SO", "draft"),
    (3, "New order", "SO", "open"),
    (4, "Invoiced", "SO", "invoiced"),
    (5, "Cancelled", "SO", "cancelled"),
    (6, "Pending PO", "PO", "open"),
    (8, "Goods received", "PO", "completed"),
    (9, "Cancelled PO", "PO", "cancelled"),
    (10, "Sales credit", "SC", "open"),
]
CHANNELS = [{"channel_id": 1, "name": "Web store"}, {"channel_id": 2, "name": "Trade"}]
WAREHOUSES = [{"warehouse_id": 1, "name": "Main"}, {"warehouse_id": 2, "name": "East"}]

PRODUCTS = [
    {"product_id": 101, "sku": "SKU-A", "name": "Widget", "status": "LIVE", "stock_tracked": True},
    {"product_id": 102, "sku": "SKU-B", "name": "Gadget", "status": "LIVE", "stock_tracked": True},
    {"product_id": 103, "sku": "SKU-C", "name": "Gone", "status": "LIVE", "is_deleted": True},
    {"product_id": 104, "sku": "SKU-D", "name": "Old thing", "status": "ARCHIVED", "stock_tracked": True},
]

CONTACTS = [
    {
        "contact_id": 1,
        "company_name": "Acme Ltd",
        "first_name": "Ann",
        "last_name": "Smith",
        "email": "ann@acme.test",
        "is_customer": True,
        "credit_limit": "5000",
        "credit_term_days": 30,
        "price_list_id": 3,
    },
    {
        "contact_id": 2,
        "company_name": "",
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@example.test",
        "is_customer": True,
        "credit_limit": "0",
        "credit_term_days": 0,
        "price_list_id": 2,
    },
    {
        "contact_id": 3,
        "company_name": "Euro GmbH",
        "first_name": "Max",
        "last_name": "Muster",
        "is_customer": True,
        "credit_limit": "800",
        "credit_term_days": 14,
    },
    {
        "contact_id": 4,
        "company_name": "Supplier Co",
        "email": "po@supplier.test",
        "is_customer": False,
        "is_supplier": True,
    },
    {"contact_id": 5, "company_name": "Deleted Ltd", "is_customer": True, "is_deleted": True},
    {"contact_id": 6, "first_name": "New", "last_name": "Lead"},  # is_customer NULL: only seen through Contact GET
    {"contact_id": 7, "first_name": "Staff", "last_name": "Member", "is_customer": False, "is_staff": True},
]


RATES = {"GBP": Decimal("1"), "EUR": Decimal("1.2"), "USD": Decimal("1.25")}


def _order(
    order_id: int,
    type_code: str,
    status: int,
    contact: int,
    placed: str,
    net: str,
    tax: str,
    *,
    currency: str = "GBP",
    channel: int | None = 2,
    invoice: str | None = None,
    payment: str = "UNPAID",
    shipping: str = "SNS",
    **extra: Any,
) -> dict[str, Any]:
    rate = RATES[currency]
    row = {
        "exchange_rate": str(rate),
        "base_currency_code": "GBP",
        "base_total_net": str(Decimal(net) / rate),
        "base_total_tax": str(Decimal(tax) / rate),
        "base_total_value": str((Decimal(net) + Decimal(tax)) / rate),
        "order_id": order_id,
        "order_type_code": type_code,
        "order_status_id": status,
        "contact_id": contact,
        "placed_on": placed,
        "created_on": placed,
        "updated_on": placed,
        "total_net": net,
        "total_tax": tax,
        "total_value": str(Decimal(net) + Decimal(tax)),
        "currency_code": currency,
        "channel_id": channel,
        "invoice_reference": invoice,
        "payment_status": payment,
        "shipping_status_code": shipping,
        "warehouse_id": 1,
        "customer_ref": f"REF-{order_id}",
    }
    row.update(extra)
    return row


ORDERS = [
    # Acme Ltd (1)
    _order(
        1001,
        "SO",
        4,
        1,
        "2026-01-10 10:00:00+00",
        "100",
        "20",
        invoice="INV-1001",
        shipping="ASS",
        tax_date="2026-01-10 00:00:00+00",
        due_date="2026-02-09 00:00:00+00",
    ),
    # 01:30 at +02:00 is still 10 January in UTC: the day must be taken in UTC.
    _order(
        1002,
        "SO",
        4,
        1,
        "2026-01-11 01:30:00+02",
        "200",
        "40",
        invoice="INV-1002",
        payment="PARTIALLY_PAID",
        shipping="ASS",
        due_date="2099-01-01 00:00:00+00",
    ),
    _order(
        1003,
        "SO",
        4,
        1,
        "2026-01-11 09:00:00+00",
        "300",
        "60",
        invoice="INV-1003",
        payment="PAID",
        shipping="ASS",
        closed_on="2026-01-20 00:00:00+00",
    ),
    _order(1004, "SO", 3, 1, "2026-01-12 08:00:00+00", "50", "10", shipping="SPS"),
    _order(1005, "SO", 3, 1, "2026-01-12 16:00:00+00", "70", "14", shipping="SNS"),
    _order(1006, "SO", 1, 1, "2026-01-13 09:00:00+00", "500", "100", payment="NOT_APPLICABLE"),
    _order(1007, "SO", 5, 1, "2026-01-12 11:00:00+00", "40", "8"),
    _order(1008, "SC", 10, 1, "2026-01-12 12:00:00+00", "25", "5", invoice="CN-1008", shipping="NST"),
    _order(1009, "SC", 10, 1, "2026-01-12 13:00:00+00", "10", "2", invoice="CN-1009", payment="PAID", shipping="NST"),
    _order(1010, "SO", 4, 1, "2026-01-12 14:00:00+00", "999", "0", invoice="INV-1010", is_deleted=True),
    _order(1012, "SC", 10, 1, "2026-01-13 10:00:00+00", "15", "3", shipping="NST"),  # pending credit, no note yet
    # Jane Doe (2): GBP and USD
    _order(2001, "SO", 4, 2, "2026-01-10 12:00:00+00", "10", "2", channel=1, invoice="INV-2001", shipping="ASS"),
    _order(
        2002,
        "SO",
        4,
        2,
        "2026-01-10 15:00:00+00",
        "50",
        "10",
        channel=1,
        currency="USD",
        invoice="INV-2002",
        payment="PAID",
        shipping="ASS",
    ),
    # Euro GmbH (3): EUR, 960 unpaid + 120 partially paid (60) = 1020 EUR = 850 GBP against an 800 limit
    _order(
        3001, "SO", 4, 3, "2026-01-10 09:00:00+00", "800", "160", currency="EUR", invoice="INV-3001", shipping="ASS"
    ),
    _order(
        3002,
        "SO",
        4,
        3,
        "2026-01-11 09:00:00+00",
        "100",
        "20",
        currency="EUR",
        invoice="INV-3002",
        payment="PARTIALLY_PAID",
        shipping="ASS",
    ),
    # Deleted customer (5): its live order still counts as a sale of the day
    _order(5001, "SO", 4, 5, "2026-01-09 09:00:00+00", "5", "1", channel=1, invoice="INV-5001", shipping="ASS"),
    # Supplier Co (4): purchase orders
    _order(
        4001,
        "PO",
        6,
        4,
        "2026-01-05 09:00:00+00",
        "1000",
        "200",
        channel=None,
        payment="NOT_APPLICABLE",
        delivery_date="2026-01-20 00:00:00+00",
    ),
    _order(
        4002,
        "PO",
        8,
        4,
        "2026-01-02 09:00:00+00",
        "300",
        "60",
        channel=None,
        shipping="ASS",
        closed_on="2026-01-08 00:00:00+00",
    ),
    _order(4003, "PO", 9, 4, "2026-01-03 09:00:00+00", "200", "40", channel=None),
    _order(4004, "PO", 6, 4, "2026-01-04 09:00:00+00", "100", "20", channel=None, shipping="ASS"),
]

ORDER_ROWS = [
    {"order_id": 1001, "row_id": 1, "product_id": 101, "sku": "SKU-A", "quantity": 2, "row_net": "100"},
    {"order_id": 1004, "row_id": 11, "product_id": 101, "sku": "SKU-A", "quantity": 1, "row_net": "40"},
    {
        "order_id": 1004,
        "row_id": 12,
        "product_id": None,
        "product_name": "Installation",
        "quantity": 1,
        "row_net": "10",
    },
    {"order_id": 1004, "row_id": 13, "product_id": 102, "quantity": 5, "row_net": "0", "is_deleted": True},
    {"order_id": 1006, "row_id": 21, "product_id": 102, "quantity": 1, "row_net": "500", "is_bundle_parent": True},
    {
        "order_id": 1006,
        "row_id": 22,
        "product_id": 101,
        "quantity": 2,
        "row_net": "0",
        "is_bundle_child": True,
        "parent_order_row_id": 21,
    },
    {"order_id": 4001, "row_id": 41, "product_id": 101, "quantity": 10, "row_net": "400"},
    {"order_id": 4001, "row_id": 42, "product_id": 102, "quantity": 20, "row_net": "600"},
]

GOODS_OUT_NOTES = [
    {
        "goods_out_note_id": 9001,
        "order_id": 1004,
        "warehouse_id": 1,
        "shipped": True,
        "shipped_on": "2026-01-13 10:00:00+00",
        "tracking_reference": "TRK1",
    },
    {"goods_out_note_id": 9002, "order_id": 1004, "warehouse_id": 1, "shipped": False},
    {"goods_out_note_id": 9003, "order_id": 0, "warehouse_id": 1, "is_transfer": True, "target_warehouse_id": 2},
    {
        "goods_out_note_id": 9004,
        "order_id": 1004,
        "warehouse_id": 1,
        "shipped": True,
        "tracking_reference": "OLD",
        "is_deleted": True,
    },
]
# INV-1002 (240, partially paid): 100 received; INV-1003 and INV-2002 paid in full; CN-1009 refunded; a deleted
# receipt on INV-1001 does not count; an authorisation (AUTH) is no money received.
CUSTOMER_PAYMENTS = [
    {"payment_id": 1, "order_id": 1002, "payment_type": "RECEIPT", "currency_code": "GBP", "amount_paid": "100"},
    {"payment_id": 2, "order_id": 1003, "payment_type": "RECEIPT", "currency_code": "GBP", "amount_paid": "360"},
    {"payment_id": 3, "order_id": 2002, "payment_type": "RECEIPT", "currency_code": "USD", "amount_paid": "60"},
    {"payment_id": 4, "order_id": 1009, "payment_type": "PAYMENT", "currency_code": "GBP", "amount_paid": "12"},
    {
        "payment_id": 5,
        "order_id": 1001,
        "payment_type": "RECEIPT",
        "currency_code": "GBP",
        "amount_paid": "50",
        "is_deleted": True,
    },
    {"payment_id": 6, "order_id": 1001, "payment_type": "AUTH", "currency_code": "GBP", "amount_paid": "0"},
    {"payment_id": 7, "order_id": 3002, "payment_type": "RECEIPT", "currency_code": "EUR", "amount_paid": "60"},
]

GOODS_OUT_NOTE_ROWS = [{"goods_out_note_id": 9001, "order_row_id": 11, "product_id": 101, "quantity": 1}]

STOCK_LEVELS = [
    {"product_id": 101, "warehouse_id": 1, "in_stock": 60, "on_hand": 48, "allocated": 12, "in_transit": 0},
    {"product_id": 101, "warehouse_id": 2, "in_stock": 5, "on_hand": 5, "allocated": 0, "in_transit": 3},
    {"product_id": 102, "warehouse_id": 1, "in_stock": 10, "on_hand": 10, "allocated": 0, "in_transit": 0},
    {"product_id": 103, "warehouse_id": 1, "in_stock": 7, "on_hand": 7, "allocated": 0, "in_transit": 0},
    {
        "product_id": 104,
        "warehouse_id": 2,
        "in_stock": 1,
        "on_hand": 1,
        "allocated": 0,
        "in_transit": 0,
        "is_deleted": True,
    },
    {"product_id": 999, "warehouse_id": 1, "in_stock": 4, "on_hand": 3, "allocated": 1, "in_transit": 0},
]


def insert(conn: duckdb.DuckDBPyConnection, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """INSERT each dict as one row of `brightpearl.<table>` (or a qualified name); missing columns keep defaults."""
    qualified = table if "." in table else f"brightpearl.{table}"
    for row in rows:
        cols = list(row)
        conn.execute(
            f"INSERT INTO {qualified} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row[c] for c in cols],
        )


def create_unconstrained(conn: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Create a Brightpearl table with its columns but no PRIMARY KEY, so bad keys can be stored (for the checks)."""
    cols = ", ".join(f"{name} {sql_type}" for name, sql_type in table.columns)
    conn.execute("CREATE SCHEMA IF NOT EXISTS brightpearl")
    conn.execute(
        f"CREATE TABLE {table.qualified} ({cols}, is_deleted BOOLEAN DEFAULT false, "
        "deleted_seen_at TIMESTAMPTZ, _synced_at TIMESTAMPTZ)"
    )


def build_warehouse(path: Path) -> WarehouseResource:
    """A warehouse at `path` holding the fixture rows (schema from the real DDL)."""
    wh = WarehouseResource(path=str(path))
    with wh.connect() as conn:
        insert(
            conn,
            "order_statuses",
            [{"order_status_id": i, "name": n, "order_type_code": t, "state": s} for i, n, t, s in STATUSES],
        )
        insert(conn, "channels", CHANNELS)
        insert(conn, "warehouses", WAREHOUSES)
        insert(conn, "products", PRODUCTS)
        insert(conn, "contacts", CONTACTS)
        insert(conn, "orders", ORDERS)
        insert(conn, "order_rows", ORDER_ROWS)
        insert(conn, "customer_payments", CUSTOMER_PAYMENTS)
        insert(conn, "goods_out_notes", GOODS_OUT_NOTES)
        insert(conn, "goods_out_note_rows", GOODS_OUT_NOTE_ROWS)
        insert(conn, "stock_levels", [{**r, "as_of": "2026-01-14 06:00:00+00"} for r in STOCK_LEVELS])
    return wh
