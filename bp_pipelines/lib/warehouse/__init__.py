"""The warehouse: DDL (`schema.sql`), table registry (`tables`), batch upserts (`upsert`), the `_sync` bookkeeping
(`bookkeeping`) and the DuckDB file itself (`storage`). No Dagster here."""

from .storage import SNAPSHOT_WATERMARKS, DuckDBWarehouse, schema_sql
from .tables import ALL_TABLES, Table
from .upsert import Counts

__all__ = ["ALL_TABLES", "SNAPSHOT_WATERMARKS", "Counts", "DuckDBWarehouse", "Table", "schema_sql"]
