"""The storefront push end to end on one private sandbox (real HTTP both sides, real DuckDB file): the first push
makes the storefront match Brightpearl, a second pushes and reads nothing, and faults (lost responses, 5xx,
a killed process, unknown SKUs, over-shipping, orders fulfilled by hand) never duplicate or lose a change."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from bp_pipelines.assets.brightpearl import brightpearl_assets
from bp_pipelines.lib.bigcommerce import BigCommerceClient
from bp_pipelines.lib.push import Carrier, PushScope, PushSettings, redrive_dead_letters, run_push
from bp_pipelines.lib.push.plan import plan_shipments
from bp_pipelines.resources.warehouse import WarehouseResource

from .test_brightpearl_sync import brightpearl, today

STOREFRONT_CHANNEL = 2
CANCELLED, INVOICED = 5, 4  # Brightpearl sandbox status ids
SF_CANCELLED, SF_COMPLETED = 5, 10


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)

    def warning(self, msg: str) -> None:
        self.lines.append(msg)


@dataclass
class Env:
    sb: Any
    wh: WarehouseResource
    push_from: datetime

    def settings(self, **overrides: Any) -> PushSettings:
        base: dict[str, Any] = {
            "enabled": True,
            "channel_ids": (STOREFRONT_CHANNEL,),
            "push_from": self.push_from,
            "status_map": {CANCELLED: SF_CANCELLED, INVOICED: SF_COMPLETED},
            "carriers": {1: Carrier("ups", "ups"), 4: Carrier("usps", "usps")},
        }
        return PushSettings(**{**base, **overrides})

    def client(self, timeout: float = 30) -> BigCommerceClient:
        return BigCommerceClient(
            self.sb.bigcommerce_base_url,
            self.sb.bigcommerce_store_hash,
            self.sb.bigcommerce_access_token,
            timeout=timeout,
            max_attempts=2,
        )

    def push(self, kind: str, scope: PushScope | None = None, timeout: float = 30, **settings: Any) -> Any:
        wh = self.wh.get_warehouse()
        with wh.session():  # as `materialize_push` holds one
            return run_push(
                kind,
                wh.connect,
                lambda: self.client(timeout),
                self.settings(**settings),
                scope or PushScope(),
                Log(),  # type: ignore[arg-type]
            )

    def extract(self) -> None:
        run_config = {
            "ops": {
                a.node_def.name: {"config": {"mode": "incremental", "reconcile_max_pages": 0}}
                for a in brightpearl_assets
            }
        }
        dg.materialize(
            list(brightpearl_assets),
            resources={"brightpearl": brightpearl(self.sb), "warehouse": self.wh},
            run_config=run_config,
            partition_key=today(),
            instance=dg.DagsterInstance.ephemeral(),
        )

    def sql(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.wh.get_warehouse().connect() as conn:
            return conn.execute(sql, params or []).fetchall()

    def bc_calls(self) -> int:
        return sum(v for k, v in self.sb.request_counts().items() if k.startswith("bigcommerce "))

    def storefront_order(self, order_id: int) -> dict[str, Any]:
        return self.sb.storefront_state(f"orders/{order_id}")


@pytest.fixture(scope="module")
def env(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sb = module_sandbox(seed=23, orders=400)
    clock = datetime.fromtimestamp(sb.clock_ms() / 1000, UTC)
    e = Env(
        sb, WarehouseResource(path=str(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")), clock - timedelta(days=30)
    )
    # A busy hour on the storefront channel: new web orders, notes shipped, statuses changed since the last push.
    sb.advance_clock(3600)
    sb.apply_changes(storefront_orders_created=12, goods_out_shipped=25, status_changes=25)
    e.extract()
    yield e


def shipped_by_sku(env: Env, bp_order_id: int) -> dict[str, int]:
    rows = env.sql(
        """SELECT r.sku, sum(gr.quantity) FROM brightpearl.goods_out_notes g
           JOIN brightpearl.goods_out_note_rows gr USING (goods_out_note_id)
           JOIN brightpearl.order_rows r ON r.order_id = g.order_id AND r.row_id = gr.order_row_id
           WHERE g.order_id = ? AND g.shipped AND NOT coalesce(r.is_bundle_child, false) GROUP BY ALL""",
        [bp_order_id],
    )
    return {sku: int(q) for sku, q in rows}


def test_first_push_makes_the_storefront_follow_brightpearl(env: Env) -> None:
    shipments = env.push("shipment")
    statuses = env.push("order_status")
    assert shipments.planned > 0 and shipments.sent > 0, shipments
    assert shipments.dead_lettered == 0 and statuses.dead_lettered == 0
    assert statuses.sent > 0
    # Every planned shipment is settled: confirmed (sent now) or skipped (the storefront already had it).
    open_rows = env.sql("SELECT count(*) FROM push.ledger WHERE state IN ('planned', 'sending')")[0][0]
    assert open_rows == 0
    # The storefront now ships, per line, exactly what Brightpearl shipped (plain lines of pushed orders).
    pushed = env.sql(
        "SELECT DISTINCT bp_order_id, storefront_order_id FROM push.ledger WHERE kind = 'shipment' AND state = 'confirmed'"
    )
    assert pushed
    for bp_order_id, sf_id in pushed[:15]:
        sf = env.storefront_order(sf_id)
        want = shipped_by_sku(env, bp_order_id)
        got = {p["sku"]: p["quantity_shipped"] for p in sf["products"] if p["sku"] in want}
        assert got == want, (bp_order_id, sf_id)
        for shipment in sf["shipments"]:
            assert len(shipment["tracking_number"]) <= 50
    # Statuses: every storefront order with a mapped Brightpearl status changed since push_from has it.
    mapped = env.sql(
        """SELECT order_id, TRY_CAST(external_ref AS BIGINT), order_status_id FROM brightpearl.orders
           WHERE channel_id = ? AND order_type_code = 'SO' AND order_status_id IN (?, ?) AND updated_on >= ?""",
        [STOREFRONT_CHANNEL, CANCELLED, INVOICED, env.push_from],
    )
    assert mapped
    for _, sf_id, bp_status in mapped:
        want = SF_CANCELLED if bp_status == CANCELLED else SF_COMPLETED
        assert env.storefront_order(sf_id)["order"]["status_id"] == want


def test_second_push_sends_and_reads_nothing(env: Env) -> None:
    before = env.bc_calls()
    shipments = env.push("shipment")
    statuses = env.push("order_status")
    assert (shipments.planned, shipments.sent, statuses.planned, statuses.sent) == (0, 0, 0, 0)
    assert env.bc_calls() == before


def test_a_backfill_of_partitions_never_posts_twice(env: Env) -> None:
    before = env.bc_calls()
    # Re-materializing the already-pushed days as an explicit backfill (push_from ignored) plans nothing new.
    start = env.push_from
    report = env.push(
        "shipment", PushScope(window_from=start, window_to=start + timedelta(days=31), respect_push_from=False)
    )
    assert report.sent == 0 and report.reconciled == 0
    assert env.bc_calls() == before


def _new_shipment(env: Env) -> tuple[int, int]:
    """Ship one more storefront order in the sandbox Brightpearl, extract, and return (bp order, storefront order)."""
    env.sb.advance_clock(600)
    for _ in range(10):
        changed = env.sb.apply_changes(storefront_orders_created=1, goods_out_shipped=0, storefront_goods_out_shipped=1)
        env.extract()
        rows = env.sql(
            """SELECT g.order_id, TRY_CAST(o.external_ref AS BIGINT) FROM brightpearl.goods_out_notes g
               JOIN brightpearl.orders o USING (order_id)
               WHERE g.shipped AND o.channel_id = ? AND g.goods_out_note_id IN (SELECT unnest(?))
                 AND NOT EXISTS (SELECT 1 FROM push.ledger l WHERE l.push_id = 'shipment:gon:' || g.goods_out_note_id)""",
            [STOREFRONT_CHANNEL, changed.get("goods_out_shipped", [])],
        )
        if rows:
            return rows[0]
        env.sb.advance_clock(600)
    raise AssertionError("the sandbox shipped no storefront order")


def test_a_lost_response_on_post_is_reconciled_not_resent(env: Env) -> None:
    _new_shipment(env)
    # The storefront stalls 3 s then applies the POST; the client gives up after 1 s (the response is lost).
    env.sb.add_fault(api="bigcommerce", kind="timeout", path=r"/shipments$", method="POST", delay_s=3, count=1)
    first = env.push("shipment", timeout=1)
    assert first.sent + first.reconciled + first.still_open >= 1
    time.sleep(3.5)
    second = env.push("shipment")
    # Whatever the timing, each goods-out note is on the storefront exactly once, and none is left open.
    _assert_no_duplicate_shipments(env)
    assert second.dead_lettered == 0
    assert env.sql("SELECT count(*) FROM push.ledger WHERE state IN ('planned', 'sending')")[0][0] == 0


def _assert_no_duplicate_shipments(env: Env) -> None:
    for (sf_id,) in env.sql(
        "SELECT DISTINCT storefront_order_id FROM push.ledger WHERE kind = 'shipment' AND state = 'confirmed'"
    ):
        markers = [s["comments"] for s in env.storefront_order(sf_id)["shipments"] if s["comments"]]
        assert len(markers) == len(set(markers)), (sf_id, markers)
        for p in env.storefront_order(sf_id)["products"]:
            assert p["quantity_shipped"] <= p["quantity"]


def test_a_5xx_on_post_leaves_the_row_to_be_checked_before_any_resend(env: Env) -> None:
    _new_shipment(env)
    env.sb.add_fault(api="bigcommerce", kind="status", status=503, path=r"/shipments$", method="POST", count=1)
    first = env.push("shipment")
    assert first.still_open == 1 and first.sent == 0
    second = env.push("shipment")
    assert second.sent == 1  # checked: not on the storefront, so sent once
    _assert_no_duplicate_shipments(env)


def test_a_process_killed_between_send_and_ledger_update_never_duplicates(env: Env, tmp_path: Path) -> None:
    _new_shipment(env)
    env.sb.add_fault(api="bigcommerce", kind="timeout", path=r"/shipments$", method="POST", delay_s=2, count=1)
    script = tmp_path / "push.py"
    script.write_text(
        textwrap.dedent(f"""
        from datetime import datetime
        from bp_pipelines.lib.bigcommerce import BigCommerceClient
        from bp_pipelines.lib.push import PushScope, PushSettings, run_push
        from bp_pipelines.lib.warehouse import DuckDBWarehouse
        class Log:
            def info(self, m): print(m, flush=True)
            def warning(self, m): print(m, flush=True)
        wh = DuckDBWarehouse(__import__("pathlib").Path({str(env.wh.get_warehouse().path)!r}))
        settings = PushSettings(enabled=True, channel_ids=({STOREFRONT_CHANNEL},),
                                push_from=datetime.fromisoformat({env.push_from.isoformat()!r}))
        client = lambda: BigCommerceClient({env.sb.bigcommerce_base_url!r}, {env.sb.bigcommerce_store_hash!r},
                                           {env.sb.bigcommerce_access_token!r}, timeout=30)
        run_push("shipment", wh.connect, client, settings, PushScope(), Log())
    """)
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the row is committed as 'sending', then kill -9
        with contextlib.suppress(duckdb.IOException, RuntimeError):
            if env.sql("SELECT count(*) FROM push.ledger WHERE state = 'sending'")[0][0]:
                break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert env.sql("SELECT count(*) FROM push.ledger WHERE state = 'sending'")[0][0] == 1
    time.sleep(2.5)  # the storefront applies the POST the killed process sent
    report = env.push("shipment")
    assert report.reconciled == 1  # found by its marker: not POSTed again (other new notes are sent normally)
    _assert_no_duplicate_shipments(env)


def test_unknown_sku_and_missing_order_are_dead_lettered_then_redriven(env: Env) -> None:
    bp_order, sf_order = _new_shipment(env)
    # Break the link of the order in the warehouse copy: the storefront has no such order.
    env.sql("UPDATE brightpearl.orders SET external_ref = '999999999' WHERE order_id = ?", [bp_order])
    report = env.push("shipment")
    assert report.dead_lettered >= 1
    reason, status = env.sql(
        "SELECT reason, storefront_status FROM push.dead_letters WHERE bp_order_id = ? AND resolved_at IS NULL",
        [bp_order],
    )[0]
    assert "999999999" in reason and "not found" in reason and status == 404
    # Fix the cause (the next extraction restores the real link) and re-drive: sent once, dead letter resolved.
    env.sql("UPDATE brightpearl.orders SET external_ref = ? WHERE order_id = ?", [str(sf_order), bp_order])
    env.sql("UPDATE push.ledger SET storefront_order_id = ? WHERE bp_order_id = ?", [sf_order, bp_order])
    wh = env.wh.get_warehouse()
    reports = redrive_dead_letters(wh.connect, env.client, env.settings(), Log())  # type: ignore[arg-type]
    assert sum(r.sent for r in reports) >= 1
    assert (
        env.sql("SELECT count(*) FROM push.dead_letters WHERE bp_order_id = ? AND resolved_at IS NULL", [bp_order])[0][
            0
        ]
        == 0
    )
    _assert_no_duplicate_shipments(env)


def test_unknown_sku_is_dead_lettered_with_the_sku_named(env: Env) -> None:
    bp_order, _ = _new_shipment(env)
    env.sql("UPDATE brightpearl.order_rows SET sku = 'NO-SUCH-SKU' WHERE order_id = ?", [bp_order])
    env.push("shipment")
    reasons = [r for (r,) in env.sql("SELECT reason FROM push.dead_letters WHERE bp_order_id = ?", [bp_order])]
    assert reasons and "NO-SUCH-SKU" in reasons[0]


def test_an_order_fulfilled_by_hand_is_recognised_and_not_shipped_again(env: Env) -> None:
    bp_order, sf_order = _new_shipment(env)
    sf = env.storefront_order(sf_order)
    # Someone ships everything on the storefront by hand first.
    items = [
        {"order_product_id": p["id"], "quantity": p["quantity"] - p["quantity_shipped"]}
        for p in sf["products"]
        if p["quantity"] > p["quantity_shipped"]
    ]
    with env.client() as bc:
        bc.create_shipment(
            sf_order,
            {"order_address_id": sf["shipping_addresses"][0]["id"], "items": items, "tracking_number": "BYHAND1"},
        )
    report = env.push("shipment")
    assert report.sent == 0
    notes = env.sql("SELECT state, note FROM push.ledger WHERE bp_order_id = ? AND kind = 'shipment'", [bp_order])
    assert all(state == "skipped" and "already fulfilled" in note for state, note in notes if state != "confirmed")
    _assert_no_duplicate_shipments(env)


def test_push_disabled_sends_nothing(env: Env) -> None:
    before = env.bc_calls()
    report = env.push("shipment", enabled=False)
    assert not report.enabled and env.bc_calls() == before


def test_a_shipment_larger_than_what_remains_ships_only_the_rest(env: Env) -> None:
    bp_order, sf_order = _new_shipment(env)
    with env.wh.get_warehouse().connect() as conn:
        planned = plan_shipments(conn, env.settings(), PushScope(order_id=bp_order, respect_push_from=False), None)
    item = planned[0].desired["items"][0]
    sf = env.storefront_order(sf_order)
    line = next(p for p in sf["products"] if p["sku"] == item["sku"])
    # Someone shipped part of the line by hand: Brightpearl's note now asks for one more than remains.
    by_hand = line["quantity"] - line["quantity_shipped"] - item["quantity"] + 1
    with env.client() as bc:
        bc.create_shipment(
            sf_order,
            {
                "order_address_id": line["order_address_id"],
                "items": [{"order_product_id": line["id"], "quantity": by_hand}],
            },
        )
    env.push("shipment")
    after = {p["id"]: p for p in env.storefront_order(sf_order)["products"]}
    assert after[line["id"]]["quantity_shipped"] == line["quantity"]
    assert all(p["quantity_shipped"] <= p["quantity"] for p in after.values())
    notes = [
        n for (n,) in env.sql("SELECT note FROM push.ledger WHERE bp_order_id = ? AND note IS NOT NULL", [bp_order])
    ]
    assert any("1 more than remains" in n for n in notes), notes
    _assert_no_duplicate_shipments(env)
