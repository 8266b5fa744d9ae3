"""Analyst helpers: the published warehouse snapshot as pandas DataFrames or printed tables (docs/warehouse.md).

    from bp_pipelines.analysis import query_df, mart_df
    df = query_df("SELECT currency_code, sum(total_value) AS total FROM brightpearl.orders GROUP BY 1")
    accounts = mart_df("customer_accounts")

Both open the **published** snapshot (`BP_WAREHOUSE_PATH`, default `warehouse.duckdb`) read-only, so they never
block a sync and never change the file. Money stays exact: DuckDB's `.df()` turns DECIMAL into float64
(0.1 + 0.2 != 0.3), so DECIMAL columns are read as text and arrive as `decimal.Decimal` objects (dtype object);
`pd.to_numeric(df[col])` gives floats when you want them for a chart.

pandas is imported here only: the extraction and the marts never load it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from bp_pipelines import settings
from bp_pipelines.lib.marts.marts import MARTS_BY_NAME, SCHEMA

__all__ = ["SnapshotMissingError", "connect", "mart_df", "query_df", "relation_df", "show"]


class SnapshotMissingError(FileNotFoundError):
    """No published warehouse at the path: nothing has been synced there yet."""


def snapshot_path(path: str | Path | None = None) -> Path:
    return Path(path).expanduser().resolve() if path is not None else settings.warehouse_path()


def connect(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only session on the published snapshot (UTC), with a clear message when there is none yet."""
    target = snapshot_path(path)
    if not target.exists():
        raise SnapshotMissingError(
            f"no published warehouse at {target}: run `make run` first (it syncs the sandbox, or Brightpearl when "
            "BRIGHTPEARL_* is set, and publishes the snapshot), or point BP_WAREHOUSE_PATH at your warehouse file."
        )
    if target.name.endswith(".writer.duckdb"):
        raise ValueError(f"{target} is the pipeline's private working file: open the published snapshot instead")
    conn = duckdb.connect(str(target), read_only=True)
    conn.execute("SET TimeZone = 'UTC'")
    return conn


def _decimal(value: Any) -> Decimal | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else Decimal(value)


def relation_df(rel: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """A relation as a DataFrame, DECIMAL columns as exact `decimal.Decimal` (dtype object), the rest as `.df()`."""
    decimals = [name for name, dtype in zip(rel.columns, rel.types, strict=True) if str(dtype).startswith("DECIMAL")]
    if decimals:
        quoted = {n: '"' + n.replace('"', '""') + '"' for n in rel.columns}
        cols = ", ".join(
            f"CAST({quoted[n]} AS VARCHAR) AS {quoted[n]}" if n in decimals else quoted[n] for n in rel.columns
        )
        rel = rel.project(cols)
    with warnings.catch_warnings():
        # pandas 3.1 warns about duckdb's TIMESTAMPTZ conversion (a future-behaviour notice, not a problem here)
        warnings.simplefilter("ignore", DeprecationWarning)
        df = rel.df()
    for name in decimals:
        df[name] = pd.Series([_decimal(v) for v in df[name].tolist()], index=df.index, dtype=object)
    return df


def query_df(sql: str, params: Sequence[Any] | None = None, *, path: str | Path | None = None) -> pd.DataFrame:
    """The result of one SELECT on the published snapshot (`?` placeholders take `params`)."""
    conn = connect(path)
    try:
        rel = conn.sql(sql, params=list(params)) if params else conn.sql(sql)
        if rel is None:
            raise ValueError("query_df takes a query that returns rows (a SELECT), not a statement")
        return relation_df(rel)
    finally:
        conn.close()


def mart_df(name: str, *, limit: int | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """A whole mart of schema `analytics` (e.g. "customer_accounts"), optionally its first `limit` rows."""
    if name not in MARTS_BY_NAME:
        raise ValueError(f"unknown mart {name!r}: one of {', '.join(sorted(MARTS_BY_NAME))}")
    sql = f"SELECT * FROM {SCHEMA}.{name}" + (f" LIMIT {int(limit)}" if limit is not None else "")
    return query_df(sql, path=path)


def show(sql: str, *, path: str | Path | None = None, max_rows: int = 50) -> None:
    """`make sql`: print the query's result as DuckDB's box table, every column (no pandas, no extra install)."""
    conn = connect(path)
    try:
        rel = conn.sql(sql)
        if rel is None:  # a statement without a result (e.g. SET)
            print("(no rows: not a query)")
            return
        rel.show(max_width=10_000, max_rows=max_rows)  # its footer says "N rows (M shown)" when cut
    finally:
        conn.close()
