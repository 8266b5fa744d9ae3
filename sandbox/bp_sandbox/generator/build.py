"""Build a world file: master data in-process, orders in fixed-size chunks (optionally in worker processes).

Determinism: every chunk has its own RNG seeded by (seed, chunk index) and local ids starting at 1; the
parent merges chunk files in index order, re-basing ids with SQL arithmetic. The result therefore does not
depend on the number of workers. Rows stream through executemany batches; no chunk is held whole.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sqlite3
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .batch import Batch, Ids
from .catalog import generate_bc_catalog, generate_products
from .currency import add_payments, assign_currencies
from .fastrand import rr
from .orders import OrderFactory
from .people import generate_bc_customers, generate_contacts
from .reference import base_meta, insert_reference
from .timeutil import DAY_MS, HISTORY_START_MS, HOUR_MS
from .world import World, load_world

CHUNK_ORDERS = 25_000
FLUSH_ROWS = 20_000
BC_FIRST_ORDER_ID = 100
_WORLD: World | None = None  # set in the parent before workers fork (shared copy-on-write)

ITEMS_FIX = (
    "(SELECT json_group_array(json_object('order_product_id', json_extract(j.value, '$.order_product_id')"
    " + :bcl, 'product_id', json_extract(j.value, '$.product_id'), 'quantity',"
    " json_extract(j.value, '$.quantity'))) FROM json_each(items_json) AS j)"
)
FIXUPS: dict[str, dict[str, str]] = {
    "orders": {
        "external_ref": "CASE WHEN installed_integration_instance_id IS NOT NULL AND external_ref IS NOT NULL"
        " THEN CAST(CAST(external_ref AS INTEGER) + :bco AS TEXT) ELSE external_ref END"
    },
    "order_rows": {
        "id": "id + :row",
        "parent_order_row_id": "CASE WHEN parent_order_row_id > 0 THEN parent_order_row_id + :row ELSE 0 END",
    },
    "goods_out_notes": {"id": "id + :gon", "last_event_version": "last_event_version + :gon * 10"},
    "goods_out_note_rows": {"note_id": "note_id + :gon", "order_row_id": "order_row_id + :row"},
    "bc_orders": {"id": "id + :bco"},
    "bc_order_products": {
        "id": "id + :bcl",
        "order_id": "order_id + :bco",
        "order_address_id": "order_address_id + :bca",
    },
    "bc_shipping_addresses": {"id": "id + :bca", "order_id": "order_id + :bco"},
    "bc_shipments": {
        "id": "id + :bcs",
        "order_id": "order_id + :bco",
        "order_address_id": "order_address_id + :bca",
        "items_json": ITEMS_FIX,
    },
}
OFFSET_KEYS = {
    "row": "row",
    "gon": "gon",
    "bco": "bc_order",
    "bcl": "bc_line",
    "bca": "bc_address",
    "bcs": "bc_shipment",
}


@dataclass
class BuildStats:
    seconds: float = 0.0
    workers: int = 1
    counts: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # master data, orders (chunks + merges), indexes


def schema_sql() -> str:
    return resources.files("bp_sandbox").joinpath("schema.sql").read_text()


def _open_bulk(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-131072")
    conn.executescript(schema_sql())
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL").fetchall():
        conn.execute(f"DROP INDEX {name}")  # bulk load without indexes; schema.sql recreates them at the end
    return conn


def _chunk_created(oid: int, n_orders: int, clock_ms: int, rng: random.Random) -> int:
    step = (clock_ms - HISTORY_START_MS - HOUR_MS) / n_orders
    return HISTORY_START_MS + int((oid - 1) * step + rng.random() * step * 0.9)


def _run_chunk(task: tuple[int, int, int, int, str]) -> tuple[int, str, dict[str, int]]:
    index, first, last, n_orders, out = task
    world = _WORLD
    assert world is not None, "world not initialised before forking"
    conn = _open_bulk(Path(out))
    rng = random.Random(f"{world.seed}/orders/{index}")
    ids, batch = Ids(), Batch()
    factory = OrderFactory(world, ids, batch, rng)
    deleted: list[tuple[int]] = []
    conn.execute("BEGIN")
    for oid in range(first, last + 1):
        created = _chunk_created(oid, n_orders, world.clock_ms, rng)
        made = factory.history_order(oid, created)
        if made.bc_order_id is not None:
            recent = world.clock_ms - created < 2 * DAY_MS
            if rng.random() < (0.4 if recent else 0.065):  # storefront orders never imported into Brightpearl
                factory.storefront_only(min(world.clock_ms - 1, created + rr(rng, 2 * HOUR_MS)))
        if rng.random() < 0.003:
            deleted.append((oid,))
        if oid % 256 == 0 and batch.size() >= FLUSH_ROWS:
            batch.flush(conn)
    batch.flush(conn)
    conn.executemany("UPDATE orders SET deleted = 1 WHERE id = ?", deleted)
    conn.execute("COMMIT")
    conn.close()
    used = {k: getattr(ids, k) - 1 for k in ("row", "gon", "bc_order", "bc_line", "bc_address", "bc_shipment")}
    return index, out, used


def _merge(conn: sqlite3.Connection, path: str, offsets: dict[str, int]) -> None:
    conn.execute("ATTACH DATABASE ? AS w", (path,))
    conn.execute("BEGIN")
    for table, fixes in FIXUPS.items():
        columns = [r[1] for r in conn.execute(f"PRAGMA main.table_info({table})")]
        select = ", ".join(fixes.get(c, c) for c in columns)
        params = {k: v for k, v in offsets.items() if f":{k}" in select}
        conn.execute(f"INSERT INTO main.{table} SELECT {select} FROM w.{table} ORDER BY rowid", params)
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE w")


def _master_data(conn: sqlite3.Connection, seed: int, orders: int, clock_ms: int) -> None:
    conn.execute("BEGIN")
    insert_reference(conn)
    meta = base_meta(seed, orders, clock_ms)
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
    contacts = generate_contacts(conn, seed, max(200, orders // 5), clock_ms)
    generate_bc_customers(conn, seed, contacts, clock_ms)
    suppliers = [c.id for c in contacts if c.kind == "supplier"]
    products = generate_products(conn, seed, max(300, orders // 40), clock_ms, suppliers)
    generate_bc_catalog(conn, seed, products)
    conn.execute("COMMIT")


def build_world(path: Path, seed: int, orders: int, clock_ms: int, workers: int | None = None) -> BuildStats:
    """Generate the world into `path` (written to a temp file first, renamed when complete)."""
    global _WORLD
    started = time.monotonic()
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    conn = _open_bulk(tmp)
    _master_data(conn, seed, orders, clock_ms)
    _WORLD = load_world(conn, seed, clock_ms)
    phases = {"master": time.monotonic() - started}
    tasks = [
        (i, first, min(first + CHUNK_ORDERS - 1, orders), orders, f"{tmp}.chunk{i}")
        for i, first in enumerate(range(1, orders + 1, CHUNK_ORDERS))
    ]
    offsets = {"row": 0, "gon": 0, "bco": BC_FIRST_ORDER_ID - 1, "bcl": 0, "bca": 0, "bcs": 0}
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))

    def consume(result: tuple[int, str, dict[str, int]]) -> None:
        _, out, used = result
        _merge(conn, out, offsets)
        Path(out).unlink()
        for key, name in OFFSET_KEYS.items():
            offsets[key] += used[name]

    if n_workers == 1:
        for task in tasks:
            consume(_run_chunk(task))
    else:
        with multiprocessing.get_context("fork").Pool(n_workers) as pool:
            for result in pool.imap(_run_chunk, tasks):
                consume(result)
            # Let the workers exit on their own instead of by the `with` exit's SIGTERM: once in a test run, a worker
            # forked from a pytest worker was left waiting on a lock after the results were in, and the parent waited
            # for it for good (not reproduced since; a worker that exits by itself needs no signal).
            pool.close()
            pool.join()
    _WORLD = None
    phases["orders"] = time.monotonic() - started - phases["master"]
    conn.executescript(schema_sql())  # recreate the indexes
    conn.execute("BEGIN")
    assign_currencies(conn)
    add_payments(conn, clock_ms)
    conn.execute("COMMIT")
    conn.execute(
        "UPDATE contacts SET last_ordered_ms = (SELECT max(o.created_ms) FROM orders o WHERE "
        "o.contact_id = contacts.id AND o.order_type_code = 'SO' AND o.deleted = 0)"
    )
    conn.execute("PRAGMA analysis_limit=1000")
    conn.execute("ANALYZE")
    counts = {
        t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("orders", "order_rows", "goods_out_notes", "contacts", "products", "bc_orders", "customer_payments")
    }
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    os.replace(tmp, path)
    elapsed = time.monotonic() - started
    phases["indexes"] = elapsed - phases["master"] - phases["orders"]
    return BuildStats(elapsed, n_workers, counts, {k: round(v, 2) for k, v in phases.items()})
