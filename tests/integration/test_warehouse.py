"""WarehouseResource and the batch upsert, on real DuckDB files (no HTTP)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from bp_pipelines.lib.warehouse import bookkeeping as bk
from bp_pipelines.lib.warehouse import tables as t
from bp_pipelines.lib.warehouse.upsert import mark_deleted, upsert
from bp_pipelines.resources.warehouse import WarehouseResource

NOW = datetime(2026, 1, 1, tzinfo=UTC)

ANALYST = textwrap.dedent("""
    import sys, duckdb
    conn = duckdb.connect(sys.argv[1])            # read-write, as an analyst might
    for line in sys.stdin:
        if line.strip() == "count":
            print(conn.execute("SELECT count(*) FROM brightpearl.products").fetchone()[0], flush=True)
        elif line.strip() == "quit":
            break
""")


def product(pid: int, name: str = "Widget", price_day: int = 1) -> dict[str, object]:
    return {
        "product_id": pid,
        "sku": f"SKU-{pid}",
        "name": name,
        "status": "LIVE",
        "stock_tracked": True,
        "updated_on": NOW + timedelta(days=price_day),
    }


def test_upsert_counts_only_real_changes(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "wh.duckdb"))
    with wh.connect() as conn:
        assert upsert(conn, t.PRODUCTS, [product(1), product(2), product(3)], NOW).inserted == 3
        again = upsert(conn, t.PRODUCTS, [product(1), product(2), product(3)], NOW)
        assert (again.inserted, again.updated) == (0, 0)
        changed = upsert(conn, t.PRODUCTS, [product(1, "Widget v2"), product(2)], NOW)
        assert (changed.inserted, changed.updated) == (0, 1)
        assert mark_deleted(conn, t.PRODUCTS, "product_id", [3], NOW) == 1
        assert mark_deleted(conn, t.PRODUCTS, "product_id", [3], NOW) == 0  # already marked
        back = upsert(conn, t.PRODUCTS, [product(3)], NOW)
        assert (back.updated, back.undeleted) == (1, 1)
        assert conn.execute("SELECT count(*) FILTER (WHERE is_deleted) FROM brightpearl.products").fetchone()[0] == 0


def test_child_rows_of_a_refetched_parent_are_replaced(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "wh.duckdb"))

    def line(row_id: int, qty: str) -> dict[str, object]:
        return {
            "order_id": 9,
            "row_id": row_id,
            "quantity": Decimal(qty),
            "unit_price": Decimal("1.2345"),
            "row_net": Decimal("0.1"),
            "row_tax": Decimal("0.02"),
        }

    with wh.connect() as conn:
        assert upsert(conn, t.ORDER_ROWS, [line(1, "1"), line(2, "2")], NOW, parent_ids=[9]).inserted == 2
        counts = upsert(conn, t.ORDER_ROWS, [line(1, "5")], NOW, parent_ids=[9])
        assert (counts.inserted, counts.updated, counts.deleted) == (0, 1, 1)
        rows = conn.execute(
            "SELECT row_id, quantity, unit_price, typeof(unit_price) FROM brightpearl.order_rows"
        ).fetchall()
        assert rows == [(1, Decimal("5.0000"), Decimal("1.2345"), "DECIMAL(18,4)")]


def test_new_rows_take_the_plain_insert_yet_a_parent_emptied_in_the_same_batch_loses_its_rows(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "wh.duckdb"))

    def line(order_id: int, row_id: int) -> dict[str, object]:
        return {"order_id": order_id, "row_id": row_id, "quantity": Decimal("1")}

    with wh.connect() as conn:
        assert upsert(conn, t.ORDER_ROWS, [line(5, 1), line(5, 2)], NOW, parent_ids=[5]).inserted == 2
        # Order 5 is re-fetched with no rows left, beside a new order 100: the staged range is 100..100 only.
        counts = upsert(conn, t.ORDER_ROWS, [line(100, 1)], NOW, parent_ids=[5, 100])
        assert (counts.inserted, counts.updated, counts.deleted) == (1, 0, 2)
        # A batch of only new records, far from anything stored: a plain insert, counted.
        assert upsert(conn, t.ORDER_ROWS, [line(500, 1), line(501, 1)], NOW, parent_ids=[500, 501]).inserted == 2
        assert upsert(conn, t.PRODUCTS, [product(7), product(8)], NOW).inserted == 2
        assert upsert(conn, t.PRODUCTS, [product(7, "Widget v2"), product(9)], NOW).updated == 1
        rows = conn.execute("SELECT order_id, row_id, is_deleted FROM brightpearl.order_rows ORDER BY 1, 2").fetchall()
        assert rows == [(100, 1, False), (500, 1, False), (501, 1, False)]


def test_sticky_column_keeps_value_when_a_fetch_path_cannot_provide_it(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "wh.duckdb"))
    with wh.connect() as conn:
        upsert(conn, t.CONTACTS, [{"contact_id": 1, "is_customer": True, "first_name": "A"}], NOW)
        counts = upsert(conn, t.CONTACTS, [{"contact_id": 1, "is_customer": None, "first_name": "A"}], NOW)
        assert counts.updated == 0
        assert conn.execute("SELECT is_customer FROM brightpearl.contacts").fetchone() == (True,)


def test_writer_and_published_paths(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "data" / "warehouse.duckdb"))
    assert wh.working_path == tmp_path / "data" / "warehouse.writer.duckdb"
    with wh.connect() as conn:
        assert conn.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
    assert not wh.published_path.exists()  # nothing published until an asset succeeds
    wh.publish()
    with duckdb.connect(str(wh.published_path), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM _sync.watermarks").fetchone() == (0,)


def test_a_quiet_step_leaves_the_snapshot_unless_the_sensor_watermarks_moved(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "warehouse.duckdb")).get_warehouse()
    assert wh.publish_if_changed(False)  # no snapshot yet: published whatever the step did
    inode = wh.published_path.stat().st_ino

    def mark(resource: str, watermark: datetime) -> None:
        with wh.connect() as conn:
            bk.set_watermark(conn, resource, watermark, NOW, mode="incremental", window=(None, None), run_id="r")

    mark("orders", NOW)  # a watermark the snapshot does not have yet (the storefront sensor reads it there)
    assert wh.publish_if_changed(False)
    inode = wh.published_path.stat().st_ino
    mark("orders", NOW)  # bookkeeping only: same watermark, new run time
    mark("stock_levels", NOW + timedelta(hours=1))  # a watermark no reader of the snapshot acts on
    with wh.connect() as conn:
        conn.execute("INSERT INTO push.state VALUES ('storefront.shipment.planned_at', 'x', now())")
    assert not wh.publish_if_changed(False)
    assert wh.published_path.stat().st_ino == inode  # not copied again
    with duckdb.connect(str(wh.published_path), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM push.state").fetchone() == (0,)  # lags in bookkeeping only
    with wh.connect() as conn:
        upsert(conn, t.PRODUCTS, [product(1)], NOW)
    assert wh.publish_if_changed(True)
    with duckdb.connect(str(wh.published_path), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM brightpearl.products").fetchone() == (1,)
        assert reader.execute("SELECT count(*) FROM push.state").fetchone() == (1,)


def test_open_analyst_session_never_blocks_publish_and_sees_a_consistent_snapshot(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    with wh.connect() as conn:
        upsert(conn, t.PRODUCTS, [product(i) for i in range(10)], NOW)
    wh.publish()
    # The analyst is another process holding a read-write connection on the published file.
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(wh.published_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdin and analyst.stdout
        analyst.stdin.write("count\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "10"
        # The writer keeps writing and publishing while that session is open.
        for batch in range(3):
            with wh.connect() as conn:
                upsert(conn, t.PRODUCTS, [product(100 + batch * 10 + i) for i in range(10)], NOW)
            wh.publish()
        analyst.stdin.write("count\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "10"  # the old snapshot, whole
        with duckdb.connect(str(wh.published_path), read_only=True) as fresh:
            assert fresh.execute("SELECT count(*) FROM brightpearl.products").fetchone() == (40,)
    finally:
        if analyst.stdin:
            analyst.stdin.write("quit\n")
            analyst.stdin.close()
        analyst.wait(timeout=30)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_the_ddl_runs_once_per_version_of_it(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "wh.duckdb"))
    with wh.connect() as conn:
        (marker,) = conn.execute("SELECT ddl_hash FROM _sync.schema_version").fetchall()
        conn.execute("ALTER TABLE brightpearl.contacts DROP COLUMN tag_ids")  # added by an ALTER in the DDL
    with wh.connect() as conn:  # same version recorded: the DDL is not run again on every connection
        assert "tag_ids" not in {r[0] for r in conn.execute("DESCRIBE brightpearl.contacts").fetchall()}
        conn.execute("UPDATE _sync.schema_version SET ddl_hash = 'older'")
    with wh.connect() as conn:  # a file of another version (an upgrade): the DDL runs, columns are added
        assert "tag_ids" in {r[0] for r in conn.execute("DESCRIBE brightpearl.contacts").fetchall()}
        assert conn.execute("SELECT ddl_hash FROM _sync.schema_version").fetchall() == [marker]


OTHER_WRITER = textwrap.dedent("""
    import sys, duckdb
    try:
        duckdb.connect(sys.argv[1]).close()
        print("opened")
    except duckdb.IOException as exc:
        print("locked" if "lock" in str(exc).lower() else exc)
""")


def _other_process_opens(path: Path) -> str:
    done = subprocess.run([sys.executable, "-c", OTHER_WRITER, str(path)], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or done.stderr


def test_the_working_file_is_held_only_while_a_connection_or_session_is_open(tmp_path: Path) -> None:
    """Connections attach the file to this process's DuckDB and detach it after: between steps another process
    (another run's step, once the writer pool lets it) can open it; during a step it cannot."""
    wh = WarehouseResource(path=str(tmp_path / "wh.duckdb")).get_warehouse()
    with wh.connect() as conn:
        conn.execute("CREATE TABLE main.probe AS SELECT 1 AS n")
        assert _other_process_opens(wh.working_path) == "locked"
    assert _other_process_opens(wh.working_path) == "opened"
    with wh.session():
        with wh.connect() as first, wh.connect() as second:  # both on the one attached file
            assert (
                first.execute("SELECT current_database()").fetchone()
                == second.execute("SELECT current_database()").fetchone()
            )
            first.execute("INSERT INTO main.probe VALUES (2)")
            assert second.execute("SELECT sum(n) FROM main.probe").fetchone() == (3,)
        assert _other_process_opens(wh.working_path) == "locked"
    assert _other_process_opens(wh.working_path) == "opened"
    with duckdb.connect(str(wh.working_path), read_only=True) as conn:  # what the connections wrote was saved
        assert conn.execute("SELECT sum(n) FROM main.probe").fetchone() == (3,)
