"""Partition backfills: many daily partitions = one run with one ranged search; re-running is idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb
import pytest

from bp_pipelines.assets.brightpearl import orders_and_rows
from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

START, END = "2025-01-01", "2025-03-31"  # 90 daily partitions
WINDOW = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def setup(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Any]]]:
    sb = module_sandbox(seed=5, orders=300)
    resources = {
        "brightpearl": BrightpearlResource(
            base_url=sb.brightpearl_base_url,
            account=sb.brightpearl_account,
            app_ref=sb.brightpearl_app_ref,
            account_token=sb.brightpearl_account_token,
        ),
        "warehouse": WarehouseResource(path=str(tmp_path_factory.mktemp("backfill") / "warehouse.duckdb")),
    }
    yield sb, resources


def backfill(sb: Any, resources: dict[str, Any], **config: Any) -> tuple[dict[str, Any], dict[str, int]]:
    """Materialize the partition range the way a single-run backfill launches it (range tags, one run)."""
    before = sb.request_counts()
    result = dg.materialize(
        [orders_and_rows],
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": END},
        run_config={"ops": {"orders_and_rows": {"config": config}}} if config else None,
    )
    after = sb.request_counts()
    calls = {k.split(" ", 1)[1]: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    # A ranged run records one materialization per partition, all with the run's metadata.
    events = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    orders = [m for m in events if m.asset_key == dg.AssetKey("orders")]  # type: ignore[union-attr]
    assert sorted(m.partition for m in orders) == [  # type: ignore[union-attr]
        d.strftime("%Y-%m-%d") for d in (WINDOW[0] + timedelta(days=i) for i in range(90))
    ]
    return {k: getattr(v, "value", v) for k, v in orders[0].metadata.items()}, calls  # type: ignore[union-attr]


def snapshot(resources: dict[str, Any]) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(resources["warehouse"].published_path), read_only=True) as conn:
        return (
            conn.execute("SELECT * EXCLUDE (_synced_at) FROM brightpearl.orders ORDER BY order_id").fetchall()
            + conn.execute("SELECT * EXCLUDE (_synced_at) FROM brightpearl.order_rows ORDER BY 1, 2").fetchall()
        )


def test_backfill_of_90_partitions_is_one_run_with_one_ranged_search(setup: tuple[Any, dict[str, Any]]) -> None:
    sb, resources = setup
    assert orders_and_rows.backfill_policy == dg.BackfillPolicy.single_run()
    meta, calls = backfill(sb, resources)
    assert meta["mode"] == "partition" and meta["partition_range"] == f"{START}..{END}"
    assert calls["GET order-service/order-search"] == 1  # one ranged search for the whole window
    with resources["brightpearl"].get_client() as bp:
        period = "2025-01-01T00:00:00.000Z/2025-04-01T00:00:00.000Z"
        expected = sorted(
            r["orderId"]
            for page in bp.search("order-service/order-search", {"updatedOn": period}, columns=["orderId"])
            for r in page.rows
        )
    assert expected, "the sandbox should have orders updated in early 2025"
    assert calls["GET order-service/order/{ids}"] == -(-len(expected) // 200)
    with duckdb.connect(str(resources["warehouse"].published_path), read_only=True) as conn:
        stored = conn.execute("SELECT order_id, updated_on FROM brightpearl.orders ORDER BY 1").fetchall()
        watermark = conn.execute("SELECT watermark FROM _sync.watermarks WHERE resource = 'orders'").fetchone()
    assert [r[0] for r in stored] == expected and meta["rows_inserted"] == len(expected)
    assert all(WINDOW[0] <= r[1] <= WINDOW[1] for r in stored)
    # A window with unsynced history before it does not move the incremental watermark.
    assert watermark == (None,)


def test_rerunning_the_backfill_is_idempotent(setup: tuple[Any, dict[str, Any]]) -> None:
    sb, resources = setup
    before = snapshot(resources)
    meta, calls = backfill(sb, resources)
    assert (meta["rows_inserted"], meta["rows_updated"], meta["rows_deleted"]) == (0, 0, 0)
    assert calls == {"GET order-service/order-search": 1}  # nothing changed: nothing fetched
    forced, forced_calls = backfill(sb, resources, mode="partition", force=True)  # re-fetch everything anyway
    assert forced_calls["GET order-service/order/{ids}"] >= 1
    assert (forced["rows_inserted"], forced["rows_updated"], forced["rows_deleted"]) == (0, 0, 0)
    assert snapshot(resources) == before
