"""Rebuild marts in one DuckDB transaction: temp views with the shared rules, then CREATE OR REPLACE TABLE ... AS."""

from __future__ import annotations

from collections.abc import Iterable
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
