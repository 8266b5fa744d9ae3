"""The reconciliation marts end to end on one private sandbox (real HTTP both sides, real DuckDB file), through the
main job `make run` executes, with the sync file `make run` uses on the sandbox (sync.sandbox.yaml):

- after a run every reconciliation table in schema analytics is empty and every check passes (none warns);
- a second run with nothing changed writes nothing anywhere (no create, update or push on either API);
- each table lists a row once the sandbox is made inconsistent over HTTP (a SKU renamed on the storefront only, a
  storefront rejecting stock levels and account updates, Brightpearl refusing an order; a pushed status changed and
  a pushed shipment deleted on the storefront, a storefront refusing shipments and status changes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from bp_pipelines.lib.marts.build import rebuild_marts
from bp_pipelines.lib.marts.marts import MARTS
from bp_pipelines.resources.warehouse import WarehouseResource
from bp_pipelines.schedules.jobs import sync_run_config

from .test_brightpearl_sync import bigcommerce, brightpearl, metadata_of, today

SANDBOX_SYNC_FILE = Path(__file__).resolve().parents[2] / "sync.sandbox.yaml"
RECONCILIATION_MARTS = (
    "storefront_sku_mismatches",
    "storefront_stock_drift",
    "storefront_orders_not_imported",
    "storefront_accounts_out_of_step",
    "storefront_status_mismatches",
    "storefront_shipments_missing",
)
WRITE_METHODS = ("POST ", "PUT ", "PATCH ", "DELETE ")


@dataclass
class Env:
    sb: Any
    wh: WarehouseResource

    def run(self, mode: str = "auto") -> dg.ExecuteInProcessResult:
        """The main job, as `make run` executes it (today's partition, the scheduled runs' config)."""
        from bp_pipelines.definitions import defs

        return defs.resolve_job_def("brightpearl_sync").execute_in_process(
            resources={
                "brightpearl": brightpearl(self.sb),
                "bigcommerce": bigcommerce(self.sb),
                "warehouse": self.wh,
            },
            partition_key=today(),
            run_config=sync_run_config(mode),
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )

    def rows(self, mart: str) -> list[dict[str, Any]]:
        with self.wh.get_warehouse().connect() as conn:
            cursor = conn.execute(f"SELECT * FROM analytics.{mart}")
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def writes(self) -> dict[str, int]:
        """Requests that change something, per endpoint, on both APIs (the sandbox's counters)."""
        return {
            k: v
            for k, v in self.sb.request_counts().items()
            if k.split(" ", 1)[1].startswith(WRITE_METHODS) and not k.endswith("search")
        }


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e
        for e in (ev.event_specific_data for ev in result.all_events if ev.event_type_value == "ASSET_CHECK_EVALUATION")
    }


@pytest.fixture(scope="module")
def env(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sb = module_sandbox(seed=42, orders=300)
    mp = pytest.MonkeyPatch()
    mp.setenv("BP_SYNC_CONFIG", str(SANDBOX_SYNC_FILE))
    yield Env(sb, WarehouseResource(path=str(tmp_path_factory.mktemp("recon") / "warehouse.duckdb")))
    mp.undo()


def test_after_a_run_every_reconciliation_table_is_empty_and_every_check_passes(env: Env) -> None:
    result = env.run()
    assert result.success
    meta = metadata_of(result)
    assert meta["storefront_order_import"]["created"] > 0 and meta["storefront_stock_levels"]["sent"] > 0
    for mart in RECONCILIATION_MARTS:
        assert env.rows(mart) == [], mart
    evaluations = checks(result)
    assert {f"{m}:{c}" for m, c in (("storefront_sku_mismatches", "no_sku_mismatches"),)} <= set(evaluations)
    failed = {k: e.description for k, e in evaluations.items() if not e.passed}
    assert failed == {}  # not one warning


def test_a_second_run_with_nothing_changed_writes_nothing(env: Env) -> None:
    env.sb.reset_request_counts()
    result = env.run()
    assert result.success
    meta = metadata_of(result)
    assert env.writes() == {}  # no POST/PUT/PATCH/DELETE on either API
    assert (meta["storefront_order_import"]["planned"], meta["storefront_order_import"]["created"]) == (0, 0)
    assert meta["storefront_stock_levels"]["sent"] == 0
    assert meta["storefront_shipments"]["sent"] == meta["storefront_order_statuses"]["sent"] == 0
    assert (meta["storefront_accounts"]["created"], meta["storefront_accounts"]["updated"]) == (0, 0)
    for mart in RECONCILIATION_MARTS:
        assert env.rows(mart) == [], mart


def test_each_reconciliation_table_lists_what_the_sandbox_made_inconsistent(env: Env) -> None:
    sb = env.sb
    sb.advance_clock(600)
    # SKUs: a variant renamed on the storefront only (the old SKU is sold on the storefront and stocked).
    (renamed,) = sb.apply_only(storefront_sku_renames=1)["storefront_sku_renames"]
    # Stock: Brightpearl stock moves, and the storefront rejects the levels.
    sb.apply_only(stock_changes=10)
    sb.add_fault(api="bigcommerce", kind="status", status=422, path="v3/inventory/adjustments/absolute", count=-1)
    # Orders: new storefront orders awaiting fulfilment, and Brightpearl refuses to create them.
    sb.apply_only(storefront_only_orders=6)
    sb.add_fault(api="brightpearl", kind="status", status=400, path=r"sales-order$", method="POST", count=-1)
    # Accounts: a credit customer's phone changes in Brightpearl, and the storefront refuses the account update.
    with env.wh.get_warehouse().connect() as conn:
        (contact_id,) = conn.execute(
            "SELECT min(contact_id) FROM analytics.customer_accounts a JOIN brightpearl.contacts c USING (contact_id) "
            "WHERE coalesce(c.credit_limit, 0) > 0 OR coalesce(c.credit_term_days, 0) > 0"
        ).fetchone()
    httpx.patch(
        f"{sb.brightpearl_api}/contact-service/contact/{contact_id}",
        headers=sb.bp_headers(),
        json=[{"op": "replace", "path": "/communication/telephones/PRI", "value": "+1 555 0142"}],
    ).raise_for_status()
    sb.add_fault(api="bigcommerce", kind="status", status=422, path="v3/customers", method="PUT", count=-1)
    try:
        result = env.run("reconciliation")  # `make run ARGS=--reconcile`: stock re-read for every product
    finally:
        sb.clear_faults()
    assert result.success  # every refusal is a record's problem: dead-lettered, the run goes on

    mismatches = {(r["side"], r["sku"]): r["why"] for r in env.rows("storefront_sku_mismatches")}
    new_sku = next(sku for (side, sku) in mismatches if side == "storefront")
    old_sku = new_sku.removesuffix("-WEB")
    assert new_sku.endswith("-WEB") and "no live Brightpearl product" in mismatches[("storefront", new_sku)]
    assert "sold on the storefront" in mismatches[("brightpearl", old_sku)], (renamed, mismatches)

    drift = env.rows("storefront_stock_drift")
    assert drift and all(r["why"].startswith("the storefront rejected the push") for r in drift)

    not_imported = env.rows("storefront_orders_not_imported")
    assert not_imported and all(r["state"] == "dead" and "refused" in r["why"] for r in not_imported)

    out_of_step = {r["contact_id"]: r["why"] for r in env.rows("storefront_accounts_out_of_step")}
    assert contact_id in out_of_step and out_of_step[contact_id].startswith("dead-lettered")

    failed = {k for k, e in checks(result).items() if not e.passed}
    assert {
        "storefront_sku_mismatches:no_sku_mismatches",
        "storefront_stock_drift:no_stock_drift",
        "storefront_orders_not_imported:is_empty",
        "storefront_accounts_out_of_step:is_empty",
    } <= failed


def test_status_and_shipment_reconciliation_name_the_order_and_the_note(env: Env) -> None:
    sb = env.sb
    # The push sends changes since push_from (this machine's clock minus push_lookback): bring the sandbox's fixed
    # test clock up to now, so what changes next is the push's to send.
    sb.advance_clock(max(600.0, time.time() - sb.clock_ms() / 1000 + 600))
    # Brightpearl moves on: orders change status (some to the mapped Invoiced/Cancelled) and goods-out notes ship.
    sb.apply_only(status_changes=40, goods_out_shipped=20)
    result = env.run()
    assert result.success
    with env.wh.get_warehouse().connect() as conn:
        status_push = conn.execute(
            "SELECT storefront_order_id, bp_order_id, CAST(desired->>'status_id' AS BIGINT) FROM push.ledger "
            "WHERE kind = 'order_status' AND state = 'confirmed' ORDER BY finished_at DESC, push_id LIMIT 1"
        ).fetchone()
        shipment_push = conn.execute(
            "SELECT storefront_order_id, source_id, CAST(storefront_ref AS BIGINT) FROM push.ledger "
            "WHERE kind = 'shipment' AND state = 'confirmed' ORDER BY finished_at DESC, push_id LIMIT 1"
        ).fetchone()
    assert status_push is not None and shipment_push is not None  # this run pushed both kinds
    # What this run pushed counts as done, whether the storefront extraction ran before or after the push.
    assert env.rows("storefront_status_mismatches") == []
    assert env.rows("storefront_shipments_missing") == []

    # The storefront drifts: a merchant changes the pushed order's status and deletes the pushed shipment there.
    sf_order, bp_order, pushed_status = status_push
    ship_order, note_id, shipment_id = shipment_push
    other = 11 if pushed_status != 11 else 9
    store = f"{sb.bigcommerce_base_url}/stores/{sb.bigcommerce_store_hash}/v2/orders"
    sb.advance_clock(60)
    with httpx.Client(headers=sb.bc_headers()) as bc:
        bc.put(f"{store}/{sf_order}", json={"status_id": other}).raise_for_status()
        bc.delete(f"{store}/{ship_order}/shipments/{shipment_id}").raise_for_status()
    # ... and newly shipped notes and changed statuses are refused by the storefront (dead-lettered).
    sb.advance_clock(60)
    sb.apply_only(status_changes=40, goods_out_created=30, goods_out_shipped=30)
    sb.add_fault(api="bigcommerce", kind="status", status=422, path=r"shipments$", method="POST", count=-1)
    sb.add_fault(api="bigcommerce", kind="status", status=422, path=r"v2/orders/\d+$", method="PUT", count=-1)
    try:
        result = env.run()
    finally:
        sb.clear_faults()
    assert result.success

    mismatches = {r["storefront_order_id"]: r for r in env.rows("storefront_status_mismatches")}
    row = mismatches[sf_order]
    assert (row["bp_order_id"], row["storefront_status_id"], row["expected_status_id"]) == (
        bp_order,
        other,
        pushed_status,
    )
    assert row["why"].startswith(f"changed on the storefront after the push set status {pushed_status}")
    refused = [r for r in mismatches.values() if r["state"] == "dead"]
    assert refused and all(r["why"].startswith("dead-lettered: storefront rejected status") for r in refused)

    missing = {r["goods_out_note_id"]: r for r in env.rows("storefront_shipments_missing")}
    assert missing[note_id]["state"] == "confirmed" and "no longer on the storefront" in missing[note_id]["why"]
    dead = [r for r in missing.values() if r["state"] == "dead"]
    assert dead and all(r["why"].startswith("dead-lettered: storefront rejected the shipment") for r in dead)

    failed = {k for k, e in checks(result).items() if not e.passed}
    assert {"storefront_status_mismatches:is_empty", "storefront_shipments_missing:is_empty"} <= failed


def test_a_push_with_no_ledger_row_is_listed_as_never_pushed(env: Env) -> None:
    # After the previous test: some status changes and shipments were refused (dead-lettered). Their ledger rows are
    # dropped here, as if the push had never planned them (the safety net for a push that skipped a record), and the
    # two marts are rebuilt from the warehouse alone.
    with env.wh.get_warehouse().connect() as conn:
        status_orders = dict(
            conn.execute(
                "SELECT storefront_order_id, bp_order_id FROM analytics.storefront_status_mismatches WHERE state = 'dead'"
            ).fetchall()
        )
        notes = [
            r[0]
            for r in conn.execute(
                "SELECT goods_out_note_id FROM analytics.storefront_shipments_missing WHERE state = 'dead'"
            ).fetchall()
        ]
        assert status_orders and notes
        conn.execute(
            "DELETE FROM push.ledger WHERE (kind = 'order_status' AND bp_order_id IN (SELECT unnest(?))) "
            "OR push_id IN (SELECT 'shipment:gon:' || unnest(?))",
            [list(status_orders.values()), notes],
        )
        wanted = {"storefront_status_mismatches", "storefront_shipments_missing"}
        # A note is listed as never pushed once reconcile.shipment_delay_minutes (60) have passed since it shipped:
        # these shipped a day earlier (the sandbox's clock runs ahead of this machine's here).
        conn.execute(
            "UPDATE brightpearl.goods_out_notes SET shipped_on = shipped_on - INTERVAL 1 DAY "
            "WHERE goods_out_note_id IN (SELECT unnest(?))",
            [notes],
        )
        rebuild_marts(conn, [m for m in MARTS if m.name in wanted])

    mismatches = {r["storefront_order_id"]: r for r in env.rows("storefront_status_mismatches")}
    for order_id in status_orders:
        row = mismatches[order_id]
        assert (row["state"], row["push_id"]) == ("not planned", None)
        assert row["why"] == "never pushed: no status push for this order in push.ledger since push_from"
    missing = {r["goods_out_note_id"]: r for r in env.rows("storefront_shipments_missing")}
    for note_id in notes:
        row = missing[note_id]
        assert row["state"] == "not planned"
        assert f"and never pushed: no shipment:gon:{note_id} row in push.ledger" in row["why"]
