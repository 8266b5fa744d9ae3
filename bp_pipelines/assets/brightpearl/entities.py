"""What is synced for each searchable Brightpearl resource: search, change detection, GET, transform, tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from bp_pipelines.resources.brightpearl import (
    CONTACT_GET_MAX_IDS,
    GOODS_OUT_NOTE_GET_MAX_IDS,
    ORDER_GET_MAX_IDS,
    PRODUCT_GET_MAX_IDS,
)

from . import tables as t
from . import transforms as tf

Transform = Callable[[Any, Any, Mapping[str, Any] | None], tuple[tf.Row, list[tf.Row]]]


@dataclass(frozen=True)
class RefData:
    """Ids of the reference tables, for the unknown-reference check (an empty set = not loaded: no check)."""

    order_statuses: frozenset[int] = frozenset()
    warehouses: frozenset[int] = frozenset()
    channels: frozenset[int] = frozenset()
    shipping_methods: frozenset[int] = frozenset()

    @classmethod
    def load(cls, conn: duckdb.DuckDBPyConnection) -> RefData:
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


def _unknown(value: int | None, known: frozenset[int], what: str, fix: str) -> str | None:
    # 0 is Brightpearl's "none" for optional references (channelId 0, shippingMethodId 0).
    if value is None or value == 0 or not known or value in known:
        return None
    return f"unknown {what} {value}: {fix}"


def _is_unknown(value: int | None, known: frozenset[int]) -> bool:
    """The same test as `_unknown`, without building the message (called for every record)."""
    return not (value is None or value == 0 or not known or value in known)


def order_reference_problem(order: tf.Row, refs: RefData) -> str | None:
    if not (
        _is_unknown(order["order_status_id"], refs.order_statuses)
        or _is_unknown(order["warehouse_id"], refs.warehouses)
        or _is_unknown(order["channel_id"], refs.channels)
    ):
        return None
    refresh = "refresh reference data (materialize {0}) or correct the order in Brightpearl"
    return (
        _unknown(order["order_status_id"], refs.order_statuses, "order_status_id", refresh.format("order_statuses"))
        or _unknown(order["warehouse_id"], refs.warehouses, "warehouse_id", refresh.format("warehouses"))
        or _unknown(order["channel_id"], refs.channels, "channel_id", refresh.format("channels"))
    )


def goods_out_reference_problem(note: tf.Row, refs: RefData) -> str | None:
    if not (
        _is_unknown(note["warehouse_id"], refs.warehouses)
        or _is_unknown(note["shipping_method_id"], refs.shipping_methods)
    ):
        return None
    refresh = "refresh reference data (materialize {0}) or correct the note in Brightpearl"
    return _unknown(note["warehouse_id"], refs.warehouses, "warehouse_id", refresh.format("warehouses")) or _unknown(
        note["shipping_method_id"], refs.shipping_methods, "shipping_method_id", refresh.format("shipping_methods")
    )


@dataclass(frozen=True)
class Compare:
    """A search column compared with a stored column to decide whether a record changed."""

    search: str
    local: str
    kind: str  # ts | bool | int | str ("" and null are the same text)
    null_means_unknown: bool = False  # updatedOn can be null in search while set in GET (peers.md §2.1, Kleene)


@dataclass(frozen=True)
class Entity:
    resource: str  # also the parent table name, the watermark and quarantine key
    search_path: str
    id_column: str
    window_columns: tuple[str, ...]  # PERIOD columns searched per window; their max is the watermark
    compare: tuple[Compare, ...]
    get_path: str
    batch_size: int
    parent: t.Table
    transform: Transform
    child: t.Table | None = None
    extra_columns: tuple[str, ...] = ()  # further search columns the transform reads (contacts: isCustomer)
    extra_searches: tuple[Mapping[str, str], ...] = ()  # searched on every run besides the windows
    recent_columns: tuple[str, ...] = ("updatedOn", "createdOn")  # reconciliation re-read rule
    reference_problem: Callable[[tf.Row, RefData], str | None] | None = None
    get_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def search_columns(self) -> list[str]:
        cols = [
            self.id_column,
            *self.window_columns,
            *(c.search for c in self.compare),
            *self.recent_columns,
            *self.extra_columns,
        ]
        return list(dict.fromkeys(cols))


UPDATED = Compare("updatedOn", "updated_on", "ts", null_means_unknown=True)

# Besides updatedOn, the search columns that mirror stored columns are compared too: an edit that did not bump
# updatedOn ("silent edit", peers.md §2.1) but shows in a search column is caught by any search covering the
# record, in particular by the nightly id sweep -- without a GET for the records that did not change.
PRODUCTS = Entity(
    resource="products",
    search_path="product-service/product-search",
    id_column="productId",
    window_columns=("updatedOn",),
    compare=(UPDATED, Compare("SKU", "sku", "str"), Compare("productStatus", "status", "str")),
    get_path="product-service/product",
    batch_size=PRODUCT_GET_MAX_IDS,
    parent=t.PRODUCTS,
    transform=lambda rid, raw, row: (tf.product_row(raw), []),
)

CONTACTS = Entity(
    resource="contacts",
    search_path="contact-service/contact-search",
    id_column="contactId",
    window_columns=("updatedOn",),
    compare=(
        UPDATED,
        Compare("isCustomer", "is_customer", "bool"),
        Compare("primaryEmail", "email", "str"),
        Compare("firstName", "first_name", "str"),
        Compare("lastName", "last_name", "str"),
        Compare("isSupplier", "is_supplier", "bool"),
        Compare("isStaff", "is_staff", "bool"),
    ),
    get_path="contact-service/contact",
    batch_size=CONTACT_GET_MAX_IDS,
    parent=t.CONTACTS,
    transform=lambda rid, raw, row: (tf.contact_row(raw, row), []),
)

ORDERS = Entity(
    resource="orders",
    search_path="order-service/order-search",
    id_column="orderId",
    window_columns=("updatedOn",),
    compare=(
        UPDATED,
        Compare("orderStatusId", "order_status_id", "int"),
        Compare("customerRef", "customer_ref", "str"),
        Compare("externalRef", "external_ref", "str"),
        Compare("contactId", "contact_id", "int"),
        Compare("warehouseId", "warehouse_id", "int"),
    ),
    get_path="order-service/order",
    batch_size=ORDER_GET_MAX_IDS,
    parent=t.ORDERS,
    child=t.ORDER_ROWS,
    transform=lambda rid, raw, row: tf.order_rows(raw),
    reference_problem=order_reference_problem,
)

# Goods-out notes have no updatedOn: a note matters when created and when shipped, and its pre-ship status
# (printed/picked/packed) can move any time while it is open -> createdOn window, shippedOn window and every
# unshipped note (the last two restricted to notes created before the window, see runner.window_searches);
# the status flags in the search row tell which of those really changed.
GOODS_OUT_NOTES = Entity(
    resource="goods_out_notes",
    search_path="warehouse-service/goods-note/goods-out-search",
    id_column="goodsOutNoteId",
    window_columns=("createdOn", "shippedOn"),
    compare=(
        Compare("shipped", "shipped", "bool"),
        Compare("shippedOn", "shipped_on", "ts"),
        Compare("printed", "printed", "bool"),
        Compare("picked", "picked", "bool"),
        Compare("packed", "packed", "bool"),
    ),
    get_path="warehouse-service/order/*/goods-note/goods-out",
    batch_size=GOODS_OUT_NOTE_GET_MAX_IDS,
    parent=t.GOODS_OUT_NOTES,
    child=t.GOODS_OUT_NOTE_ROWS,
    transform=lambda rid, raw, row: tf.goods_out_rows(rid, raw),
    extra_searches=({"shipped": "false"},),
    recent_columns=("createdOn", "shippedOn"),
    reference_problem=goods_out_reference_problem,
)
