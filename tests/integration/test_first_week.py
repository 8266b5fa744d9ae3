"""A user's first week, replayed on the sandbox over HTTP and a real DuckDB file: a complete load leaves every
partition materialized with row counts; an incremental run marks the days its window read; the overlap of a
scheduled run follows BP_OVERLAP_MINUTES without a code change; the same warehouse refuses a real-shaped account
before any call."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import yaml

from bp_pipelines.assets.brightpearl import brightpearl_assets
from bp_pipelines.lib.conventions import daily_partitions
from bp_pipelines.lib.sync.partition_marks import COVERED_PARTITIONS
from bp_pipelines.lib.warehouse import bookkeeping as bk
from bp_pipelines.lib.warehouse import source as warehouse_source
from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource
from bp_pipelines.schedules import brightpearl_incremental, partition_status

REPO = Path(__file__).resolve().parents[2]

PARTITIONED = [
    "orders",
    "order_rows",
    "products",
    "contacts",
    "goods_out_notes",
    "goods_out_note_rows",
    "customer_payments",
]
TABLES = [*PARTITIONED, "stock_levels", "order_statuses", "warehouses", "channels", "shipping_methods", "contact_tags"]


def brightpearl(sb: Any, **overrides: str) -> BrightpearlResource:
    values = {
        "base_url": sb.brightpearl_base_url,
        "account": sb.brightpearl_account,
        "app_ref": sb.brightpearl_app_ref,
        "account_token": sb.brightpearl_account_token,
        **overrides,
    }
    return BrightpearlResource(**values)


def run_history_storage(dagster_home: str) -> dict[str, Any]:
    """The repo dagster.yaml's `event_log_storage`, placed in `dagster_home` (instance overrides)."""
    section = yaml.safe_load((REPO / "dagster.yaml").read_text())["event_log_storage"]
    return {"event_log_storage": {**section, "config": {"dagster_home": dagster_home}}}


def today() -> str:
    return daily_partitions.get_partition_key_for_timestamp(datetime.now(UTC).timestamp())


@pytest.fixture(scope="module")
def loaded(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One complete first load (every asset of the group, today's partition, as `make run` does)."""
    sb = module_sandbox(seed=11, orders=150)
    path = tmp_path_factory.mktemp("first_week") / "warehouse.duckdb"
    resources = {"brightpearl": brightpearl(sb), "warehouse": WarehouseResource(path=str(path))}
    # A real SQLite instance on tmpfs: it commits every event separately, and fsync on this disk would make writing
    # ~1000 partition marks take over a minute. Its run history storage is the one dagster.yaml selects.
    with (
        tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp,
        dg.instance_for_test(temp_dir=tmp, overrides=run_history_storage(tmp)) as instance,
    ):
        result = dg.materialize(list(brightpearl_assets), resources=resources, instance=instance, partition_key=today())
        assert result.success
        yield {"sb": sb, "path": path, "resources": resources, "instance": instance, "result": result}


def sensor_ticks(instance: dg.DagsterInstance, cursor: str | None = None) -> tuple[list[Any], str | None]:
    """Evaluate `partition_status` tick after tick (as the daemon does) until it skips; its events and cursor."""
    events: list[Any] = []
    for _ in range(20):
        with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
            result = partition_status(context)
        if isinstance(result, dg.SkipReason):
            return events, cursor
        assert isinstance(result, dg.SensorResult)
        events += result.asset_events
        cursor = result.cursor
    raise AssertionError("the sensor never caught up")


def test_a_complete_load_shows_the_whole_history_as_materialized(loaded: dict[str, Any]) -> None:
    instance: dg.DagsterInstance = loaded["instance"]
    all_keys = set(daily_partitions.get_partition_keys())
    assert len(all_keys) > 1000  # 2024-01-01 .. today
    # The run itself: today's partition, and the range its sweep covered as metadata (no per-day events inline).
    for asset in PARTITIONED:
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == {today()}
    results = [e.event_specific_data.materialization for e in loaded["result"].get_asset_materialization_events()]
    covered = {m.asset_key.to_user_string(): m.metadata[COVERED_PARTITIONS].value for m in results if m.partition}
    assert covered == dict.fromkeys(PARTITIONED, f"{min(all_keys)}...{today()}")

    started = time.monotonic()
    events, cursor = sensor_ticks(instance)
    evaluated = time.monotonic() - started
    by_asset: dict[str, set[str]] = {}
    for event in events:
        by_asset.setdefault(event.asset_key.to_user_string(), set()).add(event.partition)
    for asset in PARTITIONED:  # every covered day not yet materialized, once
        assert by_asset[asset] == all_keys - {today()}, asset
    assert len(events) == len(PARTITIONED) * (len(all_keys) - 1)
    # What the daemon does with them (one asset here: each event is its own SQLite write).
    started = time.monotonic()
    for event in events:
        if event.asset_key == dg.AssetKey("orders"):
            instance.report_runless_asset_event(event)
    written = time.monotonic() - started
    assert instance.get_materialized_partitions(dg.AssetKey("orders")) == all_keys
    print(
        f"sensor: {len(events)} marks in {evaluated:.1f} s; {len(all_keys) - 1} orders marks written in {written:.1f} s"
    )
    # Nothing new since: the next tick skips.
    assert sensor_ticks(instance, cursor)[0] == []


def test_every_extraction_asset_reports_its_tables_row_count(loaded: dict[str, Any]) -> None:
    events = [e.event_specific_data.materialization for e in loaded["result"].get_asset_materialization_events()]
    counts = {m.asset_key.to_user_string(): m.metadata["dagster/row_count"].value for m in events}
    assert set(counts) == set(TABLES)
    with duckdb.connect(str(loaded["path"]), read_only=True) as conn:
        for table in TABLES:
            stored = conn.execute(f"SELECT count(*) FROM brightpearl.{table}").fetchone()[0]  # type: ignore[index]
            assert counts[table] == stored > 0, table


def test_an_incremental_run_marks_the_days_its_window_read(loaded: dict[str, Any]) -> None:
    """A fresh instance (no partition known) and the loaded warehouse: a window search (no sweep) marks exactly the
    days from watermark - overlap to today."""
    resources = loaded["resources"]
    with duckdb.connect(str(loaded["path"]), read_only=True) as conn:
        watermark = conn.execute("SELECT watermark FROM _sync.watermarks WHERE resource = 'orders'").fetchone()[0]  # type: ignore[index]
    config = {"mode": "incremental", "overlap_minutes": 30, "reconcile_max_pages": 0, "reconcile_every_hours": 1000}
    orders_asset = next(a for a in brightpearl_assets if a.node_def.name == "orders_and_rows")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [orders_asset],
            resources=resources,
            instance=instance,
            partition_key=today(),
            run_config={"ops": {"orders_and_rows": {"config": config}}},
        )
        assert result.success
        events, _ = sensor_ticks(instance)
        for event in events:
            instance.report_runless_asset_event(event)
        marked = instance.get_materialized_partitions(dg.AssetKey("orders"))
    first = (watermark - timedelta(minutes=30)).astimezone(UTC).date()
    expected = {(first + timedelta(days=i)).isoformat() for i in range((datetime.now(UTC).date() - first).days + 1)}
    assert marked == expected
    assert len(expected) < 60  # a window, not the history


def test_the_overlap_of_a_scheduled_run_follows_the_environment(
    loaded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No code change: BP_OVERLAP_MINUTES (and BP_RECONCILE_MAX_PAGES) set before the tick decide the window."""
    monkeypatch.setenv("BP_OVERLAP_MINUTES", "45")
    monkeypatch.setenv("BP_RECONCILE_MAX_PAGES", "0")
    when = datetime.now(UTC)
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as context,
    ):
        request = brightpearl_incremental(context)
    assert isinstance(request, dg.RunRequest)
    config = request.run_config["ops"]["orders_and_rows"]["config"]
    assert config["overlap_minutes"] == 45 and config["reconcile_max_pages"] == 0
    with duckdb.connect(str(loaded["path"]), read_only=True) as conn:
        watermark = conn.execute("SELECT watermark FROM _sync.watermarks WHERE resource = 'orders'").fetchone()[0]  # type: ignore[index]
    orders_asset = next(a for a in brightpearl_assets if a.node_def.name == "orders_and_rows")
    run_config = {"ops": {"orders_and_rows": request.run_config["ops"]["orders_and_rows"]}}
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [orders_asset],
            resources=loaded["resources"],
            instance=instance,
            partition_key=request.partition_key,
            run_config=run_config,
        )
    assert result.success
    # A quiet run does not publish: its run log is in the working file (nobody else holds it now).
    with duckdb.connect(str(loaded["resources"]["warehouse"].working_path), read_only=True) as conn:
        window_from = conn.execute(
            "SELECT window_from FROM _sync.runs WHERE run_id = ? AND asset = 'orders'", [result.run_id]
        ).fetchone()[0]  # type: ignore[index]
    assert window_from == watermark - timedelta(minutes=45)


def test_a_real_shaped_account_is_refused_on_the_sandbox_warehouse(loaded: dict[str, Any], tmp_path: Path) -> None:
    """Same file, another account: the run fails before any API call with one line naming the way out."""
    path: Path = loaded["path"]
    before = path.stat().st_mtime_ns
    sb = loaded["sb"]
    counts_before = sb.request_counts()
    real = brightpearl(sb, base_url="https://euw1.brightpearlconnect.com", account="acme")
    reference_asset = next(a for a in brightpearl_assets if a.node_def.name == "warehouses")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [reference_asset],
            resources={"brightpearl": real, "warehouse": loaded["resources"]["warehouse"]},
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.event_specific_data.error.message  # type: ignore[union-attr]
    assert "holds brightpearl sandbox (loopback) account sandbox" in message
    assert "https://euw1.brightpearlconnect.com account acme" in message
    assert "BP_WAREHOUSE_PATH" in message and "reset-warehouse" in message
    assert sb.brightpearl_account_token not in message
    assert path.stat().st_mtime_ns == before  # nothing published
    assert sb.request_counts() == counts_before  # and the sandbox saw no call either


def test_storefront_streams_written_first_do_not_make_a_fresh_warehouse_look_adopted(
    loaded: dict[str, Any], tmp_path: Path
) -> None:
    """On a fresh warehouse the storefront extraction may commit before the first Brightpearl asset: the Brightpearl
    source is then recorded without the "held data but no recorded source" warning meant for old warehouses."""
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    wh = warehouse.get_warehouse()
    with wh.connect() as conn:
        bk.set_watermark(
            conn, "storefront.orders", None, datetime.now(UTC), mode="incremental", window=(None, None), run_id="t"
        )
        assert not warehouse_source.holds_data(conn, "brightpearl") and warehouse_source.holds_data(conn, "storefront")
    reference_asset = next(a for a in brightpearl_assets if a.node_def.name == "warehouses")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [reference_asset],
            resources={"brightpearl": brightpearl(loaded["sb"]), "warehouse": warehouse},
            instance=instance,
        )
        logs = [r.user_message for r in instance.all_logs(result.run_id)]
    assert result.success
    assert not [m for m in logs if "no recorded source" in m]
    with wh.connect() as conn:
        assert warehouse_source.recorded_source(conn, "brightpearl") is not None
        # an old warehouse (Brightpearl data, no source) is still told it was adopted
        conn.execute("DELETE FROM _sync.source")
        bk.set_watermark(conn, "orders", None, datetime.now(UTC), mode="incremental", window=(None, None), run_id="t")
        assert warehouse_source.holds_data(conn, "brightpearl")
