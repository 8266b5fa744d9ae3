"""The analyst marts, materialized with Dagster over a hand-made warehouse (see mart_fixtures for the cases)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from bp_pipelines.assets.analytics import analytics_assets
from bp_pipelines.lib.marts import MARTS, MARTS_BY_NAME, build, rebuild_marts_within_memory
from bp_pipelines.lib.marts.build import create_prelude, input_tables, read_sql, reads_clock
from bp_pipelines.resources.warehouse import WarehouseResource

from .mart_fixtures import _order, build_warehouse, insert
from .test_docs_queries import sql_blocks

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[WarehouseResource, dg.ExecuteInProcessResult]:
    wh = build_warehouse(tmp_path_factory.mktemp("marts") / "warehouse.duckdb")
    result = dg.materialize(analytics_assets, resources={"warehouse": wh})
    assert result.success
    return wh, result


@pytest.fixture()
def db(built: tuple[WarehouseResource, Any]) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published snapshot, opened read-only the way an analyst would."""
    wh, _ = built
    conn = duckdb.connect(str(wh.published_path), read_only=True)
    conn.execute("SET TimeZone = 'UTC'")
    yield conn
    conn.close()


def rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def by_key(conn: duckdb.DuckDBPyConnection, table: str, key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows(conn, f"SELECT * FROM analytics.{table}")}


def test_materialization_reports_row_counts(built: tuple[WarehouseResource, dg.ExecuteInProcessResult]) -> None:
    _, result = built
    counts = {
        e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value
        for e in result.get_asset_materialization_events()
    }
    assert counts == {
        "customer_accounts": 4,
        "customer_order_history": 14,
        "customer_documents": 9,
        "open_quotations": 1,
        "daily_sales": 9,
        "stock_position": 4,
        "open_purchase_orders": 1,
        # No storefront extracted in these fixtures: nothing to reconcile (the Brightpearl side waits for a catalog).
        "storefront_sku_mismatches": 0,
        "storefront_stock_drift": 0,
        # Reconciliation marts: empty while the import and the account sync are off (no push.ledger rows).
        "storefront_orders_not_imported": 0,
        "storefront_accounts_out_of_step": 0,
        # ... and while the push has not run (no storefront.* settings in push.state).
        "storefront_status_mismatches": 0,
        "storefront_shipments_missing": 0,
    }
    assert {m.name for m in MARTS} == set(counts)


def test_materialization_previews_first_rows(built: tuple[WarehouseResource, dg.ExecuteInProcessResult]) -> None:
    _, result = built
    previews = {
        e.asset_key.to_user_string(): e.materialization.metadata["preview"].value
        for e in result.get_asset_materialization_events()
    }
    assert set(previews) == {m.name for m in MARTS}
    lines = previews["customer_accounts"].splitlines()
    assert lines[0].startswith("| contact_id | company_name |") and lines[1].startswith("|---|")
    assert len(lines) == 2 + 4  # header, separator, the 4 customers
    assert lines[2].startswith("| 1 | Acme Ltd | Ann Smith |") and "| 230.0000 |" in lines[2]
    assert len(previews["customer_order_history"].splitlines()) == 2 + 10  # capped at 10 rows of 14


def test_customer_accounts_b2b_balance_and_credit(db: duckdb.DuckDBPyConnection) -> None:
    acme = by_key(db, "customer_accounts", "contact_id")[1]
    # Unpaid 120 (INV-1001; its deleted receipt and the authorisation do not count) + partially paid 240 - 100
    # received (INV-1002) - unpaid credit note 30 (CN-1008). Not counted: paid INV-1003, paid CN-1009, deleted
    # INV-1010, pending credit 1012 (no credit note yet).
    assert acme["balance_outstanding"] == Decimal("230")
    assert acme["available_credit"] == Decimal("4770")
    assert acme["base_currency_code"] == "GBP"
    assert acme["unpaid_invoices"] == 2 and acme["partially_paid_invoices"] == 1
    assert acme["is_over_credit_limit"] is False
    # Open: 1004 part shipped (60) + 1005 not shipped (84); quote 1006 and cancelled 1007 excluded.
    assert (acme["open_orders"], acme["open_orders_value"]) == (2, Decimal("144"))
    assert acme["open_quotations"] == 1
    # Invoiced net 100 + 200 + 300 minus credit notes 25 + 10.
    assert acme["lifetime_value"] == Decimal("565")
    assert acme["order_count"] == 5  # 1001-1005: not the quote, the cancelled or the deleted order
    assert acme["first_order_on"] == datetime(2026, 1, 10, 10, tzinfo=UTC)
    assert acme["last_order_on"] == datetime(2026, 1, 12, 16, tzinfo=UTC)
    assert (acme["is_b2b"], acme["company_name"], acme["contact_name"]) == (True, "Acme Ltd", "Ann Smith")
    assert (acme["credit_limit"], acme["credit_term_days"], acme["currency_code"]) == (Decimal("5000"), 30, "GBP")


def test_customer_accounts_b2c_multi_currency_and_over_limit(db: duckdb.DuckDBPyConnection) -> None:
    accounts = by_key(db, "customer_accounts", "contact_id")
    jane, euro = accounts[2], accounts[3]
    assert (jane["is_b2b"], jane["company_name"]) == (False, None)
    assert jane["balance_outstanding"] == Decimal("12")
    assert jane["available_credit"] is None  # credit limit 0 = no limit set
    assert (jane["is_multi_currency"], jane["currency_code"]) == (True, None)
    # EUR 960 unpaid + 120 - 60 paid = 1020 EUR, in the GBP base currency at 1.2: 850.
    assert euro["balance_outstanding"] == Decimal("850") and euro["currency_code"] == "EUR"
    assert euro["available_credit"] == Decimal("-50") and euro["is_over_credit_limit"] is True


def test_customer_accounts_membership(db: duckdb.DuckDBPyConnection) -> None:
    accounts = by_key(db, "customer_accounts", "contact_id")
    # 4 supplier, 5 deleted, 7 staff are not customers; 6 was never classified and has no orders yet.
    assert sorted(accounts) == [1, 2, 3, 6]
    lead = accounts[6]
    assert (lead["order_count"], lead["balance_outstanding"], lead["lifetime_value"]) == (0, 0, 0)
    assert lead["first_order_on"] is None


def test_customer_order_history(db: duckdb.DuckDBPyConnection) -> None:
    history = by_key(db, "customer_order_history", "order_id")
    # SO + SC of live customers; 1010 (deleted order) and 5001 (deleted customer) are not in it.
    assert sorted(history) == [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1012, 2001, 2002, 3001, 3002]
    o = history[1004]
    assert (o["status_name"], o["order_kind"], o["shipped_state"], o["is_open"]) == (
        "New order",
        "order",
        "partially_shipped",
        True,
    )
    # Rows 11 + 12 (free text); deleted row 13 excluded. Notes 9001 (shipped) + 9002; deleted 9004 excluded.
    assert (o["row_count"], o["total_quantity"]) == (2, Decimal("2"))
    assert (o["goods_out_notes"], o["shipped_notes"], o["tracking_references"]) == (2, 1, "TRK1")
    assert o["last_shipped_on"] == datetime(2026, 1, 13, 10, tzinfo=UTC)
    assert (o["channel_name"], o["company_name"]) == ("Trade", "Acme Ltd")
    assert history[1006]["order_kind"] == "quote" and history[1006]["row_count"] == 1  # bundle child not counted
    assert history[1007]["is_cancelled"] is True and history[1007]["is_open"] is False
    assert history[1008]["order_kind"] == "credit"
    assert history[1003]["shipped_state"] == "shipped" and history[1003]["goods_out_notes"] == 0


def test_customer_documents(db: duckdb.DuckDBPyConnection) -> None:
    docs = by_key(db, "customer_documents", "invoice_reference")
    assert sorted(docs) == [
        "CN-1008",
        "CN-1009",
        "INV-1001",
        "INV-1002",
        "INV-1003",
        "INV-2001",
        "INV-2002",
        "INV-3001",
        "INV-3002",
    ]
    cn = docs["CN-1008"]
    assert (cn["document_type"], cn["order_id"], cn["contact_id"], cn["signed_total"]) == (
        "credit_note",
        1008,
        1,
        Decimal("-30"),
    )
    inv = docs["INV-1001"]
    assert (inv["document_type"], inv["document_date"], inv["total_value"]) == (
        "invoice",
        date(2026, 1, 10),
        Decimal("120"),
    )
    assert (inv["is_outstanding"], inv["is_overdue"]) == (True, True)  # due 2026-02-09
    assert (docs["INV-1002"]["is_outstanding"], docs["INV-1002"]["is_overdue"]) == (True, False)
    assert docs["INV-1003"]["is_outstanding"] is False
    part = docs["INV-1002"]
    assert (part["paid_value"], part["outstanding_value"], part["base_signed_outstanding"]) == (
        Decimal("100"),
        Decimal("140"),
        Decimal("140"),
    )
    eur = docs["INV-3002"]  # 120 EUR, 60 paid: 60 EUR outstanding = 50 GBP
    assert (eur["base_total_value"], eur["outstanding_value"], eur["base_signed_outstanding"]) == (
        Decimal("100"),
        Decimal("60"),
        Decimal("50"),
    )
    assert docs["INV-1003"]["outstanding_value"] == 0
    # Outstanding documents of a customer add up to its account balance.
    for contact_id, balance in ((1, "230"), (3, "850")):
        total = db.execute(
            "SELECT sum(base_signed_outstanding) FROM analytics.customer_documents "
            "WHERE contact_id = ? AND is_outstanding",
            [contact_id],
        ).fetchone()
        assert total == (Decimal(balance),)


def test_an_invoiced_sale_without_a_shipping_status_is_open_not_null(tmp_path: Path) -> None:
    # Brightpearl may leave shippingStatusCode out; the order's flags stay true/false (a NULL dropped it from the
    # open-order counts of customer_accounts and customer_order_history).
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    with wh.connect() as conn:
        insert(
            conn,
            "orders",
            [_order(9001, "SO", 4, 1, "2026-01-14 09:00:00+00", "10", "2", invoice="INV-9001", shipping=None)],
        )
        create_prelude(conn)
        facts = rows(
            conn, f"SELECT order_id, is_sale, is_open_sale FROM ({read_sql('order_facts')}) WHERE order_id = 9001"
        )
    assert facts == [{"order_id": 9001, "is_sale": True, "is_open_sale": True}]


def test_open_quotations(db: duckdb.DuckDBPyConnection) -> None:
    (quote,) = rows(db, "SELECT * FROM analytics.open_quotations")
    assert (quote["order_id"], quote["contact_id"], quote["company_name"], quote["status_name"]) == (
        1006,
        1,
        "Acme Ltd",
        "Draft / Quote",
    )
    assert (quote["total_value"], quote["row_count"], quote["total_quantity"]) == (Decimal("600"), 1, Decimal("1"))
    assert quote["age_days"] == (datetime.now(UTC).date() - date(2026, 1, 13)).days


def test_daily_sales(db: duckdb.DuckDBPyConnection) -> None:
    got = {
        (r["sales_date"].isoformat(), r["channel_id"], r["currency_code"]): (
            r["orders"],
            r["net"],
            r["tax"],
            r["gross"],
            r["credits"],
            r["credit_net"],
            r["net_after_credits"],
        )
        for r in rows(db, "SELECT * FROM analytics.daily_sales")
    }
    d = Decimal
    assert got == {
        ("2026-01-09", 1, "GBP"): (1, d(5), d(1), d(6), 0, d(0), d(5)),  # deleted customer's live order
        ("2026-01-10", 1, "GBP"): (1, d(10), d(2), d(12), 0, d(0), d(10)),
        ("2026-01-10", 1, "USD"): (1, d(50), d(10), d(60), 0, d(0), d(50)),  # currencies never added
        ("2026-01-10", 2, "EUR"): (1, d(800), d(160), d(960), 0, d(0), d(800)),
        ("2026-01-10", 2, "GBP"): (2, d(300), d(60), d(360), 0, d(0), d(300)),  # 1002 is 23:30 UTC
        ("2026-01-11", 2, "EUR"): (1, d(100), d(20), d(120), 0, d(0), d(100)),
        ("2026-01-11", 2, "GBP"): (1, d(300), d(60), d(360), 0, d(0), d(300)),
        # 1004 + 1005; cancelled 1007 and deleted 1010 left out; credits 1008 + 1009.
        ("2026-01-12", 2, "GBP"): (2, d(120), d(24), d(144), 2, d(35), d(85)),
        ("2026-01-13", 2, "GBP"): (0, d(0), d(0), d(0), 1, d(15), d(-15)),  # quote 1006 is not a sale
    }
    names = {
        r[0]: r[1] for r in db.execute("SELECT DISTINCT channel_id, channel_name FROM analytics.daily_sales").fetchall()
    }
    assert names == {1: "Web store", 2: "Trade"}
    # The base-currency columns add up across currencies: 12 + 60 USD / 1.25 + 960 EUR / 1.2 + 360 GBP.
    day = db.execute(
        "SELECT sum(base_gross), sum(base_net) FROM analytics.daily_sales WHERE sales_date = DATE '2026-01-10'"
    ).fetchone()
    assert day == (d(12) + d(48) + d(800) + d(360), d(10) + d(40) + d("666.6667") + d(300))


def test_stock_position(db: duckdb.DuckDBPyConnection) -> None:
    got = {(r["product_id"], r["warehouse_id"]): r for r in rows(db, "SELECT * FROM analytics.stock_position")}
    # Deleted product 103 and deleted stock row (104, 2) excluded; unsynced product 999 kept without a SKU.
    assert sorted(got) == [(101, 1), (101, 2), (102, 1), (999, 1)]
    main = got[(101, 1)]
    assert (main["sku"], main["product_name"], main["warehouse_name"], main["product_status"]) == (
        "SKU-A",
        "Widget",
        "Main",
        "LIVE",
    )
    assert (main["in_stock"], main["on_hand"], main["allocated"], main["available"], main["in_transit"]) == (
        60,
        48,
        12,
        48,
        0,
    )
    assert got[(101, 2)]["in_transit"] == 3
    assert got[(999, 1)]["sku"] is None and got[(999, 1)]["available"] == 3


def test_open_purchase_orders(db: duckdb.DuckDBPyConnection) -> None:
    # 4002 received and closed, 4003 cancelled, 4004 all received: only 4001 is still due in.
    (po,) = rows(db, "SELECT * FROM analytics.open_purchase_orders")
    assert (po["order_id"], po["supplier_contact_id"], po["supplier_name"], po["supplier_email"]) == (
        4001,
        4,
        "Supplier Co",
        "po@supplier.test",
    )
    assert (po["total_net"], po["total_value"], po["row_count"], po["total_quantity"]) == (
        Decimal("1000"),
        Decimal("1200"),
        2,
        Decimal("30"),
    )
    assert (po["status_name"], po["warehouse_name"], po["is_overdue"]) == ("Pending PO", "Main", True)
    assert po["age_days"] == (datetime.now(UTC).date() - date(2026, 1, 5)).days


def test_subset_rebuild_replaces_only_selected_marts(tmp_path: Path) -> None:
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    result = dg.materialize(analytics_assets, resources={"warehouse": wh}, selection=["daily_sales"])
    assert [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()] == ["daily_sales"]
    with wh.connect() as conn:
        conn.execute("UPDATE brightpearl.orders SET is_deleted = true WHERE order_id IN (1001, 1002)")
    dg.materialize(analytics_assets, resources={"warehouse": wh}, selection=["daily_sales"])
    with duckdb.connect(str(wh.published_path), read_only=True) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics'"
            ).fetchall()
        }
        day = conn.execute(
            "SELECT orders, net FROM analytics.daily_sales WHERE sales_date = DATE '2026-01-10' "
            "AND channel_id = 2 AND currency_code = 'GBP'"
        ).fetchall()
    assert tables == {"daily_sales"}
    assert day == []  # both orders of that day were deleted in Brightpearl since the first build


def _builds(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    return {
        e.asset_key.to_user_string(): (
            e.materialization.metadata["rebuilt"].value,
            e.materialization.metadata["why"].text,
        )
        for e in result.get_asset_materialization_events()
    }


def test_marts_are_rebuilt_only_when_their_inputs_change(tmp_path: Path) -> None:
    # A run that changed nothing must not pay a rebuild that grows with the account's history (~30 s at 1M orders):
    # a mart is rebuilt when its SQL or the content of a table it reads changed, when it reads the clock, when its
    # table is gone, or on request (rebuild_all).
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    first = _builds(dg.materialize(analytics_assets, resources={"warehouse": wh}))
    assert {name: built for name, (built, _) in first.items()} == {m.name: True for m in MARTS}
    assert {why for _, why in first.values()} == {"first build"}
    # Only marts whose rows depend on the time are rebuilt for it; clock columns (overdue, age) are computed by a view
    # when queried (test_clock_columns_are_computed_when_queried).
    clock = {m.name for m in MARTS if reads_clock(m.name)}
    assert clock == {"storefront_orders_not_imported", "storefront_shipments_missing"}

    again = _builds(dg.materialize(analytics_assets, resources={"warehouse": wh}))
    assert {name for name, (built, _) in again.items() if built} == clock
    assert again["customer_order_history"][1].startswith("inputs unchanged since ")

    # A product renamed: the marts reading products are rebuilt (and show it), those reading only orders are not.
    with wh.connect() as conn:
        sku, product_id = conn.execute("SELECT sku, product_id FROM brightpearl.products ORDER BY 2 LIMIT 1").fetchone()
        conn.execute("UPDATE brightpearl.products SET name = 'Renamed' WHERE product_id = ?", [product_id])
        conn.execute("DROP TABLE analytics.daily_sales")
    changed = _builds(dg.materialize(analytics_assets, resources={"warehouse": wh}))
    readers = {m.name for m in MARTS if "brightpearl.products" in input_tables(m.name)}
    assert "stock_position" in readers
    assert {name for name, (built, _) in changed.items() if built} == clock | readers | {"daily_sales"}
    assert changed["stock_position"][1] == "its SQL or input tables changed"
    assert changed["daily_sales"][1] == "first build"
    with duckdb.connect(str(wh.published_path), read_only=True) as conn:
        names = {
            r[0]
            for r in conn.execute("SELECT product_name FROM analytics.stock_position WHERE sku = ?", [sku]).fetchall()
        }
        assert names == {"Renamed"}
        assert conn.execute("SELECT count(*) FROM analytics.daily_sales").fetchone()[0] > 0

    forced = dg.materialize(
        analytics_assets,
        resources={"warehouse": wh},
        run_config={"ops": {"analytics_marts": {"config": {"rebuild_all": True}}}},
    )
    assert set(_builds(forced).values()) == {(True, "rebuild_all")}


def test_clock_columns_are_computed_when_queried(tmp_path: Path) -> None:
    # is_overdue and age_days change with the time, not with the data: a view computes them when queried, so they are
    # current in the snapshot an analyst opens and a run that changed nothing does not rebuild these marts for them.
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    dg.materialize(analytics_assets, resources={"warehouse": wh})
    clock_marts = {m.name: m for m in MARTS if m.clock}
    assert set(clock_marts) == {"customer_documents", "open_quotations", "open_purchase_orders"}
    with wh.connect() as conn:
        views = {
            r[0]
            for r in conn.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'analytics'").fetchall()
        }
        assert views == set(clock_marts)
        # INV-1002 is outstanding and not due; make it fall due in a second, in the stored table only (no rebuild)
        conn.execute(
            "UPDATE _marts.customer_documents SET due_date = now() + INTERVAL 1 SECOND "
            "WHERE invoice_reference = 'INV-1002'"
        )
    wh.publish()

    def overdue() -> bool:
        with duckdb.connect(str(wh.published_path), read_only=True) as conn:
            return conn.execute(
                "SELECT is_overdue FROM analytics.customer_documents WHERE invoice_reference = 'INV-1002'"
            ).fetchone()[0]

    assert overdue() is False
    time.sleep(1.2)
    assert overdue() is True
    with duckdb.connect(str(wh.published_path), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        quote = rows(conn, "SELECT quoted_on, age_days FROM analytics.open_quotations")[0]
        assert quote["age_days"] == (datetime.now(UTC).date() - quote["quoted_on"].date()).days
        # same columns, in the same order, as the SELECT that built the stored table
        for name in clock_marts:
            view = [r[:2] for r in conn.execute(f"DESCRIBE analytics.{name}").fetchall()]
            stored = [r[:2] for r in conn.execute(f"DESCRIBE _marts.{name}").fetchall()]
            assert [c for c, _ in view] == [c for c, _ in stored], name
            assert {c: t for c, t in view if c in dict(clock_marts[name].clock)} == {
                c: {"is_overdue": "BOOLEAN", "age_days": "BIGINT"}[c] for c, _ in clock_marts[name].clock
            }


def test_a_mart_table_from_an_older_version_becomes_its_view(tmp_path: Path) -> None:
    # A warehouse built before clock columns were views holds analytics.customer_documents as a table.
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    dg.materialize(analytics_assets, resources={"warehouse": wh})
    with wh.connect() as conn:
        conn.execute("DROP VIEW analytics.customer_documents")
        conn.execute("CREATE TABLE analytics.customer_documents AS SELECT * FROM _marts.customer_documents")
        conn.execute("DROP TABLE _marts.customer_documents")
    again = _builds(dg.materialize(analytics_assets, resources={"warehouse": wh}))
    assert again["customer_documents"] == (True, "first build")
    with duckdb.connect(str(wh.published_path), read_only=True) as conn:
        kind = conn.execute(
            "SELECT table_type FROM information_schema.tables "
            "WHERE table_schema = 'analytics' AND table_name = 'customer_documents'"
        ).fetchone()
        assert kind == ("VIEW",)
        assert conn.execute("SELECT count(*) FROM analytics.customer_documents").fetchone()[0] > 0


KEYED = ("customer_order_history", "customer_documents", "open_quotations", "open_purchase_orders")
GROUPED = ("customer_accounts", "daily_sales")  # one row per customer / per day, channel and currency


def _differences(conn: duckdb.DuckDBPyConnection, name: str) -> list[tuple[Any, ...]]:
    """Rows in the stored mart or in a fresh run of its SQL but not in both (duplicates counted)."""
    create_prelude(conn)
    stored, sql = MARTS_BY_NAME[name].stored, read_sql(name)
    return conn.execute(
        f"(SELECT 'stored' AS side, * FROM (SELECT * FROM {stored} EXCEPT ALL SELECT * FROM ({sql}))) UNION ALL "
        f"(SELECT 'fresh', * FROM (SELECT * FROM ({sql}) EXCEPT ALL SELECT * FROM {stored}))"
    ).fetchall()


def test_per_order_marts_are_updated_in_place_for_the_orders_that_changed(tmp_path: Path) -> None:
    # An incremental run of a large account changes a few orders: the per-order marts replace those orders' rows
    # (found by _synced_at, which the upserts move only on a real change) instead of rebuilding ~1M rows; what they
    # hold must be exactly what a rebuild would hold.
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    with wh.connect() as conn:  # as the pipeline leaves them: every row stamped when it was written
        for (table,) in conn.execute(
            "SELECT table_name FROM duckdb_columns() WHERE schema_name = 'brightpearl' AND column_name = '_synced_at'"
        ).fetchall():
            conn.execute(f"UPDATE brightpearl.{table} SET _synced_at = now() - INTERVAL 1 DAY")
    assert {m.name for m in MARTS if m.key} == set(KEYED)
    assert {m.name for m in MARTS if m.group} == set(GROUPED)
    dg.materialize(analytics_assets, resources={"warehouse": wh})

    with wh.connect() as conn:
        stamp = "_synced_at = now()"  # as the upserts write a changed row
        for change in (
            f"UPDATE brightpearl.orders SET total_net = 200, total_value = 240, {stamp} WHERE order_id = 1001",
            f"UPDATE brightpearl.orders SET order_status_id = 5, {stamp} WHERE order_id = 1006",  # quote cancelled
            f"UPDATE brightpearl.orders SET contact_id = 2, {stamp} WHERE order_id = 1005",  # another customer's now
            f"UPDATE brightpearl.orders SET is_deleted = true, {stamp} WHERE order_id = 4001",  # an open PO deleted
            f"UPDATE brightpearl.order_rows SET quantity = 7, {stamp} WHERE order_id = 1004 AND row_id = 11",
            "UPDATE brightpearl.goods_out_notes SET tracking_reference = 'ZZ-9', shipped = true, "
            f"shipped_on = '2026-01-14 09:00:00+00', {stamp} WHERE goods_out_note_id = 9002",
            "INSERT INTO brightpearl.goods_out_notes (goods_out_note_id, order_id, warehouse_id, shipped, shipped_on, "
            "tracking_reference, _synced_at) VALUES (9100, 2001, 1, true, '2026-01-11 10:00:00+00', 'AA-1', now())",
            "INSERT INTO brightpearl.customer_payments (payment_id, order_id, payment_type, currency_code, "
            "amount_paid, _synced_at) VALUES (100, 1001, 'RECEIPT', 'GBP', 20, now())",
            f"UPDATE brightpearl.contacts SET company_name = 'Acme Group', {stamp} WHERE contact_id = 1",
            f"UPDATE brightpearl.contacts SET is_deleted = true, {stamp} WHERE contact_id = 3",
            # another day (daily_sales: the old day and the new one), a customer with no orders yet, one no more
            f"UPDATE brightpearl.orders SET placed_on = placed_on - INTERVAL 3 DAY, {stamp} WHERE order_id = 1002",
            "INSERT INTO brightpearl.contacts (contact_id, first_name, is_customer, _synced_at) "
            "VALUES (60, 'Newly', true, now())",
            f"UPDATE brightpearl.contacts SET is_customer = false, is_supplier = true, {stamp} WHERE contact_id = 6",
        ):
            conn.execute(change)
    updated = dg.materialize(analytics_assets, resources={"warehouse": wh})
    builds = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in updated.get_asset_materialization_events()
    }
    for name in KEYED + GROUPED:
        assert builds[name]["rebuilt"].value is False, name
        assert builds[name]["why"].text.startswith("updated "), (name, builds[name]["why"].text)
        assert builds[name]["orders_updated"].value > 0
    assert builds["customer_accounts"]["why"].text.startswith("updated 6 customers in place")  # 1, 2, 3, 6, 60 + 1005's
    with wh.connect() as conn:
        for name in KEYED + GROUPED:
            assert _differences(conn, name) == [], name
        accounts = {r[0] for r in conn.execute("SELECT contact_id FROM analytics.customer_accounts").fetchall()}
        assert 60 in accounts and 3 not in accounts and 6 not in accounts
        history = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT order_id, company_name, tracking_references FROM analytics.customer_order_history"
            ).fetchall()
        }
        assert history[1001][0] == "Acme Group"
        assert history[2001][1] == "AA-1"
        assert conn.execute("SELECT count(*) FROM analytics.open_purchase_orders WHERE order_id = 4001").fetchone() == (
            0,
        )

    # A group mart built by an older version (no order -> group map) is built whole once, then updated in place.
    with wh.connect() as conn:
        conn.execute("DROP TABLE _marts.daily_sales__order_groups")
        conn.execute("UPDATE brightpearl.orders SET total_net = 201, _synced_at = now() WHERE order_id = 1001")
    assert _builds(dg.materialize(analytics_assets, resources={"warehouse": wh}))["daily_sales"] == (
        True,
        "no order -> group map yet (built by an older version)",
    )
    with wh.connect() as conn:
        conn.execute("UPDATE brightpearl.orders SET total_net = 202, _synced_at = now() WHERE order_id = 1001")
    assert _builds(dg.materialize(analytics_assets, resources={"warehouse": wh}))["daily_sales"][0] is False

    # A change no _synced_at explains (here: written without stamping it) is not trusted to the in-place update.
    with wh.connect() as conn:
        conn.execute("UPDATE brightpearl.orders SET customer_ref = 'unstamped' WHERE order_id = 1004")
    unstamped = _builds(dg.materialize(analytics_assets, resources={"warehouse": wh}))
    assert unstamped["customer_order_history"] == (True, "its input tables changed in a way only a rebuild covers")
    # Nor is a change to a table other than orders, their rows, notes, payments and contacts.
    with wh.connect() as conn:
        conn.execute("UPDATE brightpearl.channels SET name = 'Trade desk', _synced_at = now() WHERE channel_id = 2")
    renamed = _builds(dg.materialize(analytics_assets, resources={"warehouse": wh}))
    assert renamed["customer_order_history"] == (True, "its SQL or input tables changed")
    assert renamed["daily_sales"] == (True, "its SQL or input tables changed")  # channel names: rebuilt whole
    with wh.connect() as conn:
        for name in KEYED + GROUPED:
            assert _differences(conn, name) == [], name
        names = {
            r[0]
            for r in conn.execute(
                "SELECT channel_name FROM analytics.customer_order_history WHERE channel_id = 2"
            ).fetchall()
        }
        assert names == {"Trade desk"}


def test_an_in_place_update_that_runs_out_of_memory_rebuilds_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Most orders changed at once (e.g. after a reconciliation) could outgrow the writer's memory in place; the
    # whole rebuild retries with more memory. DuckDB's out-of-memory error is raised here at the point it would
    # occur: a real one cannot be aimed at this statement alone (a limit that low fails the hashing before it).
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    with wh.connect() as conn:
        for (table,) in conn.execute(
            "SELECT table_name FROM duckdb_columns() WHERE schema_name = 'brightpearl' AND column_name = '_synced_at'"
        ).fetchall():
            conn.execute(f"UPDATE brightpearl.{table} SET _synced_at = now() - INTERVAL 1 DAY")
    dg.materialize(analytics_assets, resources={"warehouse": wh})
    with wh.connect() as conn:
        conn.execute("UPDATE brightpearl.orders SET total_value = 999, _synced_at = now() WHERE order_id = 1004")
        before = conn.execute("SELECT count(*) FROM analytics.customer_order_history").fetchone()

    def out_of_memory(conn: duckdb.DuckDBPyConnection, mart: Any) -> int:
        conn.execute(f"DELETE FROM {mart.stored}")  # half done: the rollback must undo it
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block of size 256.0 KiB")

    monkeypatch.setattr(build, "update_in_place", out_of_memory)
    builds = _builds(dg.materialize(analytics_assets, resources={"warehouse": wh}))
    for name in KEYED:
        assert builds[name] == (True, "changed; updating in place ran out of memory"), name
    with wh.connect() as conn:
        for name in KEYED:
            assert _differences(conn, name) == [], name
        assert conn.execute("SELECT count(*) FROM analytics.customer_order_history").fetchone() == before
        total = conn.execute("SELECT total_value FROM analytics.customer_order_history WHERE order_id = 1004")
        assert total.fetchone() == (Decimal("999"),)


def _scanned(node: Any, out: set[str]) -> set[str]:
    """catalog.schema.table of every table scan in an EXPLAIN (FORMAT JSON) plan."""
    if isinstance(node, dict):
        extra = node.get("extra_info")
        if isinstance(extra, dict) and extra.get("Table"):
            out.add(extra["Table"])
        for value in node.values():
            _scanned(value, out)
    elif isinstance(node, list):
        for value in node:
            _scanned(value, out)
    return out


def test_fingerprints_cover_every_table_a_mart_reads(tmp_path: Path) -> None:
    # The fingerprint reads the schema-qualified names in the SQL: a table read without its schema (or through a
    # view outside the prelude) would change unseen and leave its marts stale. DuckDB's plan names what it scans.
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    with wh.connect() as conn:
        create_prelude(conn)
        catalog = conn.execute("SELECT current_database()").fetchone()[0]
        for mart in MARTS:
            plan = conn.execute(f"EXPLAIN (FORMAT JSON) {read_sql(mart.name)}").fetchall()[0][1]
            scanned = {name.removeprefix(f"{catalog}.") for name in _scanned(json.loads(plan), set())}
            assert scanned, mart.name
            assert scanned <= set(input_tables(mart.name)), (mart.name, scanned - set(input_tables(mart.name)))


def documented_queries() -> list[str]:
    """SQL statements of the `## Analyst marts` section (docs/warehouse.md, or docs/marts.md until it exists)."""
    for name in ("warehouse.md", "marts.md"):
        path = REPO / "docs" / name
        text = path.read_text() if path.exists() else ""
        if "## Analyst marts" in text:
            section = text.split("## Analyst marts", 1)[1].split("\n## ", 1)[0]
            return sql_blocks(section)
    return []


def test_documented_queries_run(db: duckdb.DuckDBPyConnection) -> None:
    queries = documented_queries()
    assert len(queries) >= 10
    for sql in queries:
        db.execute(sql).fetchall()
    # The statement picks the customer owing most (Euro GmbH here); its base outstanding adds up to the balance.
    statement = db.execute(next(q for q in queries if "Statement of account" in q)).fetchall()
    assert sum(r[8] for r in statement) == Decimal("850")


def test_marts_that_run_out_of_memory_are_retried_with_more(tmp_path: Path) -> None:
    # The marts join per-order aggregates to every order at once, and DuckDB keeps those join tables in memory: a
    # large account's marts outgrow a memory limit the extraction fits in (1M orders: ~128 MB). Here 100k generated
    # orders and a 16 MB limit: the rebuild runs out, is retried with the limit doubled (one warning each), and
    # every mart is built.
    n = 100_000
    path = tmp_path / "warehouse.duckdb"
    with WarehouseResource(path=str(path), memory_limit="512MB").connect() as conn:
        conn.execute(
            f"INSERT INTO brightpearl.contacts (contact_id, is_customer) SELECT i, true FROM range(1, {n // 5} + 1) t(i)"
        )
        conn.execute(
            "INSERT INTO brightpearl.orders (order_id, order_type_code, order_status_id, contact_id, currency_code, "
            "total_net, total_tax, total_value, created_on, invoice_reference, payment_status, shipping_status_code) "
            f"SELECT i, 'SO', 4, 1 + i % {n // 5}, 'USD', 10, 1, 11, TIMESTAMPTZ '2026-01-01' + to_seconds(i), "
            f"'INV-' || i, 'UNPAID', 'ASS' FROM range(1, {n} + 1) t(i)"
        )
        conn.execute(
            f"INSERT INTO brightpearl.order_rows (order_id, row_id, quantity) SELECT i, 1, 2 FROM range(1, {n} + 1) t(i)"
        )
        conn.execute(
            "INSERT INTO brightpearl.goods_out_notes (goods_out_note_id, order_id, warehouse_id, shipped, created_on, "
            f"tracking_reference) SELECT i, i, 1, true, TIMESTAMPTZ '2026-01-02', 'T' || i FROM range(1, {n} + 1) t(i)"
        )
    wh = WarehouseResource(path=str(path), memory_limit="16MB", marts_memory_limit="16MB")
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(analytics_assets, resources={"warehouse": wh}, instance=instance)
        assert result.success
        retries = [e.user_message for e in instance.all_logs(result.run_id) if "ran out of memory" in e.user_message]
    assert 1 <= len(retries) <= 3 and "configured: 16MB" in retries[0], retries
    with duckdb.connect(str(wh.published_path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM analytics.customer_order_history").fetchone() == (n,)
        assert conn.execute("SELECT sum(order_count) FROM analytics.customer_accounts").fetchone() == (n,)
    with wh.connect() as conn:  # the retries raise the limit for the marts only: the configured one is back after
        seen: list[str] = []
        rebuild_marts_within_memory(conn, MARTS, "16MB", seen.append)
        assert seen and conn.execute("SELECT current_setting('memory_limit')").fetchone() == ("15.2 MiB",)


def test_the_marts_build_at_their_own_memory_limit_and_the_writer_gets_its_own_back(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"), memory_limit="96MB", marts_memory_limit="48MB")

    def limit(conn: duckdb.DuckDBPyConnection) -> str:
        return conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]

    with wh.session():  # one database across the run's connections, as in a run
        with wh.connect_for_marts() as conn:
            assert limit(conn) == "45.7 MiB"
        with wh.connect() as conn:
            assert limit(conn) == "91.5 MiB"
    with pytest.raises(ValueError, match="marts_memory_limit='plenty' is not a memory size"):
        WarehouseResource(path=str(tmp_path / "w.duckdb"), marts_memory_limit="plenty")
