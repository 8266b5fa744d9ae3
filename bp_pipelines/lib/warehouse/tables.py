"""Column lists of the warehouse tables (mirrors schema.sql) used by the upserts.

Each column carries the SQL type its Python values are cast to when a batch is loaded (money travels as a
decimal string and is cast to DECIMAL in SQL, so no value ever passes through float).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MONEY = "DECIMAL(18,4)"
TS = "TIMESTAMPTZ"


@dataclass(frozen=True)
class Table:
    name: str  # table in schema `brightpearl`
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (name, sql type) in load order, key columns first
    # Child tables: rows of one parent are replaced as a whole (rows absent from a re-fetch are removed).
    parent_key: str | None = None
    # Columns that keep their stored value when a batch brings NULL (the value only comes from some fetch paths).
    sticky: frozenset[str] = field(default_factory=frozenset)
    schema: str = "brightpearl"  # `storefront` for the BigCommerce extraction

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    @property
    def value_columns(self) -> list[str]:
        return [name for name, _ in self.columns if name not in self.key]


def _cols(spec: str) -> tuple[tuple[str, str], ...]:
    """'a BIGINT, b VARCHAR' -> (('a', 'BIGINT'), ('b', 'VARCHAR')) -- keeps the lists readable."""
    out = []
    for part in re.split(r",(?![^()]*\))", spec):  # commas inside DECIMAL(18,4) do not separate columns
        name, sql_type = part.split(maxsplit=1)
        out.append((name.strip(), sql_type.strip()))
    return tuple(out)


PRODUCTS = Table(
    "products",
    ("product_id",),
    _cols(
        "product_id BIGINT, sku VARCHAR, name VARCHAR, ean VARCHAR, upc VARCHAR, barcode VARCHAR, isbn VARCHAR,"
        " mpn VARCHAR, brand_id BIGINT, product_type_id BIGINT, product_group_id BIGINT, status VARCHAR,"
        f" stock_tracked BOOLEAN, is_bundle BOOLEAN, created_on {TS}, updated_on {TS}, version BIGINT"
    ),
)

CONTACTS = Table(
    "contacts",
    ("contact_id",),
    _cols(
        "contact_id BIGINT, email VARCHAR, salutation VARCHAR, first_name VARCHAR, last_name VARCHAR, company_name VARCHAR,"
        f" is_customer BOOLEAN, is_supplier BOOLEAN, is_staff BOOLEAN, price_list_id BIGINT, credit_limit {MONEY},"
        f" credit_term_days INTEGER, currency_id BIGINT, telephone VARCHAR, mobile VARCHAR, created_on {TS},"
        f" updated_on {TS}, tag_ids BIGINT[]"
    ),
    sticky=frozenset({"is_customer"}),
)

ORDERS = Table(
    "orders",
    ("order_id",),
    _cols(
        "order_id BIGINT, order_type_code VARCHAR, order_status_id BIGINT, order_status_name VARCHAR, contact_id BIGINT,"
        " channel_id BIGINT, warehouse_id BIGINT, external_ref VARCHAR, customer_ref VARCHAR, currency_code VARCHAR,"
        f" exchange_rate DECIMAL(18,6), total_net {MONEY}, total_tax {MONEY}, total_value {MONEY}, payment_status VARCHAR,"
        " shipping_status_code VARCHAR, stock_status_code VARCHAR, allocation_status_code VARCHAR,"
        " invoice_reference VARCHAR, parent_order_id BIGINT, price_list_id BIGINT, price_mode_code VARCHAR,"
        f" staff_owner_id BIGINT, shipping_method_id BIGINT, delivery_date {TS}, tax_date {TS}, due_date {TS},"
        f" placed_on {TS}, created_on {TS}, updated_on {TS}, closed_on {TS}, version BIGINT,"
        f" base_currency_code VARCHAR, base_total_net {MONEY}, base_total_tax {MONEY}, base_total_value {MONEY}"
    ),
)

CUSTOMER_PAYMENTS = Table(
    "customer_payments",
    ("payment_id",),
    _cols(
        "payment_id BIGINT, order_id BIGINT, payment_type VARCHAR, payment_method_code VARCHAR, currency_id BIGINT,"
        f" currency_code VARCHAR, amount_authorized {MONEY}, amount_paid {MONEY}, expires {TS}, payment_date {TS},"
        f" created_on {TS}, journal_id BIGINT, transaction_ref VARCHAR, transaction_code VARCHAR"
    ),
)

ORDER_ROWS = Table(
    "order_rows",
    ("order_id", "row_id"),
    _cols(
        "order_id BIGINT, row_id BIGINT, row_sequence INTEGER, product_id BIGINT, sku VARCHAR, product_name VARCHAR,"
        f" quantity DECIMAL(18,4), unit_price {MONEY}, item_cost {MONEY}, discount_percentage DECIMAL(9,4),"
        f" row_net {MONEY}, row_tax {MONEY}, tax_rate DECIMAL(9,4), tax_code VARCHAR, nominal_code VARCHAR,"
        " is_bundle_parent BOOLEAN, is_bundle_child BOOLEAN, parent_order_row_id BIGINT"
    ),
    parent_key="order_id",
)

GOODS_OUT_NOTES = Table(
    "goods_out_notes",
    ("goods_out_note_id",),
    _cols(
        "goods_out_note_id BIGINT, order_id BIGINT, warehouse_id BIGINT, target_warehouse_id BIGINT, is_transfer BOOLEAN,"
        f" priority BOOLEAN, printed BOOLEAN, picked BOOLEAN, packed BOOLEAN, shipped BOOLEAN, printed_on {TS},"
        f" picked_on {TS}, packed_on {TS}, shipped_on {TS}, shipping_method_id BIGINT, tracking_reference VARCHAR,"
        f" boxes INTEGER, weight DECIMAL(18,4), release_date {TS}, created_on {TS}, created_by BIGINT,"
        " note_sequence INTEGER, last_event_version BIGINT"
    ),
)

GOODS_OUT_NOTE_ROWS = Table(
    "goods_out_note_rows",
    ("goods_out_note_id", "order_row_id", "product_id"),
    _cols("goods_out_note_id BIGINT, order_row_id BIGINT, product_id BIGINT, quantity INTEGER"),
    parent_key="goods_out_note_id",
)

STOCK_LEVELS = Table(
    "stock_levels",
    ("product_id", "warehouse_id"),
    _cols(
        f"product_id BIGINT, warehouse_id BIGINT, in_stock INTEGER, on_hand INTEGER, allocated INTEGER,"
        f" in_transit INTEGER, as_of {TS}"
    ),
    parent_key="product_id",
)

ORDER_STATUSES = Table(
    "order_statuses",
    ("order_status_id",),
    _cols(
        "order_status_id BIGINT, name VARCHAR, order_type_code VARCHAR, sort_order INTEGER, state VARCHAR, color VARCHAR,"
        " is_visible BOOLEAN, is_disabled BOOLEAN"
    ),
)

WAREHOUSES = Table("warehouses", ("warehouse_id",), _cols("warehouse_id BIGINT, name VARCHAR, address JSON"))

CHANNELS = Table(
    "channels",
    ("channel_id",),
    _cols("channel_id BIGINT, name VARCHAR, channel_type_id BIGINT, warehouse_id BIGINT, price_list_id BIGINT"),
)

SHIPPING_METHODS = Table(
    "shipping_methods",
    ("shipping_method_id",),
    _cols("shipping_method_id BIGINT, code VARCHAR, name VARCHAR, method_type VARCHAR, carrier VARCHAR"),
)

CONTACT_TAGS = Table(
    "contact_tags",
    ("tag_id",),
    _cols("tag_id BIGINT, tag_name VARCHAR, parent_tag_id BIGINT, color VARCHAR"),
)

ALL_TABLES = (
    PRODUCTS,
    CONTACTS,
    ORDERS,
    ORDER_ROWS,
    CUSTOMER_PAYMENTS,
    GOODS_OUT_NOTES,
    GOODS_OUT_NOTE_ROWS,
    STOCK_LEVELS,
    ORDER_STATUSES,
    WAREHOUSES,
    CHANNELS,
    SHIPPING_METHODS,
    CONTACT_TAGS,
)
