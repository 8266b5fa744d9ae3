"""Goods-out notes (shipments) and their rows.

Goods-out notes have no `updatedOn`. A partition/window selects notes CREATED in it, notes SHIPPED in it, and
every note still unshipped (its printed/picked/packed status can move at any time); the status columns of the
search rows decide which of those changed and are fetched. Partitions are UTC days of createdOn ∪ shippedOn.
"""

from collections.abc import Iterator

import dagster as dg

from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

from . import entities
from .config import SyncConfig
from .execution import GROUP, POOL, materialize_entity
from .partitions import daily_partitions


@dg.multi_asset(
    name="goods_out_notes_and_rows",
    specs=[
        dg.AssetSpec(
            "goods_out_notes",
            group_name=GROUP,
            deps=["orders", "warehouses", "shipping_methods"],
            kinds={"duckdb", "brightpearl"},
            description=(
                "Shipments: one row per Brightpearl goods-out note with its order, warehouse, pick/pack/ship status "
                "and times (UTC), shipping method and tracking reference. An order can have several notes (one per "
                "warehouse, back orders)."
            ),
        ),
        dg.AssetSpec(
            "goods_out_note_rows",
            group_name=GROUP,
            deps=["goods_out_notes"],
            kinds={"duckdb", "brightpearl"},
            description="What each shipment contains: quantity per order row and product (summed over pick locations).",
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=POOL,
)
def goods_out_notes_and_rows(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """Goods-out notes and their rows from goods-out searches and ID-set GETs of 500 notes."""
    yield from materialize_entity(
        context, config, entities.GOODS_OUT_NOTES, brightpearl, warehouse, child_key="goods_out_note_rows"
    )
