"""Products and contacts: master data, partitioned by the UTC day of `updatedOn`."""

from collections.abc import Iterator

import dagster as dg

from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

from . import entities
from .config import SyncConfig
from .execution import GROUP, POOL, materialize_entity
from .partitions import daily_partitions


@dg.asset(
    name="products",
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=POOL,
    kinds={"duckdb", "brightpearl"},
    tags={"table": "brightpearl.products"},
)
def products(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """The product catalogue: one row per Brightpearl product (SKU, identifiers, brand, type, status, whether
    stock is tracked and whether it is a bundle). Joins order rows, goods-out rows and stock levels by
    product_id. Products removed from Brightpearl stay with is_deleted=true."""
    yield from materialize_entity(context, config, entities.PRODUCTS, brightpearl, warehouse)


@dg.asset(
    name="contacts",
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=POOL,
    kinds={"duckdb", "brightpearl"},
    tags={"table": "brightpearl.contacts"},
)
def contacts(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """Customers, suppliers and staff: one row per Brightpearl contact with primary email, company, role flags,
    price list and credit terms. Orders point here through contact_id (the customer, or the supplier of a
    purchase order)."""
    yield from materialize_entity(context, config, entities.CONTACTS, brightpearl, warehouse)
