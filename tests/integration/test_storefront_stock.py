"""Storefront extraction and the stock push on one private sandbox (real HTTP both sides, real DuckDB file):
extraction pages every list to the end and then reads only what changed; the stock push makes the storefront's
levels equal Brightpearl's available stock, records what the storefront believed first, pushes nothing twice,
dead-letters a rejected batch per SKU, and settles a batch whose answer was lost without writing it again."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from bp_pipelines.assets.brightpearl import brightpearl_assets
from bp_pipelines.assets.storefront import storefront_extract, storefront_stock_levels
from bp_pipelines.lib.bigcommerce import BigCommerceClient, BigCommerceUnavailable
from bp_pipelines.lib.marts import rebuild_marts
from bp_pipelines.lib.marts.marts import STOREFRONT_MARTS
from bp_pipelines.lib.push.ledger import Ledger
from bp_pipelines.lib.storefront import StockPush, StreamSync
from bp_pipelines.resources.bigcommerce import BigCommerceResource
from bp_pipelines.resources.warehouse import WarehouseResource

from .test_brightpearl_sync import brightpearl, metadata_of, today

WAREHOUSES = [1, 2]
SYNC_FILE = """
storefront:
  enabled: true
  brightpearl_channel_ids: [2]
stock:
  warehouse_ids: [1, 2]
"""

# Brightpearl available stock per SKU key over the configured warehouses, as the push must compute it.
AVAILABLE_SQL = """
SELECT lower(trim(p.sku)), greatest(0, coalesce(sum(s.in_stock - s.allocated), 0))
FROM brightpearl.products p
LEFT JOIN brightpearl.stock_levels s ON s.product_id = p.product_id AND s.warehouse_id IN (1, 2) AND NOT s.is_deleted
WHERE NOT p.is_deleted AND nullif(trim(p.sku), '') IS NOT NULL GROUP BY ALL
"""


@dataclass
class Env:
    sb: Any
    wh: WarehouseResource

    def resources(self, **bc: Any) -> dict[str, Any]:
        return {
            "bigcommerce": BigCommerceResource(
                base_url=self.sb.bigcommerce_base_url,
                store_hash=self.sb.bigcommerce_store_hash,
                access_token=self.sb.bigcommerce_access_token,
                backoff_base_seconds=0.01,
                backoff_max_seconds=0.05,
                **bc,
            ),
            "warehouse": self.wh,
        }

    def extract_brightpearl(self) -> None:
        dg.materialize(
            list(brightpearl_assets),
            resources={"brightpearl": brightpearl(self.sb), "warehouse": self.wh},
            run_config={
                "ops": {
                    a.node_def.name: {"config": {"mode": "incremental", "reconcile_max_pages": 0}}
                    for a in brightpearl_assets
                }
            },
            partition_key=today(),
            instance=dg.DagsterInstance.ephemeral(),
        )

    def client(self, timeout: float = 30, max_attempts: int = 3) -> BigCommerceClient:
        return BigCommerceClient(
            self.sb.bigcommerce_base_url,
            self.sb.bigcommerce_store_hash,
            self.sb.bigcommerce_access_token,
            timeout=timeout,
            max_attempts=max_attempts,
        )

    def run(self, assets: list[Any], **bc: Any) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            assets, resources=self.resources(**bc), instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )

    def extract(self) -> dict[str, dict[str, Any]]:
        result = self.run([storefront_extract])
        assert result.success
        return metadata_of(result)

    def push_stock(self, **bc: Any) -> tuple[dg.ExecuteInProcessResult, dict[str, Any]]:
        result = self.run([storefront_stock_levels], **bc)
        return result, metadata_of(result).get("storefront_stock_levels", {})

    def sql(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.wh.get_warehouse().connect() as conn:
            return conn.execute(sql, params or []).fetchall()

    def calls(self, endpoint: str = "") -> int:
        return sum(v for k, v in self.sb.request_counts().items() if k.startswith(f"bigcommerce {endpoint}"))

    def storefront_level(self, sku: str) -> int:
        state = self.sb.storefront_state("inventory", sku=sku)
        locations = {loc["location_id"]: loc["quantity"] for loc in state["locations"]}
        return int(locations.get(1, 0))

    def marts(self, sql: str) -> list[tuple[Any, ...]]:
        """Rebuild the reconciliation marts as the analytics asset does, then query them."""
        with self.wh.get_warehouse().connect() as conn:
            rebuild_marts(conn, STOREFRONT_MARTS)
            return conn.execute(sql).fetchall()

    def available(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.sql(AVAILABLE_SQL)}


@pytest.fixture(scope="module")
def env(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sb = module_sandbox(seed=31, orders=400)
    tmp: Path = tmp_path_factory.mktemp("stock")
    sync_file = tmp / "sync.yaml"
    sync_file.write_text(SYNC_FILE)
    e = Env(sb, WarehouseResource(path=str(tmp / "warehouse.duckdb")))
    e.extract_brightpearl()
    mp = pytest.MonkeyPatch()
    mp.setenv("BP_SYNC_CONFIG", str(sync_file))
    yield e
    mp.undo()


def test_extraction_pages_every_list_to_the_end(env: Env, tmp_path: Path) -> None:
    """Pages of 40 on a separate warehouse file: every list spans several pages and is read to its end."""
    wh = WarehouseResource(path=str(tmp_path / "paged.duckdb")).get_warehouse()
    sync = StreamSync(wh.connect, "paging-test", logging.getLogger("test"), page_limit=40)
    env.sb.reset_request_counts()
    with env.client() as bc:
        # GET v2/orders leaves out Incomplete orders (status 0, abandoned checkouts); /count counts them.
        counts = bc.get("v2/orders/count")
        expected_orders = counts["count"] - sum(s["count"] for s in counts["statuses"] if s["id"] == 0)
        expected_products = len(list(bc.paginate("v3/catalog/products")))
        expected_customers = len(list(bc.paginate("v3/customers")))
        reports = [sync.orders(bc), sync.customers(bc), sync.catalog(bc)]
    assert [r.records for r in reports] == [expected_orders, expected_customers, expected_products]
    assert all(r.records > 40 for r in reports)  # several pages each
    with wh.connect() as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM storefront.orders), (SELECT count(*) FROM storefront.customers), "
            "(SELECT count(*) FROM storefront.products)"
        ).fetchone()
    assert counts == (expected_orders, expected_customers, expected_products)
    assert env.calls("GET v2/orders") - env.calls("GET v2/orders/") >= expected_orders // 40 + 1


def test_extraction_then_reads_only_changes(env: Env) -> None:
    env.sb.reset_request_counts()
    first = env.extract()
    orders = env.sql("SELECT count(*), count(DISTINCT order_id) FROM storefront.orders")[0]
    assert orders[0] == orders[1] > 0
    # A first run reads the last 30 days of orders (initial_days), not the whole history.
    oldest = env.sql("SELECT min(date_modified) FROM storefront.orders")[0][0]
    assert oldest >= datetime.now(UTC) - timedelta(days=30, minutes=5)
    assert first["storefront_orders"]["records_read"] == orders[0]
    # Every order's lines and addresses came with it; dates are UTC-aware, money exact.
    lines, addresses = env.sql(
        "SELECT (SELECT count(DISTINCT order_id) FROM storefront.order_products), "
        "(SELECT count(DISTINCT order_id) FROM storefront.order_shipping_addresses)"
    )[0]
    assert lines == addresses == orders[0]
    assert env.sql("SELECT count(*) FROM storefront.orders WHERE date_modified IS NULL")[0][0] == 0
    assert env.sql("SELECT typeof(total_inc_tax) FROM storefront.orders LIMIT 1")[0][0] == "DECIMAL(18,4)"
    assert env.sql("SELECT count(*) FROM storefront.shipments")[0][0] > 0
    # Shipments are read only for orders that count shipped items (a shipment ships at least one), and every such
    # order's shipments are stored.
    shipped = env.sql("SELECT count(*) FROM storefront.orders WHERE items_shipped > 0")[0][0]
    assert 0 < shipped < orders[0]
    assert env.calls("GET v2/orders/{id}/shipments") == shipped
    assert env.sql("SELECT count(DISTINCT order_id) FROM storefront.shipments")[0][0] == shipped
    variants, with_sku = env.sql("SELECT count(*), count(sku) FROM storefront.variants")[0]
    assert variants == with_sku > 0
    assert first["storefront_catalog"]["dagster/row_count"] == variants
    assert first["storefront_customers"]["records_read"] > 0
    assert env.sql("SELECT count(*) FROM _sync.quarantine WHERE resource LIKE 'storefront.%'")[0][0] == 0
    marks = dict(env.sql("SELECT resource, watermark FROM _sync.watermarks WHERE resource LIKE 'storefront.%'"))
    assert set(marks) == {"storefront.orders", "storefront.customers", "storefront.catalog"}

    # A second run after a few new storefront orders reads those (plus the boundary second), not the history.
    env.sb.advance_clock(600)
    env.sb.apply_changes(storefront_orders_created=5)
    env.sb.reset_request_counts()
    second = env.extract()
    read = second["storefront_orders"]["records_read"]
    assert 5 <= read <= 8, read
    assert env.sql("SELECT count(*) FROM storefront.orders")[0][0] >= orders[0] + 5
    assert env.calls("GET v2/orders/{id}/products") == read  # sub-resources only for changed orders
    assert second["storefront_catalog"]["records_read"] <= 2


def test_stock_push_sets_storefront_levels_to_brightpearl_available(env: Env) -> None:
    env.extract()
    available = env.available()
    before = {sku: level for sku, level in env.sql("SELECT sku, inventory_level FROM storefront.variants")}
    env.sb.reset_request_counts()
    result, meta = env.push_stock()
    assert result.success, result
    assert meta["push_enabled"] is True
    assert meta["sent"] > 0 and meta["dead_lettered"] == 0
    assert meta["batches"] == 1  # one absolute adjustment carries up to 2000 SKUs
    assert env.calls("PUT v3/inventory/adjustments/absolute") == 1
    assert meta["skus_only_on_storefront"] >= 2  # BC-GIFTCARD, BC-SAMPLE
    # Every confirmed SKU now holds Brightpearl's available stock on the storefront.
    pushed = env.sql(
        "SELECT desired->>'sku', (desired->>'level')::INTEGER FROM push.ledger WHERE kind = 'stock' AND state = 'confirmed'"
    )
    assert len(pushed) == meta["sent"]
    for sku, level in pushed:
        assert env.storefront_level(sku) == level == available[sku.strip().lower()]
    # The storefront's earlier figure was recorded before the overwrite, one row per push.
    drift = env.sql(
        "SELECT d.sku, d.storefront_level_before, d.brightpearl_available, d.recorded_at, l.sent_at "
        "FROM storefront.inventory_drift d JOIN push.ledger l USING (push_id)"
    )
    assert len(drift) == meta["sent"]
    for sku, was, now, recorded_at, sent_at in drift:
        assert was != now and was == before[sku]
        assert recorded_at <= sent_at
    # SKUs the storefront does not track (inventory_tracking none) are matched but skipped, with a note.
    untracked = {
        sku
        for (sku,) in env.sql(
            "SELECT lower(trim(v.sku)) FROM storefront.variants v JOIN storefront.products p USING (product_id) "
            "JOIN brightpearl.products b ON lower(trim(b.sku)) = lower(trim(v.sku)) "
            "WHERE p.inventory_tracking = 'none' AND NOT b.is_deleted"
        )
    }
    assert untracked and meta["skipped_untracked"] == len(untracked)
    assert "inventory tracking is off" in meta["notes"]
    assert not {sku.strip().lower() for sku, _ in pushed} & untracked
    # Matched SKUs that already agreed were not written.
    assert meta["unchanged_skus"] == meta["matched_skus"] - meta["sent"] > 0

    assert env.marts("SELECT * FROM analytics.storefront_stock_drift") == []
    # Storefront-only SKUs (the sandbox's gift card and sample pack) are named, with why.
    mismatches = env.marts("SELECT side, sku, why FROM analytics.storefront_sku_mismatches")
    storefront_only = {sku: why for side, sku, why in mismatches if side == "storefront"}
    assert {"BC-GIFTCARD", "BC-SAMPLE"} <= set(storefront_only)
    assert all("no live Brightpearl product has this SKU" in why for why in storefront_only.values())
    assert all(why for _, _, why in mismatches)

    # Nothing changed: the second run reads the levels and writes nothing.
    env.sb.reset_request_counts()
    _, again = env.push_stock()
    assert again["sent"] == again["planned"] == 0
    assert env.calls("PUT") == 0
    assert env.sql("SELECT count(*) FROM storefront.inventory_drift")[0][0] == len(drift)


def test_changed_brightpearl_stock_is_pushed_and_the_drift_mart_stays_empty(env: Env) -> None:
    env.sb.advance_clock(600)
    env.sb.apply_changes(stock_changes=20)
    env.extract_brightpearl()
    _, meta = env.push_stock()
    assert meta["dead_lettered"] == 0
    levels = env.sql(
        "SELECT sku, level, brightpearl_available FROM storefront.inventory_levels WHERE brightpearl_available IS NOT NULL"
    )
    assert levels and all(level == avail for _, level, avail in levels)


def test_a_rejected_batch_is_dead_lettered_per_sku_and_redriven(env: Env) -> None:
    # Make a known set of SKUs differ: a Brightpearl stock change, then a storefront that rejects the batch.
    env.sb.advance_clock(600)
    env.sb.apply_changes(stock_changes=15)
    env.extract_brightpearl()
    env.sb.add_fault(api="bigcommerce", kind="status", status=422, path="v3/inventory/adjustments/absolute", count=1)
    result, meta = env.push_stock()
    assert result.success  # a 4xx is the records' problem, not the step's
    assert meta["sent"] == 0 and meta["dead_lettered"] > 0
    dead = env.sql(
        "SELECT push_id, reason, storefront_status FROM push.dead_letters WHERE kind = 'stock' AND resolved_at IS NULL"
    )
    assert len(dead) == meta["dead_lettered"]
    assert all(status == 422 and "rejected the stock level" in reason for _, reason, status in dead)
    # The drift mart shows each of those SKUs with both figures and the storefront's reason.
    drift = {
        sku: (why, diff)
        for sku, why, diff in env.marts("SELECT sku, why, difference FROM analytics.storefront_stock_drift")
    }
    assert len(drift) == len(dead)
    assert all(why.startswith("the storefront rejected the push") and diff != 0 for why, diff in drift.values())
    # Until re-driven, a later run does not send the rejected levels again (nor anything else: nothing changed).
    _, held = env.push_stock()
    assert held["held_dead_letters"] == len(dead) and held["sent"] == 0
    # Re-drive (as the storefront_redrive job does): the same rows go again and the dead letters resolve.
    Ledger(env.wh.get_warehouse().connect).reopen_dead_letters(kind="stock")
    _, redriven = env.push_stock()
    assert redriven["sent"] == len(dead) and redriven["open_dead_letters"] == 0
    assert env.marts("SELECT * FROM analytics.storefront_stock_drift") == []
    # The drift was recorded once per push id, not once per attempt.
    ids = [d[0] for d in dead]
    assert env.sql("SELECT count(*) FROM storefront.inventory_drift WHERE push_id IN (SELECT unnest(?))", [ids])[0][
        0
    ] == len(ids)


def test_a_lost_answer_is_settled_without_writing_again(env: Env) -> None:
    """The engine directly (the asset's RetryPolicy would wait 15 s+ before the same settling)."""
    env.sb.advance_clock(600)
    env.sb.apply_changes(stock_changes=15)
    env.extract_brightpearl()
    wh = env.wh.get_warehouse()
    # The server stalls past the client's timeout, then applies the batch: the run fails with rows 'sending'.
    env.sb.add_fault(api="bigcommerce", kind="timeout", delay_s=1.5, path="v3/inventory/adjustments/absolute", count=1)
    env.sb.reset_request_counts()
    with pytest.raises(BigCommerceUnavailable):
        StockPush(wh.connect, WAREHOUSES, logging.getLogger("test"), "crashed-run").run(
            lambda: env.client(timeout=0.5, max_attempts=1)
        )
    assert env.calls("PUT v3/inventory/adjustments/absolute") == 1
    sending = env.sql("SELECT push_id, desired->>'sku' FROM push.ledger WHERE kind = 'stock' AND state = 'sending'")
    assert sending
    time.sleep(1.6)  # the stalled request lands
    env.sb.clear_faults()
    env.sb.reset_request_counts()
    report = StockPush(wh.connect, WAREHOUSES, logging.getLogger("test"), "next-run").run(env.client)
    # The storefront already holds every level: confirmed as reconciled, no second PUT.
    assert report.reconciled == len(sending) and report.sent == 0
    assert env.calls("PUT") == 0
    notes = env.sql(
        "SELECT state, note FROM push.ledger WHERE push_id IN (SELECT unnest(?))", [[pid for pid, _ in sending]]
    )
    assert all(state == "confirmed" and note.startswith("reconciled") for state, note in notes)
    assert (
        env.sql("SELECT count(*) FROM push.ledger WHERE kind = 'stock' AND state IN ('planned', 'sending')")[0][0] == 0
    )


def test_stock_push_is_off_without_a_stock_section(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    off = tmp_path / "sync.yaml"
    off.write_text("storefront:\n  enabled: true\n  brightpearl_channel_ids: [2]\n")
    monkeypatch.setenv("BP_SYNC_CONFIG", str(off))
    env.sb.reset_request_counts()
    result, meta = env.push_stock()
    assert result.success and meta["push_enabled"] is False
    assert env.calls() == 0
