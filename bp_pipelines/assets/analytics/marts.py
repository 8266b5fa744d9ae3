"""The `analytics` marts asset: one Dagster asset per mart, built together on one writer connection."""

from collections.abc import Iterator

import dagster as dg

from bp_pipelines.assets.analytics.build import rebuild_marts
from bp_pipelines.assets.analytics.specs import MARTS, MARTS_BY_KEY, SCHEMA
from bp_pipelines.resources.warehouse import WarehouseResource


@dg.multi_asset(
    name="analytics_marts",
    specs=[mart.spec() for mart in MARTS],
    can_subset=True,
    pool="duckdb_writer",
)
def analytics_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.MaterializeResult]:
    """Rebuild the selected analyst marts from the Brightpearl tables, then publish the snapshot analysts read.

    The marts are derived data: every run replaces them whole (CREATE OR REPLACE TABLE ... AS), in a single
    transaction so a reader of the published file never sees half of them. Built together on one short writer
    connection and published once, instead of one op, one connection and one snapshot copy per mart.
    """
    selected = [mart for mart in MARTS if mart.key in context.selected_asset_keys]
    with warehouse.connect() as conn:
        counts = rebuild_marts(conn, selected)
    published = warehouse.publish()
    context.log.info("rebuilt %s marts and published %s: %s", len(counts), published, counts)
    for key in context.selected_asset_keys:
        mart = MARTS_BY_KEY[key]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(counts[mart.name]),
                "table": dg.MetadataValue.text(f"{SCHEMA}.{mart.name}"),
            },
        )
