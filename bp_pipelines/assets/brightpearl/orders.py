"""Orders and their rows: one search + ID-set GET feeds both tables (partitioned by the UTC day of `updatedOn`)."""

from collections.abc import Iterator

import dagster as dg

from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

from . import entities
from .config import SyncConfig
from .execution import GROUP, POOL, materialize_entity
from .partitions import daily_partitions


@dg.multi_asset(
    name="orders_and_rows",
    specs=[
        dg.AssetSpec(
            "orders",
            group_name=GROUP,
            deps=["order_statuses", "warehouses", "channels"],
            kinds={"duckdb", "brightpearl"},
            description=(
                "Sales orders, sales credits, purchase orders and purchase credits: one row per Brightpearl order "
                "with its status, customer/supplier (contact_id), channel, warehouse, currency, totals (DECIMAL), "
                "payment and shipping status, invoice reference and dates (UTC). Orders deleted in Brightpearl "
                "stay with is_deleted=true."
            ),
        ),
        dg.AssetSpec(
            "order_rows",
            group_name=GROUP,
            deps=["orders"],
            kinds={"duckdb", "brightpearl"},
            description=(
                "Order lines: product, SKU, quantity, unit price, net and tax per row. Replaced as a whole whenever "
                "their order changes, so a line removed in Brightpearl disappears here too."
            ),
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=POOL,
)
def orders_and_rows(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """Orders and order rows from one order-search and ID-set GETs of 200 orders."""
    yield from materialize_entity(context, config, entities.ORDERS, brightpearl, warehouse, child_key="order_rows")
