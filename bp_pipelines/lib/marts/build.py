"""Rebuild marts in one DuckDB transaction: temp views with the shared rules, then CREATE OR REPLACE TABLE ... AS."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Literal

import duckdb

from bp_pipelines.lib.warehouse.storage import size_bytes

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
    conn: duckdb.DuckDBPyConnection, marts: Iterable[Mart], inputs: Mapping[str, Inputs] | None = None
) -> dict[str, int]:
    """Replace each mart table (and the view of a mart with clock columns) atomically (all or none) and return its
    row count. With `inputs` (mart name -> what it is built from), `_sync.marts` and `_sync.mart_inputs` record the
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
            if mart.group:  # every order's group now, for the next in-place update (all orders: deleted ones too)
                conn.execute(
                    f"CREATE OR REPLACE TABLE {mart.order_groups_table} AS "
                    f"SELECT o.order_id, {mart.group[1]} AS grp FROM brightpearl.orders AS o"
                )
            row = conn.execute(f"SELECT count(*) FROM {mart.stored}").fetchone()
            counts[mart.name] = int(row[0]) if row else 0
            if inputs is not None:
                _record(conn, mart, inputs[mart.name], counts[mart.name])
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


def table_state(conn: duckdb.DuckDBPyConnection, table: str, synced: bool) -> tuple[str, datetime | None]:
    """The table's fingerprint: row count and an order-independent hash of every row's content (~0.3 s for 1M orders,
    against ~20 s to rebuild the marts that read them), 'missing' for a table that does not exist; with `synced`, also
    its newest `_synced_at` (when this pipeline last changed a row of it)."""
    newest = ", max(_synced_at)" if synced else ""
    try:
        row = conn.execute(f"SELECT count(*), sum(hash(*COLUMNS(*))){newest} FROM {table}").fetchone()
    except duckdb.CatalogException:
        return "missing", None
    if not row:
        return "missing", None
    return f"{row[0]}:{row[1]}", row[2] if synced else None


@dataclass(frozen=True)
class Inputs:
    """What a mart is built from, now: the digest of its SQL (and its views') and, per input table, its fingerprint
    and newest `_synced_at` (tables in IN_PLACE_TABLES only)."""

    sql: str
    tables: Mapping[str, tuple[str, datetime | None]]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(f"sql={self.sql}\n".encode())
        for table, (fingerprint, _) in sorted(self.tables.items()):
            digest.update(f"{table}={fingerprint}\n".encode())
        return digest.hexdigest()


def sql_digest(mart: Mart) -> str:
    digest = hashlib.sha256()
    for part in sql_closure(mart.name):
        digest.update(f"{part}\n{read_sql(part)}\n".encode())
    if mart.clock:
        digest.update(f"view\n{mart.view_sql()}\n".encode())
    return digest.hexdigest()


def mart_inputs(conn: duckdb.DuckDBPyConnection, marts: Iterable[Mart]) -> dict[str, Inputs]:
    """Mart name -> what it is built from now (each table is hashed once, however many marts read it)."""
    tables: dict[str, tuple[str, datetime | None]] = {}
    out: dict[str, Inputs] = {}
    for mart in marts:
        for table in input_tables(mart.name):
            if table not in tables:
                tables[table] = table_state(conn, table, synced=table in IN_PLACE_TABLES)
        out[mart.name] = Inputs(sql_digest(mart), {t: tables[t] for t in input_tables(mart.name)})
    return out


def _record(conn: duckdb.DuckDBPyConnection, mart: Mart, inputs: Inputs, rows: int) -> None:
    """Note the build in `_sync.marts` and what it read in `_sync.mart_inputs` (inside the build's transaction)."""
    conn.execute("INSERT OR REPLACE INTO _sync.marts VALUES (?, ?, now(), ?)", [mart.name, inputs.fingerprint, rows])
    conn.execute("DELETE FROM _sync.mart_inputs WHERE mart = ?", [mart.name])
    conn.execute(
        "INSERT INTO _sync.mart_inputs SELECT ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::TIMESTAMPTZ[])",
        [
            mart.name,
            ["sql", *inputs.tables],
            [inputs.sql, *(fingerprint for fingerprint, _ in inputs.tables.values())],
            [None, *(synced for _, synced in inputs.tables.values())],
        ],
    )


# ------------------------------------------------------------------ marts updated in place
# A mart with `Mart.key = "order_id"` has one row per order, made from that order's rows in IN_PLACE_TABLES (and its
# contact, and small tables such as statuses and channels). When only those tables changed since its last build, the
# orders whose records changed since (by `_synced_at`, which the upserts move only when a row really changed) are
# deleted from the mart and built again by the same SQL reading only those orders: an incremental run of a 1M-order
# account costs what it changed, not a rebuild (~19 CPU-s). Anything else (its SQL, another table, a change no
# `_synced_at` explains, e.g. a clock set back) rebuilds the mart whole.
# A mart with `Mart.group` (one row per customer, per day...) is updated the same way per group: the groups of the
# changed orders before the change (its order -> group map, kept with the mart) and after it are deleted and built
# again from all the orders of those groups.
ORDER_TABLES: tuple[str, ...] = (
    "brightpearl.orders",
    "brightpearl.order_rows",
    "brightpearl.goods_out_notes",
    "brightpearl.customer_payments",
)
CONTACTS = "brightpearl.contacts"  # a changed contact touches the mart rows of its orders
IN_PLACE_TABLES: tuple[str, ...] = (*ORDER_TABLES, CONTACTS)
_ORDER_TABLE = re.compile(r"\b(?:" + "|".join(re.escape(table) for table in ORDER_TABLES) + r")\b")


def changed_since(mart: Mart, now: Inputs, before: Mapping[str, tuple[str, datetime | None]]) -> dict[str, datetime]:
    """The tables that changed since the mart's last build, each with its newest `_synced_at` then, when the mart can
    be updated in place; {} when it cannot (no key, its SQL changed, another table changed, nothing recorded)."""
    if (mart.key is None and mart.group is None) or before.get("sql", ("", None))[0] != now.sql:
        return {}
    changed: dict[str, datetime] = {}
    for table, (fingerprint, _) in now.tables.items():
        if table not in before:
            return {}
        old_fingerprint, old_synced = before[table]
        if old_fingerprint == fingerprint:
            continue
        if table not in IN_PLACE_TABLES or old_synced is None:
            return {}
        changed[table] = old_synced
    return changed


def explained(conn: duckdb.DuckDBPyConnection, changed: Mapping[str, datetime]) -> bool:
    """Every changed table holds a row written since the given time: else the change shows in no `_synced_at` (e.g.
    a clock set back) and only a whole rebuild is safe."""
    return all(
        conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE _synced_at > ?)", [since]).fetchone() == (True,)
        for table, since in changed.items()
    )


def _orders_changed(conn: duckdb.DuckDBPyConnection, changed: Mapping[str, datetime]) -> None:
    """Fill temp table `_orders_to_update` with the orders whose records changed since the given times."""
    selects: list[str] = []
    for table in changed:
        if table == CONTACTS:
            selects.append(
                "SELECT order_id FROM brightpearl.orders WHERE contact_id IN "
                f"(SELECT contact_id FROM {table} WHERE _synced_at > ?)"
            )
        else:
            selects.append(f"SELECT order_id FROM {table} WHERE _synced_at > ?")
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _orders_to_update AS SELECT DISTINCT order_id FROM ("
        + " UNION ALL ".join(selects)
        + ") WHERE order_id IS NOT NULL",
        list(changed.values()),
    )
    # the changed contacts themselves (a contact with no orders still has its row in customer_accounts)
    since = changed.get(CONTACTS)
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _contacts_changed AS SELECT contact_id FROM brightpearl.contacts "
        + ("WHERE _synced_at > ?" if since is not None else "WHERE false"),
        [since] if since is not None else [],
    )


def _changed_view(table: str) -> str:
    """The temp view of `table`'s rows of the orders being updated (brightpearl.orders -> _changed_orders)."""
    return f"_changed_{table.split('.')[1]}"


def _only_changed(sql: str) -> str:
    """`sql` reading the `_changed_<table>` views instead of ORDER_TABLES."""
    return _ORDER_TABLE.sub(lambda match: _changed_view(match[0]), sql)


def _rebuild_rows(conn: duckdb.DuckDBPyConnection, mart: Mart, orders: str, delete_where: str) -> None:
    """Delete the mart's rows matching `delete_where` and insert the SQL's rows built from the orders in temp table
    `orders` only: the SQL (and the shared views) read filtered views of ORDER_TABLES, so every per-order aggregate
    sees only those orders; the connection's shared views are restored after."""
    for table in ORDER_TABLES:
        conn.execute(
            f"CREATE OR REPLACE TEMP VIEW {_changed_view(table)} AS SELECT * FROM {table} "
            f"WHERE order_id IN (SELECT order_id FROM {orders})"
        )
    sql = _only_changed(read_sql(mart.name))
    if mart.group_contacts:  # the contacts are the groups: only those being rebuilt
        conn.execute(
            f"CREATE OR REPLACE TEMP VIEW {_changed_view(CONTACTS)} AS SELECT * FROM {CONTACTS} "
            "WHERE contact_id IN (SELECT grp FROM _groups_to_update)"
        )
        sql = re.sub(rf"\b{re.escape(CONTACTS)}\b", _changed_view(CONTACTS), sql)
    try:
        for view in PRELUDE_VIEWS:
            conn.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS\n{_only_changed(read_sql(view))}")
        conn.execute(f"DELETE FROM {mart.stored} WHERE {delete_where}")
        conn.execute(f"INSERT INTO {mart.stored}\n{sql}")
    finally:
        create_prelude(conn)


def update_in_place(conn: duckdb.DuckDBPyConnection, mart: Mart) -> int:
    """Replace the mart's rows of the orders in `_orders_to_update` (a per-order mart) or of their groups (a group
    mart) by the SQL's rows for them; returns how many orders (groups) were rebuilt."""
    if mart.key is not None:
        _rebuild_rows(conn, mart, "_orders_to_update", f"{mart.key} IN (SELECT order_id FROM _orders_to_update)")
        row = conn.execute("SELECT count(*) FROM _orders_to_update").fetchone()
        return int(row[0]) if row else 0
    assert mart.group is not None
    column, expression, _ = mart.group
    # The groups of the changed orders before (the map) and after the change; a NULL group is a group too.
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _groups_to_update AS "
        f"SELECT grp FROM {mart.order_groups_table} WHERE order_id IN (SELECT order_id FROM _orders_to_update) "
        f"UNION SELECT {expression} FROM brightpearl.orders AS o "
        "WHERE o.order_id IN (SELECT order_id FROM _orders_to_update)"
        + (" UNION SELECT contact_id FROM _contacts_changed" if mart.group_contacts else "")
    )
    in_groups = "EXISTS (SELECT 1 FROM _groups_to_update AS g WHERE g.grp IS NOT DISTINCT FROM {})"
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _group_orders AS SELECT o.order_id FROM brightpearl.orders AS o "
        f"WHERE {in_groups.format(expression)}"
    )
    _rebuild_rows(conn, mart, "_group_orders", in_groups.format(f"{mart.stored}.{column}"))
    # the map follows the changed orders
    changed = "order_id IN (SELECT order_id FROM _orders_to_update)"
    conn.execute(f"DELETE FROM {mart.order_groups_table} WHERE {changed}")
    conn.execute(
        f"INSERT INTO {mart.order_groups_table} SELECT o.order_id, {expression} FROM brightpearl.orders AS o "
        f"WHERE o.{changed}"
    )
    row = conn.execute("SELECT count(*) FROM _groups_to_update").fetchone()
    conn.execute("DROP TABLE _group_orders")
    conn.execute("DROP TABLE _groups_to_update")
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class MartBuild:
    """What became of one mart in a refresh."""

    rows: int
    rebuilt: bool  # built whole
    reason: str  # why it was rebuilt or updated, or since when it is unchanged
    orders_updated: int = 0  # changed orders the mart was updated in place for (their rows, or their groups' rows)


def refresh_marts(
    conn: duckdb.DuckDBPyConnection,
    marts: Iterable[Mart],
    configured: str,
    warn: Callable[[str], None],
    *,
    rebuild_all: bool = False,
) -> dict[str, MartBuild]:
    """Bring the marts up to date with what they are built from; the others are left as they are.

    A mart is rebuilt whole when its SQL changed, when it is missing, when it reads the clock (the storefront
    reconciliation marts), with `rebuild_all`, or when tables it reads changed; a per-order mart (`Mart.key`) whose
    changes are all in orders, their rows, notes, payments or contacts is updated in place for the orders that
    changed, and a group mart (`Mart.group`: per customer, per day) for the groups of those orders. At 1M orders a
    run that changed nothing costs the hash of the inputs (~0.7 s), not a rebuild of every mart (~20 s). Clock
    columns (overdue, age) are views computed when queried."""
    marts = list(marts)
    now = mart_inputs(conn, marts)
    stored = {
        name: (fingerprint, built_at, rows)
        for name, fingerprint, built_at, rows in conn.execute(
            "SELECT mart, fingerprint, built_at, row_count FROM _sync.marts"
        ).fetchall()
    }
    before: dict[str, dict[str, tuple[str, datetime | None]]] = {}
    for name, table, fingerprint, synced in conn.execute(
        "SELECT mart, input, fingerprint, synced_max FROM _sync.mart_inputs"
    ).fetchall():
        before.setdefault(name, {})[table] = (fingerprint, synced)
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
    in_place: dict[str, dict[str, datetime]] = {}
    for mart in marts:
        if rebuild_all:
            reasons[mart.name] = "rebuild_all"
        elif mart.name not in existing or mart.name not in stored:
            reasons[mart.name] = "first build"
        elif mart.group and mart.order_groups_name not in tables[STORED_SCHEMA]:
            reasons[mart.name] = "no order -> group map yet (built by an older version)"
        elif reads_clock(mart.name):
            reasons[mart.name] = "reads the clock (now())"
        elif stored[mart.name][0] != now[mart.name].fingerprint:
            changed = changed_since(mart, now[mart.name], before.get(mart.name, {}))
            if changed:
                in_place[mart.name] = changed
            else:
                reasons[mart.name] = "its SQL or input tables changed"
    for name, changed in list(in_place.items()):
        if not explained(conn, changed):
            reasons[name] = "its input tables changed in a way only a rebuild covers"
            del in_place[name]
    stale = [mart for mart in marts if mart.name in reasons]
    if stale:
        # On a copy of a 1M-order warehouse, a rebuild after earlier rebuilds and an UPDATE that no checkpoint had
        # written yet ran out of memory at 96, 183 and 366 MiB; after a CHECKPOINT it built at 96. The pipeline's
        # assets checkpoint when they publish, so this is usually a no-op.
        with contextlib.suppress(duckdb.Error):  # another connection's transaction is open: build without it
            conn.execute("CHECKPOINT")
    counts = rebuild_marts_within_memory(conn, stale, configured, warn, now) if stale else {}
    # After the rebuilds: on a 1M-order copy, rebuilding customer_accounts after the in-place updates (committed and
    # checkpointed) ran out of 96 MB; the other way round both fit.
    out: dict[str, MartBuild] = {}
    if in_place:
        updating = [mart for mart in marts if mart.name in in_place]
        try:
            out = _update_marts_in_place(conn, updating, in_place, now)
        except duckdb.OutOfMemoryException as exc:  # e.g. most orders changed at once: the rebuild retries with more
            warn(
                f"analytics marts: updating in place ran out of memory ({str(exc).splitlines()[0][:120]}); "
                "rebuilding them whole"
            )
            for mart in updating:
                reasons[mart.name] = "changed; updating in place ran out of memory"
            counts.update(rebuild_marts_within_memory(conn, updating, configured, warn, now))
    for mart in marts:
        if mart.name in reasons:
            out[mart.name] = MartBuild(counts[mart.name], True, reasons[mart.name])
        elif mart.name not in out:
            _, built_at, rows = stored[mart.name]
            out[mart.name] = MartBuild(int(rows), False, f"inputs unchanged since {built_at:%Y-%m-%d %H:%M:%S %Z}")
    return {mart.name: out[mart.name] for mart in marts}


def _update_marts_in_place(
    conn: duckdb.DuckDBPyConnection,
    marts: Sequence[Mart],
    changes: Mapping[str, Mapping[str, datetime]],
    now: Mapping[str, Inputs],
) -> dict[str, MartBuild]:
    """Update the per-order marts in place, in one transaction."""
    out: dict[str, MartBuild] = {}
    conn.execute("BEGIN TRANSACTION")
    try:
        for mart in marts:
            changed = changes[mart.name]
            _orders_changed(conn, changed)
            updated = update_in_place(conn, mart)
            rows, orders = conn.execute(
                f"SELECT (SELECT count(*) FROM {mart.stored}), (SELECT count(*) FROM _orders_to_update)"
            ).fetchone() or (0, 0)
            _record(conn, mart, now[mart.name], rows)
            names = ", ".join(table.split(".")[1] for table in changed)
            noun = mart.group[2] if mart.group else "orders"
            out[mart.name] = MartBuild(rows, False, f"updated {updated} {noun} in place ({names} changed)", orders)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("DROP TABLE IF EXISTS _orders_to_update")
        conn.execute("DROP TABLE IF EXISTS _contacts_changed")
    return out


# The marts join per-order aggregates to every order, and DuckDB keeps those join tables in memory (it did not
# spill them). Each mart joins one large aggregate at a time, and the large ones are stored unsorted (a final
# ORDER BY of customer_documents alone ran out of 80 MB): all fit in 80 MB at 1M orders (72 MB does not). A larger
# account would outgrow any fixed limit, so the rebuild is retried with the limit doubled.
MEMORY_GROWTH_MAX = 8


def rebuild_marts_within_memory(
    conn: duckdb.DuckDBPyConnection,
    marts: Iterable[Mart],
    configured: str,
    warn: Callable[[str], None],
    inputs: Mapping[str, Inputs] | None = None,
) -> dict[str, int]:
    """`rebuild_marts` on a connection opened with memory_limit `configured`; when DuckDB runs out of memory, warn
    and retry with twice the limit (up to MEMORY_GROWTH_MAX times the configured one), then restore `configured`."""
    marts = list(marts)
    base = limit = size_bytes(configured)
    try:
        while True:
            try:
                return rebuild_marts(conn, marts, inputs)
            except duckdb.OutOfMemoryException as exc:
                if base is None or limit is None or limit * 2 > base * MEMORY_GROWTH_MAX:
                    raise
                limit *= 2
                warn(
                    f"analytics marts: DuckDB ran out of memory ({str(exc).splitlines()[0][:120]}); retrying with "
                    f"memory_limit {limit // 2**20} MiB (configured: {configured}). Raise "
                    "WarehouseResource.marts_memory_limit to skip the retry."
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
