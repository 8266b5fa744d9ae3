"""Rebuild marts in one DuckDB transaction: temp views with the shared rules, then CREATE OR REPLACE TABLE ... AS."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import duckdb

from .marts import PRELUDE_VIEWS, SCHEMA, STORED_SCHEMA, Mart


@cache
def read_sql(name: str) -> str:
    """Text of `sql/<name>.sql` (a single SELECT, no trailing semicolon)."""
    text = resources.files(__package__).joinpath("sql", f"{name}.sql").read_text()
    return text.strip().rstrip(";")


def create_prelude(conn: duckdb.DuckDBPyConnection) -> None:
    """Temporary views visible to this connection only: the shared order classification and per-order stats."""
    for view in PRELUDE_VIEWS:
        conn.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS\n{read_sql(view)}")


def rebuild_marts(
    conn: duckdb.DuckDBPyConnection, marts: Iterable[Mart], fingerprints: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Replace each mart table (and the view of a mart with clock columns) atomically (all or none) and return its
    row count. With `fingerprints` (mart name -> fingerprint of what it was built from), `_sync.marts` records the
    builds in the same transaction."""
    marts = list(marts)
    create_prelude(conn)
    counts: dict[str, int] = {}
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {STORED_SCHEMA}")
        views = _names(conn, "view", SCHEMA)
        for mart in marts:
            # a mart that changed kind (table <-> view with clock columns) is dropped first: CREATE OR REPLACE
            # does not replace a table with a view
            if mart.clock and mart.name not in views:
                conn.execute(f"DROP TABLE IF EXISTS {mart.table}")
            elif not mart.clock and mart.name in views:
                conn.execute(f"DROP VIEW {mart.table}")
                conn.execute(f"DROP TABLE IF EXISTS {STORED_SCHEMA}.{mart.name}")
            conn.execute(f"CREATE OR REPLACE TABLE {mart.stored} AS\n{read_sql(mart.name)}")
            if mart.clock:
                conn.execute(f"CREATE OR REPLACE VIEW {mart.table} AS {mart.view_sql()}")
            row = conn.execute(f"SELECT count(*) FROM {mart.stored}").fetchone()
            counts[mart.name] = int(row[0]) if row else 0
            if fingerprints is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO _sync.marts VALUES (?, ?, now(), ?)",
                    [mart.name, fingerprints[mart.name], counts[mart.name]],
                )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return counts


def _names(conn: duckdb.DuckDBPyConnection, kind: Literal["table", "view"], schema: str) -> set[str]:
    """The tables (or views) in `schema` of the warehouse (not the connection's temp objects)."""
    rows = conn.execute(
        f"SELECT {kind}_name FROM duckdb_{kind}s() WHERE schema_name = ? AND database_name = current_database()",
        [schema],
    ).fetchall()
    return {name for (name,) in rows}


# ------------------------------------------------------------------ what a mart is built from
# Every table a mart reads is named with its schema (tests/integration/test_marts.py holds the SQL to that); the
# prelude views it reads count with their own tables.
_TABLE = re.compile(r"\b(?:brightpearl|storefront|push|_sync)\.[a-z_][a-z0-9_]*\b")
_CLOCK = re.compile(r"\b(?:now|current_timestamp|current_date|get_current_timestamp|today)\b", re.IGNORECASE)


@cache
def _code(name: str) -> str:
    """The SQL of `sql/<name>.sql` without comments and text literals (prose and push.state keys such as
    'storefront.status_map' name no table)."""
    return re.sub(r"'[^']*'", "''", re.sub(r"--[^\n]*", "", read_sql(name)))


@cache
def sql_closure(name: str) -> tuple[str, ...]:
    """The SQL files a mart's build reads: its own and the prelude views it (or they) select from."""
    seen: list[str] = []
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        todo += [v for v in PRELUDE_VIEWS if re.search(rf"\b{v}\b", _code(current))]
    return tuple(seen)


@cache
def input_tables(name: str) -> tuple[str, ...]:
    """The warehouse tables (schema.table) a mart's build reads, directly or through the prelude views."""
    return tuple(sorted({t for part in sql_closure(name) for t in _TABLE.findall(_code(part))}))


@cache
def reads_clock(name: str) -> bool:
    """The mart reads the time (e.g. overdue = due date before now()): it changes without its inputs changing."""
    return any(_CLOCK.search(_code(part)) for part in sql_closure(name))


def table_fingerprint(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    """Row count and an order-independent hash of every row's content (~0.3 s for 1M orders, against ~20 s to
    rebuild the marts that read them); 'missing' for a table that does not exist."""
    try:
        row = conn.execute(f"SELECT count(*), sum(hash(*COLUMNS(*))) FROM {table}").fetchone()
    except duckdb.CatalogException:
        return "missing"
    return f"{row[0]}:{row[1]}" if row else "missing"


def mart_fingerprints(conn: duckdb.DuckDBPyConnection, marts: Iterable[Mart]) -> dict[str, str]:
    """Mart name -> sha256 of its SQL (and its views') and of the fingerprint of each table it reads."""
    tables: dict[str, str] = {}
    out: dict[str, str] = {}
    for mart in marts:
        digest = hashlib.sha256()
        for part in sql_closure(mart.name):
            digest.update(f"{part}\n{read_sql(part)}\n".encode())
        if mart.clock:
            digest.update(f"view\n{mart.view_sql()}\n".encode())
        for table in input_tables(mart.name):
            if table not in tables:
                tables[table] = table_fingerprint(conn, table)
            digest.update(f"{table}={tables[table]}\n".encode())
        out[mart.name] = digest.hexdigest()
    return out


@dataclass(frozen=True)
class MartBuild:
    """What became of one mart in a refresh."""

    rows: int
    rebuilt: bool
    reason: str  # why it was rebuilt, or since when it is unchanged


def refresh_marts(
    conn: duckdb.DuckDBPyConnection,
    marts: Iterable[Mart],
    configured: str,
    warn: Callable[[str], None],
    *,
    rebuild_all: bool = False,
) -> dict[str, MartBuild]:
    """Rebuild the marts whose SQL or input tables changed since their last build (or that read the clock, are
    missing, or all with `rebuild_all`), in one transaction; the others are left as they are. At 1M orders a run that
    changed nothing costs the hash of the inputs (~0.7 s) and the storefront marts that filter on the clock, not a
    rebuild of every mart (~30 s). Clock columns (overdue, age) are views computed when queried, no rebuild."""
    marts = list(marts)
    fingerprints = mart_fingerprints(conn, marts)
    stored = {
        name: (fingerprint, built_at, rows)
        for name, fingerprint, built_at, rows in conn.execute(
            "SELECT mart, fingerprint, built_at, row_count FROM _sync.marts"
        ).fetchall()
    }
    tables = {
        SCHEMA: _names(conn, "table", SCHEMA),
        STORED_SCHEMA: _names(conn, "table", STORED_SCHEMA),
    }
    views = _names(conn, "view", SCHEMA)
    existing = {
        mart.name
        for mart in marts
        if (mart.name in tables[STORED_SCHEMA] and mart.name in views if mart.clock else mart.name in tables[SCHEMA])
    }
    reasons: dict[str, str] = {}
    for mart in marts:
        if rebuild_all:
            reasons[mart.name] = "rebuild_all"
        elif mart.name not in existing or mart.name not in stored:
            reasons[mart.name] = "first build"
        elif reads_clock(mart.name):
            reasons[mart.name] = "reads the clock (now())"
        elif stored[mart.name][0] != fingerprints[mart.name]:
            reasons[mart.name] = "its SQL or input tables changed"
    stale = [mart for mart in marts if mart.name in reasons]
    if stale:
        # On a copy of a 1M-order warehouse, a rebuild after earlier rebuilds and an UPDATE that no checkpoint had
        # written yet ran out of memory at 96, 183 and 366 MiB; after a CHECKPOINT it built at 96. The pipeline's
        # assets checkpoint when they publish, so this is usually a no-op.
        with contextlib.suppress(duckdb.Error):  # another connection's transaction is open: build without it
            conn.execute("CHECKPOINT")
    counts = rebuild_marts_within_memory(conn, stale, configured, warn, fingerprints) if stale else {}
    out: dict[str, MartBuild] = {}
    for mart in marts:
        if mart.name in reasons:
            out[mart.name] = MartBuild(counts[mart.name], True, reasons[mart.name])
        else:
            _, built_at, rows = stored[mart.name]
            out[mart.name] = MartBuild(int(rows), False, f"inputs unchanged since {built_at:%Y-%m-%d %H:%M:%S %Z}")
    return out


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
    conn: duckdb.DuckDBPyConnection,
    marts: Iterable[Mart],
    configured: str,
    warn: Callable[[str], None],
    fingerprints: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """`rebuild_marts` on a connection opened with memory_limit `configured`; when DuckDB runs out of memory, warn
    and retry with twice the limit (up to MEMORY_GROWTH_MAX times the configured one), then restore `configured`."""
    marts = list(marts)
    base = limit = size_bytes(configured)
    try:
        while True:
            try:
                return rebuild_marts(conn, marts, fingerprints)
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
