"""The `analytics` marts asset (group `analytics`): one Dagster asset per mart, built together on one writer
connection. The marts themselves (SQL, meaning, dependencies) are `bp_pipelines.lib.marts`."""

from collections.abc import Iterator

import dagster as dg
from pydantic import Field

from bp_pipelines.lib.conventions import ANALYTICS_GROUP, WRITER_POOL
from bp_pipelines.lib.marts import (
    MARTS,
    MARTS_BY_NAME,
    PREVIEW_ROWS,
    Mart,
    preview_markdown,
    refresh_marts,
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


class MartsConfig(dg.Config):
    rebuild_all: bool = Field(
        default=False,
        description="Rebuild every selected mart, even those whose SQL and input tables did not change since their "
        "last build (which are otherwise left as they are).",
    )


@dg.multi_asset(name="analytics_marts", specs=[mart_spec(mart) for mart in MARTS], can_subset=True, pool=WRITER_POOL)
def analytics_marts(
    context: dg.AssetExecutionContext, config: MartsConfig, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Rebuild the selected analyst marts whose inputs changed, then publish the snapshot analysts read.

    The marts are derived data: a rebuild replaces them whole (CREATE OR REPLACE TABLE ... AS), in a single
    transaction so a reader of the published file never sees half of them. A mart whose SQL and input tables are
    unchanged since its last build (same content hash) is not rebuilt, unless it reads the clock: a run that
    changed nothing costs a hash of the inputs, not a rebuild that grows with the account's history.
    """
    selected = [mart for mart in MARTS if dg.AssetKey(mart.name) in context.selected_asset_keys]
    with warehouse.connect_for_marts() as conn:
        builds = refresh_marts(
            conn, selected, warehouse.marts_memory_limit, context.log.warning, rebuild_all=config.rebuild_all
        )
        # the first rows of each mart, so analysts see data on the asset page without opening the file
        previews = {mart.name: preview_markdown(conn, mart) for mart in selected}
    published = warehouse.publish()
    rebuilt = sorted(name for name, build in builds.items() if build.rebuilt)
    kept = len(builds) - len(rebuilt)
    context.log.info(
        f"rebuilt {len(rebuilt)} of {len(builds)} marts ({', '.join(rebuilt) or 'none'})"
        + (f"; {kept} left as they were (SQL and input tables unchanged)" if kept else "")
        + f"; published {published}"
    )
    for key in context.selected_asset_keys:
        mart = MARTS_BY_NAME[key.to_user_string()]
        build = builds[mart.name]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(build.rows),
                "table": dg.MetadataValue.text(mart.table),
                "rebuilt": dg.MetadataValue.bool(build.rebuilt),
                "orders_updated": dg.MetadataValue.int(build.orders_updated),
                "why": dg.MetadataValue.text(build.reason),
                "preview": dg.MetadataValue.md(previews[mart.name]),
                "preview_rows": dg.MetadataValue.int(min(PREVIEW_ROWS, build.rows)),
            },
        )


analytics_assets = [analytics_marts]
