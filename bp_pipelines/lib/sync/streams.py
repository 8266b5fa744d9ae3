"""Every Brightpearl stream in one place: how it is searched, how a change is detected, how it is fetched and
which warehouse tables it fills.

A stream (the Meltano/dlt word) is one searchable Brightpearl resource: `primary_key` is the search column
holding the record id, `replication_keys` the PERIOD columns searched per window (their max is the watermark).
Reference lists (small, full refresh) are `ReferenceList`s at the end of this file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb

from bp_pipelines.lib.brightpearl import (
    CONTACT_GET_MAX_IDS,
    GOODS_OUT_NOTE_GET_MAX_IDS,
    ORDER_GET_MAX_IDS,
    PRODUCT_GET_MAX_IDS,
)
from bp_pipelines.lib.warehouse import tables

from . import transforms
from .transforms import Row

# (record id, GET payload, its search row if any) -> (table row, child table rows)
Transform = Callable[[Any, Any, Mapping[str, Any] | None], tuple[Row, list[Row]]]


@dataclass(frozen=True)
class KnownReferences:
    """Ids of the reference tables, for the unknown-reference check (an empty set = not loaded: no check)."""

    order_statuses: frozenset[int] = frozenset()
    warehouses: frozenset[int] = frozenset()
    channels: frozenset[int] = frozenset()
    shipping_methods: frozenset[int] = frozenset()

    @classmethod
    def load(cls, conn: duckdb.DuckDBPyConnection) -> KnownReferences:
        def ids(table: str, key: str) -> frozenset[int]:
            return frozenset(
                r[0] for r in conn.execute(f"SELECT {key} FROM brightpearl.{table} WHERE NOT is_deleted").fetchall()
            )

        return cls(
            ids("order_statuses", "order_status_id"),
            ids("warehouses", "warehouse_id"),
            ids("channels", "channel_id"),
            ids("shipping_methods", "shipping_method_id"),
        )


def _is_unknown(value: int | None, known: frozenset[int]) -> bool:
    # 0 is Brightpearl's "none" for optional references (channelId 0, shippingMethodId 0).
    return not (value is None or value == 0 or not known or value in known)


def _first_unknown(record: Row, checks: tuple[tuple[str, frozenset[int], str], ...], what: str) -> str | None:
    """The reason for the first unknown reference among (column, known ids, reference asset), else None."""
    for column, known, asset in checks:
        if _is_unknown(record[column], known):
            return (
                f"unknown {column} {record[column]}: refresh reference data (materialize {asset}) or correct the "
                f"{what} in Brightpearl"
            )
    return None


def order_reference_problem(order: Row, known: KnownReferences) -> str | None:
    return _first_unknown(
        order,
        (
            ("order_status_id", known.order_statuses, "order_statuses"),
            ("warehouse_id", known.warehouses, "warehouses"),
            ("channel_id", known.channels, "channels"),
        ),
        "order",
    )


def goods_out_reference_problem(note: Row, known: KnownReferences) -> str | None:
    return _first_unknown(
        note,
        (
            ("warehouse_id", known.warehouses, "warehouses"),
            ("shipping_method_id", known.shipping_methods, "shipping_methods"),
        ),
        "note",
    )


ColumnKind = Literal["ts", "bool", "int", "str"]


@dataclass(frozen=True)
class ChangeColumn:
    """A search column compared with a stored column to decide whether a record changed (and must be fetched)."""

    search_column: str
    table_column: str
    kind: ColumnKind  # "str": "" and null are the same text
    # updatedOn can be null in a search row while the GET has a value (docs/brightpearl-api.md): unknown -> fetch.
    null_means_unknown: bool = False


@dataclass(frozen=True)
class Stream:
    name: str  # also the table name, the watermark key and the quarantine key
    search_path: str
    primary_key: str  # search column holding the record id
    replication_keys: tuple[str, ...]  # PERIOD columns searched per window; their max is the watermark
    change_columns: tuple[ChangeColumn, ...]
    fetch_path: str  # GET by ID set
    fetch_batch_size: int  # ids per GET (documented maximum)
    table: tables.Table
    transform: Transform
    child_table: tables.Table | None = None  # rows replaced as a whole with their parent record
    extra_columns: tuple[str, ...] = ()  # further search columns the transform reads (contacts: isCustomer)
    extra_searches: tuple[Mapping[str, str], ...] = ()  # searched on every run besides the windows
    recent_columns: tuple[str, ...] = ("updatedOn", "createdOn")  # reconciliation: re-read records touched lately
    reference_problem: Callable[[Row, KnownReferences], str | None] | None = None
    fetch_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def search_columns(self) -> list[str]:
        columns = [
            self.primary_key,
            *self.replication_keys,
            *(c.search_column for c in self.change_columns),
            *self.recent_columns,
            *self.extra_columns,
        ]
        return list(dict.fromkeys(columns))


UPDATED_ON = ChangeColumn("updatedOn", "updated_on", "ts", null_means_unknown=True)

# Besides updatedOn, the search columns that mirror stored columns are compared too: an edit that did not bump
# updatedOn ("silent edit") but shows in a search column is caught by any search covering the record, in
# particular by the id sweep -- without a GET for the records that did not change.
PRODUCTS = Stream(
    name="products",
    search_path="product-service/product-search",
    primary_key="productId",
    replication_keys=("updatedOn",),
    change_columns=(UPDATED_ON, ChangeColumn("SKU", "sku", "str"), ChangeColumn("productStatus", "status", "str")),
    fetch_path="product-service/product",
    fetch_batch_size=PRODUCT_GET_MAX_IDS,
    table=tables.PRODUCTS,
    transform=lambda record_id, raw, search_row: (transforms.product_row(raw), []),
)

CONTACTS = Stream(
    name="contacts",
    search_path="contact-service/contact-search",
    primary_key="contactId",
    replication_keys=("updatedOn",),
    change_columns=(
        UPDATED_ON,
        ChangeColumn("isCustomer", "is_customer", "bool"),
        ChangeColumn("primaryEmail", "email", "str"),
        ChangeColumn("firstName", "first_name", "str"),
        ChangeColumn("lastName", "last_name", "str"),
        ChangeColumn("isSupplier", "is_supplier", "bool"),
        ChangeColumn("isStaff", "is_staff", "bool"),
    ),
    fetch_path="contact-service/contact",
    fetch_batch_size=CONTACT_GET_MAX_IDS,
    table=tables.CONTACTS,
    transform=lambda record_id, raw, search_row: (transforms.contact_row(raw, search_row), []),
)

ORDERS = Stream(
    name="orders",
    search_path="order-service/order-search",
    primary_key="orderId",
    replication_keys=("updatedOn",),
    change_columns=(
        UPDATED_ON,
        ChangeColumn("orderStatusId", "order_status_id", "int"),
        ChangeColumn("customerRef", "customer_ref", "str"),
        ChangeColumn("externalRef", "external_ref", "str"),
        ChangeColumn("contactId", "contact_id", "int"),
        ChangeColumn("warehouseId", "warehouse_id", "int"),
    ),
    fetch_path="order-service/order",
    fetch_batch_size=ORDER_GET_MAX_IDS,
    table=tables.ORDERS,
    child_table=tables.ORDER_ROWS,
    transform=lambda record_id, raw, search_row: transforms.order_rows(raw),
    reference_problem=order_reference_problem,
)

# Goods-out notes have no updatedOn: a note matters when created and when shipped, and its pre-ship status
# (printed/picked/packed) can move any time while it is open -> createdOn window, shippedOn window and every
# unshipped note (the last two restricted to notes created before the window, see stream_sync.window_searches);
# the status flags in the search row tell which of those really changed.
GOODS_OUT_NOTES = Stream(
    name="goods_out_notes",
    search_path="warehouse-service/goods-note/goods-out-search",
    primary_key="goodsOutNoteId",
    replication_keys=("createdOn", "shippedOn"),
    change_columns=(
        ChangeColumn("shipped", "shipped", "bool"),
        ChangeColumn("shippedOn", "shipped_on", "ts"),
        ChangeColumn("printed", "printed", "bool"),
        ChangeColumn("picked", "picked", "bool"),
        ChangeColumn("packed", "packed", "bool"),
    ),
    fetch_path="warehouse-service/order/*/goods-note/goods-out",
    fetch_batch_size=GOODS_OUT_NOTE_GET_MAX_IDS,
    table=tables.GOODS_OUT_NOTES,
    child_table=tables.GOODS_OUT_NOTE_ROWS,
    transform=lambda record_id, raw, search_row: transforms.goods_out_rows(record_id, raw),
    extra_searches=({"shipped": "false"},),
    recent_columns=("createdOn", "shippedOn"),
    reference_problem=goods_out_reference_problem,
)

STREAMS: tuple[Stream, ...] = (PRODUCTS, CONTACTS, ORDERS, GOODS_OUT_NOTES)


# ------------------------------------------------------------------ reference lists (full refresh)
@dataclass(frozen=True)
class ReferenceList:
    name: str  # also the table name and the bookkeeping key
    path: str  # GET returning the whole list
    transform: Callable[[Mapping[str, Any]], Row]
    table: tables.Table
    description: str


ORDER_STATUSES = ReferenceList(
    "order_statuses",
    "order-service/order-status",
    transforms.order_status_row,
    tables.ORDER_STATUSES,
    "Order statuses per order type (SO/PO/SC/PC): name, sort order, state, colour.",
)
WAREHOUSES = ReferenceList(
    "warehouses",
    "warehouse-service/warehouse",
    transforms.warehouse_row,
    tables.WAREHOUSES,
    "Warehouses stock is held and shipped from.",
)
CHANNELS = ReferenceList(
    "channels",
    "product-service/channel",
    transforms.channel_row,
    tables.CHANNELS,
    "Sales channels orders come from (e.g. the BigCommerce storefront, phone, marketplaces).",
)
SHIPPING_METHODS = ReferenceList(
    "shipping_methods",
    "warehouse-service/shipping-method",
    transforms.shipping_method_row,
    tables.SHIPPING_METHODS,
    "Shipping methods (carrier services) used on orders and goods-out notes.",
)

CONTACT_TAGS = ReferenceList(
    "contact_tags",
    "contact-service/tag/",  # no id set: every tag, as a map keyed by tag id (AD:contact/tag/get.html; as recorded)
    transforms.contact_tag_row,
    tables.CONTACT_TAGS,
    "Contact tags (id, name, colour); brightpearl.contacts.tag_ids holds each contact's tag ids.",
)

REFERENCE_LISTS: tuple[ReferenceList, ...] = (ORDER_STATUSES, WAREHOUSES, CHANNELS, SHIPPING_METHODS, CONTACT_TAGS)
