"""World generator: determinism, cache, scale relations and the realism the pipeline tests rely on."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bp_sandbox.generator import GENERATOR_VERSION, build, ensure_world, working_copy
from bp_sandbox.generator.timeutil import DEFAULT_CLOCK_MS, HISTORY_START_MS

ORDERS = 2000


def _digest(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        h = hashlib.sha256()
        for line in conn.iterdump():
            h.update(line.encode())
        return h.hexdigest()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("world") / "w.sqlite"
    build.build_world(path, seed=17, orders=ORDERS, clock_ms=DEFAULT_CLOCK_MS, workers=1)
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def test_same_seed_same_bytes_regardless_of_chunking_and_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "CHUNK_ORDERS", 150)  # 5 chunks, merged with id re-basing
    one = build.build_world(tmp_path / "a.sqlite", seed=4, orders=700, clock_ms=DEFAULT_CLOCK_MS, workers=1)
    two = build.build_world(tmp_path / "b.sqlite", seed=4, orders=700, clock_ms=DEFAULT_CLOCK_MS, workers=2)
    assert (one.workers, two.workers) == (1, 2)
    assert _digest(tmp_path / "a.sqlite") == _digest(tmp_path / "b.sqlite")
    build.build_world(tmp_path / "c.sqlite", seed=5, orders=700, clock_ms=DEFAULT_CLOCK_MS, workers=1)
    assert _digest(tmp_path / "a.sqlite") != _digest(tmp_path / "c.sqlite")


def test_cache_hit_and_isolated_working_copies(tmp_path: Path) -> None:
    stale = tmp_path / "cache" / "world-v0-s3-o250.sqlite"
    stale.parent.mkdir()
    stale.write_bytes(b"old generator version")
    orphan = tmp_path / "cache" / "world-v9-s3-o250.sqlite.tmp999999999.chunk0"  # from a killed generator
    orphan.write_bytes(b"partial")
    path, stats = ensure_world(3, 250, data_dir=tmp_path / "cache")
    assert not stale.exists() and not orphan.exists()  # outdated worlds and orphans are pruned after a build
    assert stats is not None and path.name == f"world-v{GENERATOR_VERSION}-s3-o250.sqlite"
    again, stats2 = ensure_world(3, 250, data_dir=tmp_path / "cache")
    assert again == path and stats2 is None
    before = _digest(path)
    copy = working_copy(path, tmp_path / "work")
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE orders SET deleted = 1")
    assert _digest(path) == before


def _one(conn: sqlite3.Connection, sql: str, *args: Any) -> Any:
    return conn.execute(sql, args).fetchone()[0]


def test_scale_relations_and_time_invariants(world: sqlite3.Connection) -> None:
    assert _one(world, "SELECT count(*) FROM orders") == ORDERS
    assert _one(world, "SELECT count(*) FROM products") == max(300, ORDERS // 40)
    assert _one(world, "SELECT count(*) FROM contacts") == max(200, ORDERS // 5)
    for table in ("orders", "products", "contacts"):
        assert _one(world, f"SELECT count(*) FROM {table} WHERE updated_ms < created_ms") == 0
        assert (
            _one(
                world,
                f"SELECT min(created_ms) >= ? AND max(updated_ms) < ? FROM {table}",
                HISTORY_START_MS - 86_400_000,
                DEFAULT_CLOCK_MS,
            )
            == 1
        )
    assert (
        _one(
            world,
            "SELECT count(*) FROM goods_out_notes WHERE shipped_ms >= ? OR created_ms < ?",
            DEFAULT_CLOCK_MS,
            HISTORY_START_MS,
        )
        == 0
    )


def test_order_variety(world: sqlite3.Connection) -> None:
    types = dict(world.execute("SELECT order_type_code, count(*) FROM orders GROUP BY 1"))
    assert set(types) == {"SO", "SC", "PO", "PC"} and types["SO"] > ORDERS * 0.7
    bad_status = _one(
        world,
        "SELECT count(*) FROM orders o JOIN order_statuses s ON s.id = o.status_id "
        "WHERE s.order_type_code != o.order_type_code",
    )
    assert bad_status == 0
    assert _one(world, "SELECT count(DISTINCT status_id) FROM orders WHERE order_type_code = 'SO'") >= 6
    payments = {r[0] for r in world.execute("SELECT DISTINCT payment_status FROM orders")}
    assert payments == {"UNPAID", "PARTIALLY_PAID", "PAID", "NOT_APPLICABLE"}
    shipping = {r[0] for r in world.execute("SELECT DISTINCT shipping_status_code FROM orders")}
    assert {"NST", "SNS", "SPS", "ASS"} <= shipping
    assert (
        _one(
            world,
            "SELECT count(*) FROM orders WHERE order_type_code = 'SC' AND parent_order_id NOT IN "
            "(SELECT id FROM orders WHERE order_type_code = 'SO')",
        )
        == 0
    )
    assert (
        _one(
            world,
            "SELECT count(*) FROM orders WHERE invoice_reference IS NOT NULL AND "
            "(tax_date_ms IS NULL OR due_date_ms IS NULL)",
        )
        == 0
    )
    assert _one(world, "SELECT count(*) FROM (SELECT order_id FROM order_rows GROUP BY 1 HAVING count(*) > 1)") > 100


def test_bundles_partial_shipments_and_tracking(world: sqlite3.Connection) -> None:
    assert (
        _one(
            world,
            "SELECT count(*) FROM order_rows c JOIN order_rows p ON p.id = c.parent_order_row_id "
            "WHERE c.bundle_child = 1 AND p.bundle_parent = 1 AND p.order_id = c.order_id",
        )
        > 0
    )
    assert _one(world, "SELECT count(*) FROM order_rows WHERE bundle_child = 1 AND parent_order_row_id = 0") == 0
    assert _one(world, "SELECT count(*) FROM (SELECT order_id FROM goods_out_notes GROUP BY 1 HAVING count(*) > 1)") > 0
    assert (
        _one(
            world,
            "SELECT count(*) FROM (SELECT order_row_id FROM goods_out_note_rows GROUP BY 1 "
            "HAVING count(DISTINCT note_id) > 1)",
        )
        > 0
    )  # a line split across notes
    assert _one(world, "SELECT count(*) FROM goods_out_notes WHERE shipped = 0") > 0
    assert _one(world, "SELECT count(*) FROM goods_out_notes WHERE shipped = 1 AND tracking_reference != ''") > 0


def test_master_data_variety(world: sqlite3.Connection) -> None:
    assert _one(world, "SELECT count(*) FROM products WHERE ean IS NULL") > 0
    assert _one(world, "SELECT count(*) FROM products WHERE ean = ''") > 0
    assert (
        _one(world, "SELECT count(*) FROM products WHERE product_group_id IS NOT NULL AND variations_json IS NOT NULL")
        > 0
    )
    names = [r[0] for r in world.execute("SELECT name FROM products UNION ALL SELECT first_name FROM contacts")]
    assert any(not n.isascii() and any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)  # CJK
    assert any(any(ord(ch) > 0x1F000 for ch in n) for n in names)  # emoji
    assert any("é" in n or "ü" in n or "ø" in n for n in names)
    assert _one(world, "SELECT count(DISTINCT warehouse_id) FROM stock") == 3
    b2b = world.execute(
        "SELECT count(*), count(DISTINCT organisation_id), min(CAST(credit_limit AS REAL)) "
        "FROM contacts WHERE is_b2b = 1"
    ).fetchone()
    assert b2b[0] > b2b[1] > 0 and b2b[2] > 0  # companies with several buyers, all with credit limits
    assert _one(world, "SELECT count(*) FROM contacts WHERE is_supplier = 1") >= 8
    assert _one(world, "SELECT count(*) FROM contacts WHERE is_staff = 1") == 5


def test_storefront_orders_match_on_both_sides(world: sqlite3.Connection) -> None:
    pairs = world.execute(
        "SELECT o.id, CAST(o.external_ref AS INTEGER) FROM orders o WHERE o.installed_integration_instance_id = 7"
    ).fetchall()
    assert len(pairs) > 300
    bc_ids = {r[0] for r in world.execute("SELECT id FROM bc_orders")}
    assert {bc for _, bc in pairs} <= bc_ids
    only = len(bc_ids) - len(pairs)
    assert 0.04 <= only / len(bc_ids) <= 0.15  # storefront orders never imported into Brightpearl
    for order_id, bc_id in pairs[:200]:
        bp = sorted(
            world.execute(
                "SELECT sku, quantity, unit_price FROM order_rows WHERE order_id = ? AND "
                "bundle_child = 0 AND sku IS NOT NULL",
                (order_id,),
            ).fetchall()
        )
        bc = sorted(
            world.execute(
                "SELECT sku, quantity, price_ex_tax FROM bc_order_products WHERE order_id = ?", (bc_id,)
            ).fetchall()
        )
        assert bp == bc, (order_id, bc_id)


def test_storefront_catalog_customers_and_groups(world: sqlite3.Connection) -> None:
    missing = _one(
        world,
        "SELECT count(*) FROM products p WHERE p.status = 'LIVE' AND p.id IN (SELECT product_id "
        "FROM order_rows r JOIN orders o ON o.id = r.order_id WHERE o.channel_id = 2 AND "
        "r.bundle_child = 0) AND NOT EXISTS (SELECT 1 FROM bc_variants v WHERE v.sku = p.sku)",
    )
    assert missing == 0
    absent = _one(
        world, "SELECT count(*) FROM products p WHERE NOT EXISTS (SELECT 1 FROM bc_variants v WHERE v.sku = p.sku)"
    )
    assert absent > 0
    assert _one(world, "SELECT count(*) FROM bc_inventory WHERE location_id = 1") > 0
    groups = {r[0] for r in world.execute("SELECT name FROM bc_customer_groups WHERE is_default = 1")}
    assert groups == {"Retail"}
    b2b_on = _one(
        world,
        "SELECT count(*) FROM contacts c WHERE c.is_b2b = 1 AND lower(c.email) IN "
        "(SELECT lower(email) FROM bc_customers WHERE customer_group_id = 2)",
    )
    b2b_off = _one(
        world,
        "SELECT count(*) FROM contacts c WHERE c.is_b2b = 1 AND c.email IS NOT NULL AND "
        "lower(c.email) NOT IN (SELECT lower(email) FROM bc_customers)",
    )
    assert b2b_on > 0 and b2b_off > 0
    shipped_bc = world.execute("SELECT items_json FROM bc_shipments LIMIT 50").fetchall()
    for (items,) in shipped_bc:
        for item in json.loads(items):
            assert _one(world, "SELECT count(*) FROM bc_order_products WHERE id = ?", item["order_product_id"]) == 1


def test_api_answers_are_byte_identical_for_a_seed(fresh_sandbox: Any, tmp_path: Path) -> None:
    paths = [
        "order-service/order-search?sort=updatedOn.DESC&pageSize=100",
        "order-service/order/1-50",
        "product-service/product/1000-1100",
        "contact-service/contact/200-260",
        "warehouse-service/order/*/goods-note/goods-out/1-100",
        "warehouse-service/product-availability/1000-1050",
        "contact-service/contact-search?pageSize=200",
    ]
    bodies = []
    for name in ("a", "b"):  # two independent generations (separate caches)
        sbx = fresh_sandbox(seed=9, orders=300, data_dir=tmp_path / name)
        bodies.append([sbx._client.get(f"{sbx.brightpearl_api}/{p}", headers=sbx.bp_headers()).content for p in paths])
    assert bodies[0] == bodies[1]
    assert all(len(b) > 200 for b in bodies[0])
