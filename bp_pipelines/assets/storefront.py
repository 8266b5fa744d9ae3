"""Storefront push assets (group `storefront`): BigCommerce follows Brightpearl, exactly once per change.

Partitioned like the Brightpearl assets, by the day of the Brightpearl change (goods-out note shipped, order
updated). Shipments before statuses: the storefront sets Shipped itself when a shipment lands, so the mapped
status must come after it.
"""

import dagster as dg
from pydantic import Field

from bp_pipelines.lib.conventions import (
    BACKFILL_POLICY,
    PUSH_RETRY_POLICY,
    STOREFRONT_GROUP,
    STOREFRONT_KINDS,
    STOREFRONT_POOL,
    daily_partitions,
)
from bp_pipelines.lib.push.from_sync_file import (
    load_account_settings,
    load_extract_settings,
    load_import_settings,
    load_push_settings,
    load_stock_warehouse_ids,
)
from bp_pipelines.lib.push.materialize import materialize_accounts, materialize_import, materialize_push
from bp_pipelines.lib.storefront.materialize import materialize_extract, materialize_stock
from bp_pipelines.resources.bigcommerce import BigCommerceResource
from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

_PUSH_ASSET = {
    "group_name": STOREFRONT_GROUP,
    "kinds": set(STOREFRONT_KINDS),
    "partitions_def": daily_partitions,
    "backfill_policy": BACKFILL_POLICY,
    "pool": STOREFRONT_POOL,
    "retry_policy": PUSH_RETRY_POLICY,
}


@dg.asset(
    name="storefront_shipments",
    deps=["goods_out_notes", "goods_out_note_rows", "orders", "order_rows", "products"],
    description=(
        "One BigCommerce shipment per shipped Brightpearl goods-out note of a storefront order (or per order "
        "reaching the trigger status), with tracking and the mapped carrier, items matched by SKU and never more "
        "than remains unshipped. Every push goes through push.ledger first; failures land in push.dead_letters."
    ),
    tags={"table": "push.ledger"},
    **_PUSH_ASSET,
)
def storefront_shipments(
    context: dg.AssetExecutionContext, bigcommerce: BigCommerceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return materialize_push(context, "shipment", bigcommerce, warehouse, load_push_settings)


@dg.asset(
    name="storefront_order_statuses",
    deps=["orders", "storefront_shipments"],
    description=(
        "The storefront status mapped (status_map in the sync configuration file) from every storefront order's "
        "changed Brightpearl status, one PUT per change, through push.ledger; pushed after the shipments."
    ),
    tags={"table": "push.ledger"},
    **_PUSH_ASSET,
)
def storefront_order_statuses(
    context: dg.AssetExecutionContext, bigcommerce: BigCommerceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return materialize_push(context, "order_status", bigcommerce, warehouse, load_push_settings)


_EXTRACT_SPECS = [
    dg.AssetSpec(
        "storefront_orders",
        description=(
            "BigCommerce orders (V2) changed since the last run, with their lines, shipping addresses and shipments, "
            "into storefront.orders, order_products, order_shipping_addresses and shipments."
        ),
        group_name=STOREFRONT_GROUP,
        kinds=set(STOREFRONT_KINDS),
        tags={"table": "storefront.orders"},
    ),
    dg.AssetSpec(
        "storefront_customers",
        description="BigCommerce customers (V3) changed since the last run, into storefront.customers.",
        group_name=STOREFRONT_GROUP,
        kinds=set(STOREFRONT_KINDS),
        tags={"table": "storefront.customers"},
    ),
    dg.AssetSpec(
        "storefront_catalog",
        description=(
            "BigCommerce catalog products (V3) changed since the last run, with every variant and its SKU, into "
            "storefront.products and storefront.variants."
        ),
        group_name=STOREFRONT_GROUP,
        kinds=set(STOREFRONT_KINDS),
        tags={"table": "storefront.products"},
    ),
]


class StorefrontExtractConfig(dg.Config):
    initial_days: int | None = Field(
        default=30,
        description=(
            "First run only (no watermark yet): read storefront orders modified in the last N days; null = the "
            "whole history. Each order costs 3 more calls (lines, addresses, shipments). Customers and the "
            "catalog are always read whole on the first run."
        ),
    )


@dg.multi_asset(
    name="storefront_extract",
    specs=_EXTRACT_SPECS,
    can_subset=True,
    pool=STOREFRONT_POOL,
    retry_policy=PUSH_RETRY_POLICY,
)
def storefront_extract(
    context: dg.AssetExecutionContext,
    config: StorefrontExtractConfig,
    bigcommerce: BigCommerceResource,
    warehouse: WarehouseResource,
):
    """Incremental by date_modified (watermarks storefront.orders / .customers / .catalog in _sync.watermarks),
    every list paged to the end; reads the storefront only when the sync file has storefront.enabled."""
    yield from materialize_extract(context, bigcommerce, warehouse, load_extract_settings, config.initial_days)


@dg.asset(
    name="storefront_stock_levels",
    deps=["stock_levels", "products", "storefront_catalog"],
    description=(
        "Brightpearl's available stock (in stock minus allocated, summed over stock.warehouse_ids) pushed to the "
        "storefront by SKU where the storefront's level differs, in absolute adjustments of up to 2000 items, "
        "through push.ledger (kind stock). The storefront's previous figure is kept in storefront.inventory_drift."
    ),
    group_name=STOREFRONT_GROUP,
    kinds=set(STOREFRONT_KINDS),
    pool=STOREFRONT_POOL,
    retry_policy=PUSH_RETRY_POLICY,
    tags={"table": "storefront.inventory_drift"},
)
def storefront_stock_levels(
    context: dg.AssetExecutionContext, bigcommerce: BigCommerceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return materialize_stock(context, bigcommerce, warehouse, load_stock_warehouse_ids)


@dg.asset(
    name="storefront_order_import",
    # Storefront orders (what to import), products (row matching), contacts (customers by e-mail), shipping methods
    # and orders (already imported?) are read from the warehouse, so they are extracted first.
    deps=["storefront_orders", "products", "contacts", "shipping_methods", "orders"],
    description=(
        "Extracted storefront orders (storefront.orders) in an importable status (import.statuses in the sync "
        "configuration file) created once as Brightpearl sales orders, with the customer found or created by e-mail and rows matched by SKU/EAN/UPC. "
        "Through push.ledger (kind order_import); an order Brightpearl already has (by externalRef) is never "
        "created again; failures land in push.dead_letters."
    ),
    tags={"table": "push.ledger"},
    **_PUSH_ASSET,
)
def storefront_order_import(
    context: dg.AssetExecutionContext, brightpearl: BrightpearlResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return materialize_import(context, brightpearl, warehouse, load_import_settings)


@dg.asset(
    name="storefront_accounts",
    deps=["contacts", "contact_tags"],  # accounts.who: {tag: ...} is looked up in brightpearl.contact_tags
    description=(
        "B2B storefront accounts: every Brightpearl trade customer (credit limit or terms; or, with accounts.who: "
        "{tag: ...}, every contact with that contact tag) with a valid e-mail has "
        "a BigCommerce customer account, matched by e-mail, created when absent, updated when the ERP changed, in "
        "the customer group mapped from its price list (accounts.price_list_groups). Storefront accounts with no "
        "ERP contact are never touched. Through push.ledger (kind account)."
    ),
    tags={"table": "push.ledger"},
    group_name=STOREFRONT_GROUP,
    kinds=set(STOREFRONT_KINDS),
    pool=STOREFRONT_POOL,
    retry_policy=PUSH_RETRY_POLICY,
)
def storefront_accounts(
    context: dg.AssetExecutionContext, bigcommerce: BigCommerceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return materialize_accounts(context, bigcommerce, warehouse, load_account_settings)


storefront_assets = [
    storefront_shipments,
    storefront_order_statuses,
    storefront_extract,
    storefront_stock_levels,
    storefront_order_import,
    storefront_accounts,
]
