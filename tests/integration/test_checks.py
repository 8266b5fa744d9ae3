"""Asset checks on the Brightpearl tables: passing on a clean warehouse, failing on each kind of bad data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from bp_pipelines.checks import brightpearl_checks
from bp_pipelines.checks.registry import FRESHNESS_RESOURCES, KEYED_TABLES
from bp_pipelines.lib.warehouse.tables import GOODS_OUT_NOTE_ROWS, WAREHOUSES
from bp_pipelines.resources.warehouse import WarehouseResource

from .mart_fixtures import build_warehouse, create_unconstrained, insert

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def run_checks(wh: WarehouseResource, run_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute every check (no asset is materialized) -> {'asset:check': AssetCheckEvaluation}."""
    targets = {spec.asset_key for checks in brightpearl_checks for spec in checks.check_specs}
    job = dg.define_asset_job("checks_only", selection=dg.AssetSelection.all_asset_checks())
    defs = dg.Definitions(
        assets=[dg.AssetSpec(k) for k in targets],
        asset_checks=brightpearl_checks,
        jobs=[job],
        resources={"warehouse": wh},
    )
    result = defs.resolve_job_def("checks_only").execute_in_process(run_config=run_config or {})
    assert result.success
    return {e.asset_check_key.to_user_string(): e for e in result.get_asset_check_evaluations()}


def meta(evaluation: Any, name: str) -> Any:
    return evaluation.metadata[name].value


def mark_synced(conn: duckdb.DuckDBPyConnection, ago: timedelta, resources: tuple[str, ...]) -> None:
    at = datetime.now(UTC) - ago
    insert(conn, "_sync.watermarks", [{"resource": r, "watermark": at, "updated_at": at} for r in resources])


def test_clean_warehouse_passes_every_check(tmp_path: Path) -> None:
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    with wh.connect() as conn:
        mark_synced(conn, timedelta(minutes=5), FRESHNESS_RESOURCES)
        insert(
            conn,
            "_sync.quarantine",
            [{"resource": "orders", "record_id": "1", "reason": "x", "resolved_at": datetime.now(UTC)}],
        )  # resolved: not counted
    results = run_checks(wh)
    expected = len(KEYED_TABLES) * 2 + 1 + 4 + 2 * len(FRESHNESS_RESOURCES)
    assert len(results) == expected
    assert [k for k, e in results.items() if not e.passed] == []
    assert meta(results["orders:quarantine_is_empty"], "violations") == 0
    # The free-text row (product NULL) and the transfer note (order 0) are not orphans.
    assert meta(results["order_rows:products_exist"], "violations") == 0
    assert meta(results["goods_out_notes:orders_exist"], "violations") == 0


def test_duplicate_and_null_keys_fail(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    # Tables created without their PRIMARY KEY (as a loader bypassing the DDL would), so bad keys can be stored.
    with duckdb.connect(str(wh.working_path)) as conn:
        create_unconstrained(conn, WAREHOUSES)
        create_unconstrained(conn, GOODS_OUT_NOTE_ROWS)
    with wh.connect() as conn:
        insert(
            conn,
            "warehouses",
            [
                {"warehouse_id": 1, "name": "A"},
                {"warehouse_id": 1, "name": "A again"},
                {"warehouse_id": 2, "name": "B"},
                {"warehouse_id": None, "name": "?"},
            ],
        )
        insert(
            conn,
            "goods_out_note_rows",
            [
                {"goods_out_note_id": 5, "order_row_id": 1, "product_id": 7, "quantity": 1},
                {"goods_out_note_id": 5, "order_row_id": 1, "product_id": 7, "quantity": 1, "is_deleted": True},
                {"goods_out_note_id": 5, "order_row_id": 2, "product_id": 7, "quantity": 1},
            ],
        )
        insert(
            conn,
            "products",
            [
                {"product_id": 1, "sku": "DUP"},
                {"product_id": 2, "sku": "DUP"},
                {"product_id": 3, "sku": "DUP", "is_deleted": True},
                {"product_id": 4, "sku": "OK"},
            ],
        )
    results = run_checks(wh)
    dup = results["warehouses:key_is_unique"]
    assert (dup.passed, dup.severity, meta(dup, "violations")) == (False, ERROR, 1)
    assert meta(dup, "sample_keys") == [{"warehouse_id": 1, "copies": 2}]
    nulls = results["warehouses:key_not_null"]
    assert (nulls.passed, meta(nulls, "violations"), meta(nulls, "sample_keys")) == (False, 1, [{"warehouse_id": None}])
    composite = results["goods_out_note_rows:key_is_unique"]  # deleted rows still hold their key
    assert meta(composite, "sample_keys") == [{"goods_out_note_id": 5, "order_row_id": 1, "product_id": 7, "copies": 2}]
    sku = results["products:sku_is_unique"]
    assert (sku.passed, sku.severity) == (False, WARN)
    assert meta(sku, "sample_keys") == [{"sku": "DUP", "products": 2, "product_ids": [1, 2]}]
    assert results["products:key_is_unique"].passed and results["orders:key_not_null"].passed
    # Tables with their PRIMARY KEY are vouched for by the catalog; the unconstrained ones above were scanned.
    assert meta(results["products:key_is_unique"], "enforced_by") == "PRIMARY KEY"
    assert "enforced_by" not in dup.metadata and "enforced_by" not in nulls.metadata


def test_orphan_rows_fail(tmp_path: Path) -> None:
    wh = build_warehouse(tmp_path / "warehouse.duckdb")
    with wh.connect() as conn:
        insert(
            conn,
            "order_rows",
            [
                {"order_id": 7777, "row_id": 1, "product_id": 101},  # order missing
                {"order_id": 7777, "row_id": 2, "product_id": 8888},  # order and product missing
                {"order_id": 1001, "row_id": 3, "product_id": 8888},  # product missing
                {"order_id": 7778, "row_id": 1, "product_id": 101, "is_deleted": True},  # deleted: ignored
            ],
        )
        insert(conn, "goods_out_note_rows", [{"goods_out_note_id": 9999, "order_row_id": 1, "product_id": 101}])
        insert(conn, "goods_out_notes", [{"goods_out_note_id": 9010, "order_id": 6666, "warehouse_id": 1}])
    results = run_checks(wh)
    orders = results["order_rows:orders_exist"]
    assert (orders.passed, orders.severity, meta(orders, "violations"), meta(orders, "orphan_rows")) == (
        False,
        ERROR,
        1,
        2,
    )
    assert meta(orders, "sample_keys") == [{"order_id": 7777}]
    products = results["order_rows:products_exist"]
    assert (products.passed, products.severity, meta(products, "orphan_rows")) == (False, WARN, 2)
    assert meta(products, "sample_keys") == [{"product_id": 8888}]
    notes = results["goods_out_note_rows:goods_out_notes_exist"]
    assert (notes.passed, meta(notes, "sample_keys")) == (False, [{"goods_out_note_id": 9999}])
    note_orders = results["goods_out_notes:orders_exist"]
    assert (note_orders.passed, note_orders.severity, meta(note_orders, "sample_keys")) == (
        False,
        WARN,
        [{"order_id": 6666}],
    )


def test_unresolved_quarantine_is_red(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    now = datetime.now(UTC)
    with wh.connect() as conn:
        insert(
            conn,
            "_sync.quarantine",
            [
                {
                    "resource": "orders",
                    "record_id": "1234",
                    "reason": "orderRows is not an object",
                    "first_seen": now - timedelta(hours=2),
                    "last_seen": now,
                    "attempts": 3,
                },
                {
                    "resource": "orders",
                    "record_id": "ids:1-200",
                    "reason": "GET failed",
                    "first_seen": now - timedelta(hours=1),
                    "last_seen": now,
                },
                {"resource": "orders", "record_id": "99", "reason": "fixed", "resolved_at": now},
                {"resource": "products", "record_id": "5", "reason": "fixed", "resolved_at": now},
            ],
        )
    results = run_checks(wh)
    orders = results["orders:quarantine_is_empty"]
    assert (orders.passed, orders.severity, meta(orders, "violations")) == (False, ERROR, 2)
    assert meta(orders, "sample_ids") == ["1234", "ids:1-200"]  # oldest first
    assert meta(orders, "sample_keys")[0]["attempts"] == 3
    assert "resource = 'orders'" in orders.description
    assert results["products:quarantine_is_empty"].passed
    assert results["contacts:quarantine_is_empty"].passed


def test_freshness_from_watermarks_and_run_log(tmp_path: Path) -> None:
    wh = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    now = datetime.now(UTC)
    with wh.connect() as conn:
        mark_synced(conn, timedelta(minutes=10), ("orders",))
        mark_synced(conn, timedelta(days=2), ("products",))
        insert(
            conn, "_sync.runs", [{"run_id": "r1", "asset": "stock_levels", "finished_at": now - timedelta(minutes=30)}]
        )
    results = run_checks(wh)
    assert results["orders:synced_recently"].passed
    assert results["stock_levels:synced_recently"].passed  # no watermark row, but a recent run
    stale = results["products:synced_recently"]
    assert (stale.passed, stale.severity, meta(stale, "max_lag_minutes")) == (False, WARN, 360)
    assert 2875 <= meta(stale, "lag_minutes") <= 2885
    never = results["contacts:synced_recently"]
    assert never.passed is False and meta(never, "last_synced_at") == "never"

    # The allowed lag is run configuration: globally, and per resource.
    config = {
        "ops": {
            "brightpearl_freshness_checks": {
                "config": {"max_lag_minutes": 5, "max_lag_minutes_by_resource": {"products": 3 * 24 * 60}}
            }
        }
    }
    results = run_checks(wh, config)
    assert results["products:synced_recently"].passed
    assert not results["orders:synced_recently"].passed  # 10 minutes > 5


def test_checks_and_marts_load_in_the_code_location() -> None:
    from bp_pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    check_targets = {spec.asset_key.to_user_string() for c in brightpearl_checks for spec in c.check_specs}
    assert check_targets <= keys
    assert {"customer_accounts", "daily_sales", "stock_position"} <= keys
    from bp_pipelines.checks import storefront_checks

    every_check = [*brightpearl_checks, *storefront_checks]
    assert len(list(graph.asset_check_keys)) == sum(len(list(c.check_specs)) for c in every_check)
