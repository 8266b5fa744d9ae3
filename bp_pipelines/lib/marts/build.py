"""Rebuild marts in one DuckDB transaction: temp views with the shared rules, then CREATE OR REPLACE TABLE ... AS."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources

import duckdb

from .marts import PRELUDE_VIEWS, SCHEMA, Mart


@cache
def read_sql(name: str) -> str:
    """Text of `sql/<name>.sql` (a single SELECT, no trailing semicolon)."""
    text = resources.files(__package__).joinpath("sql", f"{name}.sql").read_text()
    return text.strip().rstrip(";")


def create_prelude(conn: duckdb.DuckDBPyConnection) -> None:
    """Temporary views visible to this connection only: the shared order classification and per-order stats."""
    for view in PRELUDE_VIEWS:
        conn.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS\n{read_sql(view)}")


def rebuild_marts(conn: duckdb.DuckDBPyConnection, marts: Iterable[Mart]) -> dict[str, int]:
    """Replace each mart table atomically (all or none) and return its row count."""
    marts = list(marts)
    create_prelude(conn)
    counts: dict[str, int] = {}
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        for mart in marts:
            table = f"{SCHEMA}.{mart.name}"
            conn.execute(f"CREATE OR REPLACE TABLE {table} AS\n{read_sql(mart.name)}")
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[mart.name] = int(row[0]) if row else 0
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return counts


# The marts join per-order aggregates to every order, and DuckDB keeps those join tables in memory (it did not
# spill them). Each mart now joins one large aggregate at a time and all fit in 96 MB at 1M orders (80 MB does
# not); a larger account would outgrow any fixed limit, so the rebuild is retried with the limit doubled.
MEMORY_GROWTH_MAX = 8
_SIZE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]?i?B)\s*$", re.IGNORECASE)
_UNIT = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def size_bytes(text: str) -> int | None:
    """`"128MB"`, `"122.0 MiB"` -> bytes, as DuckDB reads a memory size (None for anything else)."""
    match = _SIZE.match(text)
    return int(float(match[1]) * _UNIT[match[2].upper()]) if match else None


def rebuild_marts_within_memory(
    conn: duckdb.DuckDBPyConnection, marts: Iterable[Mart], configured: str, warn: Callable[[str], None]
) -> dict[str, int]:
    """`rebuild_marts` on a connection opened with memory_limit `configured`; when DuckDB runs out of memory, warn
    and retry with twice the limit (up to MEMORY_GROWTH_MAX times the configured one), then restore `configured`."""
    marts = list(marts)
    base = limit = size_bytes(configured)
    try:
        while True:
            try:
                return rebuild_marts(conn, marts)
            except duckdb.OutOfMemoryException as exc:
                if base is None or limit is None or limit * 2 > base * MEMORY_GROWTH_MAX:
                    raise
                limit *= 2
                warn(
                    f"analytics marts: DuckDB ran out of memory ({str(exc).splitlines()[0][:120]}); retrying with "
                    f"memory_limit {limit // 2**20} MiB (configured: {configured}). Raise "
                    "WarehouseResource.memory_limit to skip the retry."
                )
                conn.execute(f"SET memory_limit = '{limit // 2**20}MiB'")
    finally:
        if limit != base:
            try:
                conn.execute(f"SET memory_limit = '{configured}'")
            except duckdb.Error:  # blocks still held: the database keeps the larger limit until it is closed
                warn(
                    f"analytics marts: memory_limit stays at {limit // 2**20 if limit else '?'} MiB until the "
                    "warehouse closes"
                )


PREVIEW_ROWS = 10


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def preview_markdown(conn: duckdb.DuckDBPyConnection, mart: Mart, rows: int = PREVIEW_ROWS) -> str:
    """The mart's first rows as a Markdown table (the materialization's `preview` in the Dagster UI)."""
    cursor = conn.execute(f"SELECT * FROM {SCHEMA}.{mart.name} LIMIT {int(rows)}")
    names = [d[0] for d in cursor.description or []]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in cursor.fetchall()]
    return "\n".join(lines)
