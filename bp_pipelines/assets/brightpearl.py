"""Brightpearl extraction assets (group `brightpearl`): tables in schema `brightpearl` of the DuckDB warehouse.

Each asset is config -> one materialize step (`bp_pipelines.lib.sync.materialize`) -> MaterializeResult. What is
searched and fetched per stream lives in `bp_pipelines.lib.sync.streams`; see docs/warehouse.md for the tables.
"""

from collections.abc import Iterator

import dagster as dg

from bp_pipelines.lib.conventions import (
    BACKFILL_POLICY,
    BRIGHTPEARL_GROUP,
    BRIGHTPEARL_KINDS,
    WRITER_POOL,
    daily_partitions,
)
from bp_pipelines.lib.sync import (
    SyncConfig,
    materialize_payments,
    materialize_reference_list,
    materialize_stock,
    materialize_stream,
    streams,
)
from bp_pipelines.lib.sync.account_check import materialize_account_check
from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

_TABLE_ASSET = {"group_name": BRIGHTPEARL_GROUP, "pool": WRITER_POOL, "kinds": set(BRIGHTPEARL_KINDS)}
_PARTITIONED = {"partitions_def": daily_partitions, "backfill_policy": BACKFILL_POLICY}
# Every asset that calls Brightpearl runs after the account check: bad credentials fail that one step, the rest skip.
ACCOUNT = "brightpearl_account"


@dg.asset(
    name=ACCOUNT,
    group_name=BRIGHTPEARL_GROUP,
    kinds=set(BRIGHTPEARL_KINDS),
    description=(
        "The Brightpearl account the run talks to: one cheap authenticated call before any extraction, so wrong "
        "credentials, account code or datacentre fail this step once (naming the variable to fix) and every "
        "extraction step is skipped instead of failing with the same error."
    ),
)
def brightpearl_account(brightpearl: BrightpearlResource) -> dg.MaterializeResult:
    return materialize_account_check(brightpearl)


def _reference_asset(reference: streams.ReferenceList) -> dg.AssetsDefinition:
    @dg.asset(
        name=reference.name,
        description=f"{reference.description} Reference data: full refresh, unpartitioned; removed entries are marked.",
        tags={"table": f"brightpearl.{reference.name}"},
        deps=[ACCOUNT],
        **_TABLE_ASSET,
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: SyncConfig,
        brightpearl: BrightpearlResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        return materialize_reference_list(context, config, reference, brightpearl, warehouse)

    return _asset


order_statuses = _reference_asset(streams.ORDER_STATUSES)
warehouses = _reference_asset(streams.WAREHOUSES)
channels = _reference_asset(streams.CHANNELS)
shipping_methods = _reference_asset(streams.SHIPPING_METHODS)
contact_tags = _reference_asset(streams.CONTACT_TAGS)


@dg.asset(name="products", tags={"table": "brightpearl.products"}, deps=[ACCOUNT], **_TABLE_ASSET, **_PARTITIONED)
def products(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """The product catalogue: one row per Brightpearl product (SKU, identifiers, brand, type, status, whether
    stock is tracked and whether it is a bundle). Joins order rows, goods-out rows and stock levels by
    product_id. Products removed from Brightpearl stay with is_deleted=true."""
    yield from materialize_stream(context, config, streams.PRODUCTS, brightpearl, warehouse)


@dg.asset(name="contacts", tags={"table": "brightpearl.contacts"}, deps=[ACCOUNT], **_TABLE_ASSET, **_PARTITIONED)
def contacts(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """Customers, suppliers and staff: one row per Brightpearl contact with primary email, company, role flags,
    price list and credit terms. Orders point here through contact_id (the customer, or the supplier of a
    purchase order)."""
    yield from materialize_stream(context, config, streams.CONTACTS, brightpearl, warehouse)


def _spec(key: str, deps: list[str], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key, group_name=BRIGHTPEARL_GROUP, deps=deps, kinds=set(BRIGHTPEARL_KINDS), description=description
    )


@dg.multi_asset(
    name="orders_and_rows",
    specs=[
        _spec(
            "orders",
            ["order_statuses", "warehouses", "channels"],
            "Sales orders, sales credits, purchase orders and purchase credits: one row per Brightpearl order "
            "with its status, customer/supplier (contact_id), channel, warehouse, currency, totals (DECIMAL), "
            "payment and shipping status, invoice reference and dates (UTC). Orders deleted in Brightpearl "
            "stay with is_deleted=true.",
        ),
        _spec(
            "order_rows",
            ["orders"],
            "Order lines: product, SKU, quantity, unit price, net and tax per row. Replaced as a whole whenever "
            "their order changes, so a line removed in Brightpearl disappears here too.",
        ),
    ],
    pool=WRITER_POOL,
    **_PARTITIONED,
)
def orders_and_rows(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """Orders and order rows from one order-search and ID-set GETs of 200 orders."""
    yield from materialize_stream(context, config, streams.ORDERS, brightpearl, warehouse)


# Goods-out notes have no `updatedOn`: a partition selects notes created in it, shipped in it, and every note
# still unshipped (see `streams.GOODS_OUT_NOTES`). Partitions are UTC days of createdOn ∪ shippedOn.
@dg.multi_asset(
    name="goods_out_notes_and_rows",
    specs=[
        _spec(
            "goods_out_notes",
            ["orders", "warehouses", "shipping_methods"],
            "Shipments: one row per Brightpearl goods-out note with its order, warehouse, pick/pack/ship status "
            "and times (UTC), shipping method and tracking reference. An order can have several notes (one per "
            "warehouse, back orders).",
        ),
        _spec(
            "goods_out_note_rows",
            ["goods_out_notes"],
            "What each shipment contains: quantity per order row and product (summed over pick locations).",
        ),
    ],
    pool=WRITER_POOL,
    **_PARTITIONED,
)
def goods_out_notes_and_rows(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """Goods-out notes and their rows from goods-out searches and ID-set GETs of 500 notes."""
    yield from materialize_stream(context, config, streams.GOODS_OUT_NOTES, brightpearl, warehouse)


@dg.asset(
    name="stock_levels",
    deps=[ACCOUNT, "products", "order_rows", "goods_out_note_rows", "warehouses"],
    tags={"table": "brightpearl.stock_levels"},
    **_TABLE_ASSET,
)
def stock_levels(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Stock on hand per product and warehouse (in stock, on hand = in stock - allocated, allocated, in transit)
    as of the fetch time. Refreshed for products touched by changed products, orders or shipments; every product
    in reconciliation runs."""
    return materialize_stock(context, config, brightpearl, warehouse)


@dg.asset(
    name="customer_payments",
    deps=[ACCOUNT, "orders"],
    tags={"table": "brightpearl.customer_payments"},
    **_TABLE_ASSET,
    **_PARTITIONED,
)
def customer_payments(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Money received from customers (RECEIPT) and refunded to them (PAYMENT): one row per Brightpearl customer
    payment with its order, currency, amount paid and dates (UTC), from the customer payment search (no GET by
    id exists). Partitions are UTC days of createdOn. With the orders' base-currency totals this gives what is
    really unpaid (analytics.customer_accounts.balance_outstanding)."""
    return materialize_payments(context, config, brightpearl, warehouse)


reference_assets = [order_statuses, warehouses, channels, shipping_methods, contact_tags]
brightpearl_assets = [
    *reference_assets,
    products,
    contacts,
    orders_and_rows,
    customer_payments,
    goods_out_notes_and_rows,
    stock_levels,
]
