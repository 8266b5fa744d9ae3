"""The storefront push as Dagster runs it: the assets in a job with the sync file, checks, the sensor, the
on-demand and re-drive jobs, and a bad sync file, on one private sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from bp_pipelines.assets.brightpearl import brightpearl_assets
from bp_pipelines.lib.push.changes import watermarks
from bp_pipelines.resources.bigcommerce import BigCommerceResource
from bp_pipelines.resources.warehouse import WarehouseResource
from bp_pipelines.schedules.storefront import storefront_changes, storefront_push_order, storefront_redrive

from .test_brightpearl_sync import bigcommerce, brightpearl, metadata_of, today

SYNC_FILE = """
storefront:
  enabled: true
  brightpearl_channel_ids: [2]
  order_link: external_ref
push_from: "{push_from}"
status_map:
  Cancelled: 5
  Invoiced: 10
unmapped_status: leave
shipments:
  trigger: goods_out_shipped
  carriers:
    Standard Shipping: {{tracking_carrier: ups, shipping_provider: ups}}
  default_carrier: {{tracking_carrier: "", shipping_provider: ""}}
"""


class Env:
    def __init__(self, sb: Any, wh: WarehouseResource, sync_file: Path) -> None:
        self.sb, self.wh, self.sync_file = sb, wh, sync_file

    def resources(self) -> dict[str, Any]:
        return {
            "brightpearl": brightpearl(self.sb),
            "bigcommerce": bigcommerce(self.sb),
            "warehouse": self.wh,
        }

    def push_job(self, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
        from bp_pipelines.definitions import defs

        job = defs.resolve_job_def("storefront_push")
        return job.execute_in_process(
            resources=self.resources(),
            partition_key=today(),
            instance=instance or dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
            run_config={
                "ops": {
                    a.node_def.name: {"config": {"reconcile_max_pages": 0}}
                    for a in brightpearl_assets
                    if a.node_def.name in ("orders_and_rows", "goods_out_notes_and_rows")
                }
            },
        )

    def bc_calls(self) -> int:
        return sum(v for k, v in self.sb.request_counts().items() if k.startswith("bigcommerce "))

    def bp_calls(self) -> int:
        return sum(v for k, v in self.sb.request_counts().items() if k.startswith("brightpearl "))


@pytest.fixture(scope="module")
def env(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sb = module_sandbox(seed=31, orders=400)
    clock = datetime.fromtimestamp(sb.clock_ms() / 1000, UTC)
    tmp = tmp_path_factory.mktemp("storefront")
    sync_file = tmp / "sync.yaml"
    sync_file.write_text(SYNC_FILE.format(push_from=(clock - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")))
    wh = WarehouseResource(path=str(tmp / "warehouse.duckdb"))
    dg.materialize(
        list(brightpearl_assets),
        resources={"brightpearl": brightpearl(sb), "warehouse": wh},
        run_config={"ops": {a.node_def.name: {"config": {"reconcile_max_pages": 0}} for a in brightpearl_assets}},
        partition_key=today(),
        instance=dg.DagsterInstance.ephemeral(),
    )
    sb.advance_clock(3600)
    sb.apply_changes(storefront_orders_created=10, goods_out_shipped=20, status_changes=20)
    mp = pytest.MonkeyPatch()
    mp.setenv("BP_SYNC_CONFIG", str(sync_file))
    yield Env(sb, wh, sync_file)
    mp.undo()


def test_the_push_job_extracts_then_pushes_shipments_before_statuses(env: Env) -> None:
    result = env.push_job()
    assert result.success
    meta = metadata_of(result)
    assert meta["storefront_shipments"]["sent"] > 0
    assert meta["storefront_order_statuses"]["sent"] > 0
    assert meta["storefront_shipments"]["published"] and meta["storefront_order_statuses"]["published"]
    assert meta["storefront_shipments"]["open_dead_letters"] == 0
    order = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert order.index("storefront_shipments") < order.index("storefront_order_statuses")
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert checks and all(c.passed for c in checks)  # type: ignore[union-attr]


def test_a_second_run_pushes_nothing_and_makes_no_storefront_call(env: Env) -> None:
    before = env.bc_calls()
    result = env.push_job()
    meta = metadata_of(result)
    assert meta["storefront_shipments"]["sent"] == meta["storefront_order_statuses"]["sent"] == 0
    assert env.bc_calls() == before
    # Nothing written but bookkeeping: no copy of the warehouse (the sensor test below still finds the snapshot's
    # watermarks current, so it does not ask for this run again).
    assert not meta["storefront_shipments"]["published"] and not meta["storefront_order_statuses"]["published"]


def test_the_sensor_polls_with_two_calls_and_asks_for_a_run_only_after_a_change(env: Env) -> None:
    instance = dg.DagsterInstance.ephemeral()
    resources = {"brightpearl": brightpearl(env.sb), "warehouse": env.wh}
    before = env.bp_calls()
    quiet = storefront_changes(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(quiet, dg.SkipReason)
    assert env.bp_calls() - before == 2
    env.sb.advance_clock(120)
    env.sb.apply_changes(goods_out_shipped=3)
    result = storefront_changes(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.partition_key == today() and "shipped" in request.tags["bp/trigger"]
    orders_wm, notes_wm = watermarks(env.wh.published_path)
    assert orders_wm is not None and notes_wm is not None


def test_push_one_order_on_demand(env: Env) -> None:
    env.sb.advance_clock(120)
    changed = env.sb.apply_changes(storefront_orders_created=2, goods_out_shipped=6)
    env.push_job()  # extract + push everything new
    from bp_pipelines.lib.warehouse import DuckDBWarehouse

    with DuckDBWarehouse(env.wh.published_path).connect() as conn:
        (bp_order,) = conn.execute(
            "SELECT bp_order_id FROM push.ledger WHERE kind = 'shipment' ORDER BY planned_at DESC LIMIT 1"
        ).fetchone()
    before = env.bc_calls()
    result = storefront_push_order.execute_in_process(
        run_config={"ops": {"push_one_order": {"config": {"bp_order_id": bp_order}}}},
        resources=env.resources(),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success and env.bc_calls() == before  # already pushed: the ledger knows, nothing re-sent
    assert changed


def test_redrive_with_nothing_open_is_a_clean_no_op(env: Env) -> None:
    result = storefront_redrive.execute_in_process(resources=env.resources(), instance=dg.DagsterInstance.ephemeral())
    assert result.success


def test_a_bad_sync_file_fails_the_push_with_the_key_and_the_valid_values(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "sync.yaml"
    bad.write_text(env.sync_file.read_text().replace("Cancelled: 5", "Canceled: 5"))
    monkeypatch.setenv("BP_SYNC_CONFIG", str(bad))
    result = env.push_job()
    assert not result.success
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]  # type: ignore[union-attr]
    assert failures and all("status_map" in f and "Canceled" in f and "Cancelled" in f for f in failures)


def test_push_switched_off_makes_no_storefront_call_and_needs_no_storefront_credentials(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BP_SYNC_CONFIG", str(Path(__file__).resolve().parents[2] / "sync.yaml"))  # shipped: off
    before = env.bc_calls()
    from bp_pipelines.definitions import defs

    job = defs.resolve_job_def("storefront_push")
    resources = {**env.resources(), "bigcommerce": BigCommerceResource(store_hash="", access_token="")}
    result = job.execute_in_process(
        resources=resources, partition_key=today(), instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert result.success
    assert metadata_of(result)["storefront_shipments"]["push_enabled"] is False
    assert env.bc_calls() == before


def test_a_warehouse_filled_from_the_sandbox_never_pushes_to_another_store(env: Env) -> None:
    from bp_pipelines.definitions import defs

    job = defs.resolve_job_def("storefront_push")
    live = BigCommerceResource(base_url="https://api.bigcommerce.com", store_hash="live1store", access_token="tok")
    result = job.execute_in_process(
        resources={**env.resources(), "bigcommerce": live},
        partition_key=today(),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]  # type: ignore[union-attr]
    assert failures and all("live1store" in f and "reset-warehouse" in f for f in failures)
