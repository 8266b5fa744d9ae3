"""The `analytics` marts asset (group `analytics`): one Dagster asset per mart, built together on one writer
connection. The marts themselves (SQL, meaning, dependencies) are `bp_pipelines.lib.marts`."""

from collections.abc import Iterator

import dagster as dg

from bp_pipelines.lib.conventions import ANALYTICS_GROUP, WRITER_POOL
from bp_pipelines.lib.marts import (
    MARTS,
    MARTS_BY_NAME,
    PREVIEW_ROWS,
    Mart,
    preview_markdown,
    rebuild_marts_within_memory,
)
from bp_pipelines.resources.warehouse import WarehouseResource


def mart_spec(mart: Mart) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=mart.name,
        deps=list(mart.deps),
        description=mart.description,
        group_name=ANALYTICS_GROUP,
        kinds={"duckdb"},
        metadata={"table": mart.table, "sql": mart.sql_path},
    )


@dg.multi_asset(name="analytics_marts", specs=[mart_spec(mart) for mart in MARTS], can_subset=True, pool=WRITER_POOL)
def analytics_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.MaterializeResult]:
    """Rebuild the selected analyst marts from the Brightpearl tables, then publish the snapshot analysts read.

    The marts are derived data: every run replaces them whole (CREATE OR REPLACE TABLE ... AS), in a single
    transaction so a reader of the published file never sees half of them. Built together on one short writer
    connection and published once, instead of one op, one connection and one snapshot copy per mart.
    """
    selected = [mart for mart in MARTS if dg.AssetKey(mart.name) in context.selected_asset_keys]
    with warehouse.connect() as conn:
        counts = rebuild_marts_within_memory(conn, selected, warehouse.memory_limit, context.log.warning)
        # the first rows of each mart, so analysts see data on the asset page without opening the file
        previews = {mart.name: preview_markdown(conn, mart) for mart in selected}
    published = warehouse.publish()
    context.log.info(f"rebuilt {len(counts)} marts and published {published}: {counts}")
    for key in context.selected_asset_keys:
        mart = MARTS_BY_NAME[key.to_user_string()]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(counts[mart.name]),
                "table": dg.MetadataValue.text(mart.table),
                "preview": dg.MetadataValue.md(previews[mart.name]),
                "preview_rows": dg.MetadataValue.int(min(PREVIEW_ROWS, counts[mart.name])),
            },
        )


analytics_assets = [analytics_marts]
