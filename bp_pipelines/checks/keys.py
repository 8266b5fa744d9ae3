"""Key checks for every Brightpearl table: the upsert key is unique and never NULL (deleted rows included).

A table whose PRIMARY KEY is exactly its upsert key cannot hold a duplicate or a NULL key (DuckDB refuses the
write), so its two key checks read the catalog instead of scanning the table (about 1 CPU-s per run at a million
orders). A table without that constraint (created by another loader, or rebuilt by hand) is scanned.
"""

from collections.abc import Iterator

import dagster as dg
import duckdb

from bp_pipelines.checks.common import count_and_sample, violation_result
from bp_pipelines.checks.registry import KEYED_TABLES
from bp_pipelines.lib.conventions import WRITER_POOL
from bp_pipelines.lib.warehouse.tables import Table
from bp_pipelines.resources.warehouse import WarehouseResource

UNIQUE = "key_is_unique"
NOT_NULL = "key_not_null"
SKU_UNIQUE = "sku_is_unique"


def duplicates_sql(table: Table) -> str:
    """Key values held by more than one row, most copies first."""
    keys = ", ".join(table.key)
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in table.key)
    return (
        f"SELECT {keys}, count(*) AS copies FROM {table.qualified} WHERE {not_null} "
        f"GROUP BY {keys} HAVING count(*) > 1 ORDER BY copies DESC, {keys}"
    )


def null_keys_sql(table: Table) -> str:
    any_null = " OR ".join(f"{k} IS NULL" for k in table.key)
    return f"SELECT {', '.join(table.key)} FROM {table.qualified} WHERE {any_null}"


# Duplicate SKUs among live products: Brightpearl allows them, but the storefront sync matches on SKU.
SKU_DUPLICATES_SQL = """
    SELECT sku, count(*) AS products, list(product_id ORDER BY product_id) AS product_ids
    FROM brightpearl.products
    WHERE is_deleted IS NOT TRUE AND nullif(trim(sku), '') IS NOT NULL
    GROUP BY sku HAVING count(*) > 1 ORDER BY sku
"""


def _specs() -> list[dg.AssetCheckSpec]:
    specs = []
    for table in KEYED_TABLES:
        cols = ", ".join(table.key)
        specs.append(dg.AssetCheckSpec(UNIQUE, asset=table.name, description=f"({cols}) identifies one row."))
        specs.append(dg.AssetCheckSpec(NOT_NULL, asset=table.name, description=f"No row has a NULL in ({cols})."))
    specs.append(
        dg.AssetCheckSpec(
            SKU_UNIQUE,
            asset="products",
            description="No two live products share a SKU (warning: the storefront sync matches products by SKU).",
        )
    )
    return specs


_TABLES_BY_ASSET = {dg.AssetKey(t.name): t for t in KEYED_TABLES}


PRIMARY_KEYS_SQL = """
    SELECT schema_name || '.' || table_name, constraint_column_names
    FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'
"""


def primary_keys(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    """`schema.table` -> its PRIMARY KEY columns, for the tables that have one."""
    return {name: tuple(cols) for name, cols in conn.execute(PRIMARY_KEYS_SQL).fetchall()}


def evaluate(
    conn: duckdb.DuckDBPyConnection, key: dg.AssetCheckKey, pks: dict[str, tuple[str, ...]]
) -> dg.AssetCheckResult:
    """`pks`: the tables' PRIMARY KEYs (`primary_keys`), read once per step."""
    table = _TABLES_BY_ASSET[key.asset_key]
    if key.name in (UNIQUE, NOT_NULL) and pks.get(table.qualified) == tuple(table.key):
        return violation_result(
            key, 0, [], severity=dg.AssetCheckSeverity.ERROR, description="", extra={"enforced_by": "PRIMARY KEY"}
        )
    if key.name == UNIQUE:
        sql, severity, what = duplicates_sql(table), dg.AssetCheckSeverity.ERROR, "duplicated key value(s)"
    elif key.name == NOT_NULL:
        sql, severity, what = null_keys_sql(table), dg.AssetCheckSeverity.ERROR, "row(s) with a NULL key column"
    else:
        sql, severity, what = SKU_DUPLICATES_SQL, dg.AssetCheckSeverity.WARN, "SKU(s) shared by live products"
    n, sample = count_and_sample(conn, sql)
    return violation_result(key, n, sample, severity=severity, description=f"{n} {what} in {table.qualified}")


@dg.multi_asset_check(specs=_specs(), can_subset=True, name="brightpearl_key_checks", pool=WRITER_POOL)
def brightpearl_key_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    """Keys of the Brightpearl tables: unique and not null, plus unique SKUs among live products."""
    with warehouse.connect() as conn:
        pks = primary_keys(conn)
        for key in sorted(context.selected_asset_check_keys, key=str):
            yield evaluate(conn, key, pks)
