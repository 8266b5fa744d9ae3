"""End to end against a private sandbox (real HTTP, real DuckDB files): full sync, quiet re-run, incremental
changes, reconciliation, quarantine, dead API, analyst snapshot. The tests of this module run in order on one
sandbox and one warehouse, like a day in the life of the pipeline."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from bp_pipelines.assets.brightpearl import brightpearl_assets, orders_and_rows
from bp_pipelines.lib.brightpearl import to_id_set
from bp_pipelines.lib.conventions import daily_partitions
from bp_pipelines.resources.bigcommerce import BigCommerceResource
from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

SEARCHES = {
    "contact-service/contact-search",
    "product-service/product-search",
    "order-service/order-search",
    "warehouse-service/goods-note/goods-out-search",
    "accounting-service/customer-payment-search",
}
TABLES = [
    "products",
    "contacts",
    "orders",
    "order_rows",
    "customer_payments",
    "stock_levels",
    "goods_out_notes",
    "goods_out_note_rows",
    "order_statuses",
    "warehouses",
    "channels",
    "shipping_methods",
    "contact_tags",
]


def bigcommerce(sb: Any) -> BigCommerceResource:
    """The storefront resource pointed at the sandbox's BigCommerce (as `make run` builds it from the environment)."""
    return BigCommerceResource(
        base_url=sb.bigcommerce_base_url,
        store_hash=sb.bigcommerce_store_hash,
        access_token=sb.bigcommerce_access_token,
    )


def brightpearl(sb: Any, token: str | None = None) -> BrightpearlResource:
    # Short backoffs keep fault tests fast; the retry counts are the client's defaults otherwise.
    return BrightpearlResource(
        base_url=sb.brightpearl_base_url,
        account=sb.brightpearl_account,
        app_ref=sb.brightpearl_app_ref,
        account_token=token or sb.brightpearl_account_token,
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.05,
        max_attempts=3,
    )


@dataclass
class Env:
    sb: Any
    wh: WarehouseResource
    metadata_text: list[str] = field(default_factory=list)  # every materialization's metadata, as text

    def resources(self, token: str | None = None) -> dict[str, Any]:
        return {"brightpearl": brightpearl(self.sb, token), "warehouse": self.wh}

    def run(
        self,
        mode: str = "incremental",
        assets: Sequence[Any] = tuple(brightpearl_assets),
        raise_on_error: bool = True,
        token: str | None = None,
        **config: Any,
    ) -> Run:
        before = self.sb.request_counts()
        # Window searches only, unless a test asks for the per-run sweep of small accounts (its own test below).
        config = {"reconcile_max_pages": 0, **config}
        run_config = {"ops": {a.node_def.name: {"config": {"mode": mode, **config}} for a in assets}}
        result = dg.materialize(
            list(assets),
            resources=self.resources(token),
            run_config=run_config,
            partition_key=today(),
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=raise_on_error,
        )
        after = self.sb.request_counts()
        calls = {k.split(" ", 1)[1]: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        meta = metadata_of(result)
        self.metadata_text.append(repr(meta))
        return Run(result, meta, calls)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read the PUBLISHED snapshot, as an analyst would."""
        with duckdb.connect(str(self.wh.published_path), read_only=True) as conn:
            return conn.execute(sql, list(params)).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.query(sql, params)[0][0]


@dataclass
class Run:
    result: dg.ExecuteInProcessResult
    meta: dict[str, dict[str, Any]]
    calls: dict[str, int]

    def total(self, endpoint_prefix: str = "") -> int:
        return sum(v for k, v in self.calls.items() if k.startswith(endpoint_prefix))


def today() -> str:
    return daily_partitions.get_partition_key_for_timestamp(datetime.now(UTC).timestamp())


def metadata_of(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization  # type: ignore[union-attr]
        out[mat.asset_key.to_user_string()] = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    return out


def api(sb: Any) -> Any:
    return brightpearl(sb).get_client()


def all_ids(bp: Any, search: str) -> list[int]:
    return [row[next(iter(row))] for page in bp.search(search) for row in page.rows]


def available(sb: Any, search: str) -> int:
    with api(sb) as bp:
        return next(iter(bp.search(search, page_size=1))).results_available


@pytest.fixture(scope="module")
def env(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sb = module_sandbox(seed=11, orders=300)
    yield Env(sb, WarehouseResource(path=str(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")))


# ---------------------------------------------------------------------------------------------------------- tests
def test_full_sync_fills_every_table_like_the_sandbox(env: Env) -> None:
    run = env.run()
    assert run.result.success
    counts = {t: env.scalar(f"SELECT count(*) FROM brightpearl.{t} WHERE NOT is_deleted") for t in TABLES}
    assert counts["orders"] == available(env.sb, "order-service/order-search") > 200
    assert counts["products"] == available(env.sb, "product-service/product-search")
    assert counts["contacts"] == available(env.sb, "contact-service/contact-search")
    assert counts["goods_out_notes"] == available(env.sb, "warehouse-service/goods-note/goods-out-search")
    assert counts["customer_payments"] == available(env.sb, "accounting-service/customer-payment-search") > 100
    with api(env.sb) as bp:
        order_ids = all_ids(bp, "order-service/order-search")
        orders = [o for batch in bp.get_by_ids("order-service/order", order_ids, batch_size=200) for o in batch]
        note_ids = all_ids(bp, "warehouse-service/goods-note/goods-out-search")
        notes = {
            k: v
            for batch in bp.get_by_ids("warehouse-service/order/*/goods-note/goods-out", note_ids, batch_size=500)
            for k, v in batch.items()
        }
        product_ids = [r[0] for r in env.query("SELECT product_id FROM brightpearl.products")]
        stock = sum(
            len(a["warehouses"])
            for i in range(0, len(product_ids), 100)
            for a in bp.get(
                "warehouse-service/product-availability/" + ",".join(map(str, product_ids[i : i + 100]))
            ).values()
        )
        reference = {
            t: len(bp.get(p))
            for t, p in [
                ("order_statuses", "order-service/order-status"),
                ("warehouses", "warehouse-service/warehouse"),
                ("channels", "product-service/channel"),
                ("shipping_methods", "warehouse-service/shipping-method"),
                ("contact_tags", "contact-service/tag"),
            ]
        }
    assert counts["order_rows"] == sum(len(o["orderRows"]) for o in orders)
    assert counts["goods_out_note_rows"] == len(
        {
            (n, r, line["productId"])
            for n, note in notes.items()
            for r, lines in note["orderRows"].items()
            for line in lines
        }
    )
    assert counts["stock_levels"] == stock
    assert {t: counts[t] for t in reference} == reference
    meta = run.meta
    assert meta["orders"]["rows_inserted"] == counts["orders"]
    assert meta["order_rows"]["rows_inserted"] == counts["order_rows"]
    # one search + ceil(~300/200) order GETs, nothing else on the order endpoints
    assert run.calls["GET order-service/order-search"] == 1 and run.calls["GET order-service/order/{ids}"] == 2
    assert meta["orders"]["watermark"] > 0 and meta["orders"]["lag_seconds"] >= 0
    assert env.scalar("SELECT count(*) FROM _sync.runs") == len(TABLES)


def test_money_is_decimal_times_are_utc_and_no_token_anywhere(env: Env) -> None:
    types = dict(
        env.query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
            "'brightpearl' AND table_name = 'orders'"
        )
    )
    assert types["total_value"] == types["total_net"] == "DECIMAL(18,4)"
    assert types["placed_on"] == types["updated_on"] == "TIMESTAMP WITH TIME ZONE"
    row_types = dict(
        env.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'order_rows'")
    )
    assert row_types["unit_price"] == row_types["row_net"] == "DECIMAL(18,4)"
    floats = env.query(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
        "'brightpearl' AND data_type IN ('DOUBLE', 'FLOAT', 'REAL')"
    )
    assert floats == []
    # Totals add up exactly in DECIMAL, and a stored instant equals the API's offset time converted to UTC.
    order_id, net, tax, total, updated = env.query(
        "SELECT order_id, total_net, total_tax, total_value, updated_on FROM brightpearl.orders ORDER BY 1 LIMIT 1"
    )[0]
    assert isinstance(total, Decimal) and net + tax == total
    with api(env.sb) as bp:
        raw = bp.get(f"order-service/order/{order_id}")[0]
    assert updated == datetime.fromisoformat(raw["updatedOn"]).astimezone(UTC)
    assert updated.utcoffset() is not None and updated.utcoffset().total_seconds() == 0
    assert_no_token(env)


def assert_no_token(env: Env) -> None:
    token = env.sb.brightpearl_account_token
    assert env.metadata_text and not any(token in text for text in env.metadata_text)
    columns = env.query(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE "
        "data_type IN ('VARCHAR', 'JSON') AND table_schema IN ('brightpearl', '_sync')"
    )
    for schema, table, column in columns:
        hits = env.scalar(
            f'SELECT count(*) FROM {schema}.{table} WHERE CAST("{column}" AS VARCHAR) LIKE ?', [f"%{token}%"]
        )
        assert hits == 0, f"token found in {schema}.{table}.{column}"


def test_second_run_changes_nothing_and_costs_only_the_searches(env: Env) -> None:
    before = env.query("SELECT order_id, _synced_at FROM brightpearl.orders ORDER BY 1")
    run = env.run()
    assert set(run.calls) == {f"GET {s}" for s in SEARCHES}, run.calls
    assert run.calls["GET warehouse-service/goods-note/goods-out-search"] == 3  # created ∪ shipped ∪ unshipped
    assert run.total() == 7
    for key, meta in run.meta.items():
        assert (meta["rows_inserted"], meta["rows_updated"], meta["rows_deleted"]) == (0, 0, 0), key
    assert env.query("SELECT order_id, _synced_at FROM brightpearl.orders ORDER BY 1") == before
    assert str(run.meta["orders"]["api_calls"]) == "1"


def test_incremental_run_picks_up_exactly_the_changes(env: Env) -> None:
    env.sb.advance_clock(3600)
    # Everything but deletions and silent edits (those are the reconciliation's job, next test); a deletion
    # could otherwise hit an order created in this very batch.
    payments_before = available(env.sb, "accounting-service/customer-payment-search")
    changes = env.sb.apply_changes(order_deletions=0, contact_deletions=0, silent_edits=0)
    created = changes["orders_created"] + changes["storefront_orders_created"]
    run = env.run()
    meta = run.meta
    # orders paid meanwhile (new web orders, invoiced ones) came with payments: one createdOn window search
    new_payments = available(env.sb, "accounting-service/customer-payment-search") - payments_before
    assert new_payments > 0 and meta["customer_payments"]["rows_inserted"] == new_payments
    assert run.calls["GET accounting-service/customer-payment-search"] == 1
    assert meta["orders"]["rows_inserted"] == len(created)
    assert meta["contacts"]["rows_inserted"] == len(changes["contacts_created"])
    assert meta["goods_out_notes"]["rows_inserted"] == len(changes["goods_out_created"])
    # Calls follow the changes: one search per resource (3 for goods-out), one GET batch each, a few stock calls.
    assert all(run.calls[k] == 1 for k in run.calls if k.endswith("{ids}") and "availability" not in k), run.calls
    assert run.calls.get("GET warehouse-service/product-availability/{ids}", 0) <= 2
    assert run.total() <= 15
    with api(env.sb) as bp:
        status_ids = sorted(set(changes["status_changes"]))
        live = {o["id"]: o for o in bp.get(f"order-service/order/{','.join(map(str, status_ids + created))}")}
        shipped = bp.get(
            "warehouse-service/order/*/goods-note/goods-out/" + ",".join(map(str, changes["goods_out_shipped"]))
        )
        products = {
            p["id"]: p
            for p in bp.get("product-service/product/" + ",".join(map(str, sorted(set(changes["product_edits"])))))
        }
    for order_id, raw in live.items():
        stored = env.query("SELECT order_status_id, updated_on FROM brightpearl.orders WHERE order_id = ?", [order_id])
        assert stored == [
            (raw["orderStatus"]["orderStatusId"], datetime.fromisoformat(raw["updatedOn"]).astimezone(UTC))
        ]
    for note_id in shipped:
        assert env.query(
            "SELECT shipped FROM brightpearl.goods_out_notes WHERE goods_out_note_id = ?", [int(note_id)]
        ) == [(True,)]
    for pid, raw in products.items():
        assert env.scalar(
            "SELECT updated_on FROM brightpearl.products WHERE product_id = ?", [pid]
        ) == datetime.fromisoformat(raw["updatedOn"]).astimezone(UTC)
    # Nothing that did not change was rewritten: every order written by this run changed in Brightpearl.
    rewritten = env.scalar(
        "SELECT count(*) FROM brightpearl.orders WHERE _synced_at = (SELECT max(_synced_at) FROM brightpearl.orders)"
    )
    assert rewritten == meta["orders"]["rows_inserted"] + meta["orders"]["rows_updated"]


def test_reconciliation_marks_deletions_and_catches_silent_edits(env: Env) -> None:
    env.sb.advance_clock(600)
    changes = env.sb.apply_only(order_deletions=1, contact_deletions=1, silent_edits=3)
    # An incremental run sees neither deletions nor silent edits (updatedOn did not move).
    [deleted_order], [deleted_contact] = changes["order_deletions"], changes["contact_deletions"]
    blind = env.run()
    assert set(blind.calls) == {f"GET {s}" for s in SEARCHES}, blind.calls
    assert env.scalar("SELECT is_deleted FROM brightpearl.orders WHERE order_id = ?", [deleted_order]) is False
    silent = sorted(set(changes["silent_edits"]))
    before = dict(
        env.query(
            "SELECT order_id, customer_ref FROM brightpearl.orders WHERE order_id IN (SELECT unnest(?::BIGINT[]))",
            [silent],
        )
    )
    run = env.run("reconciliation")
    assert env.query(
        "SELECT is_deleted, deleted_seen_at IS NOT NULL FROM brightpearl.orders WHERE order_id = ?", [deleted_order]
    ) == [(True, True)]
    assert env.scalar("SELECT bool_and(is_deleted) FROM brightpearl.order_rows WHERE order_id = ?", [deleted_order])
    assert env.scalar("SELECT is_deleted FROM brightpearl.contacts WHERE contact_id = ?", [deleted_contact])
    assert run.meta["orders"]["rows_deleted"] == 1 and run.meta["contacts"]["rows_deleted"] == 1
    with api(env.sb) as bp:
        live = {o["id"]: o["reference"] for o in bp.get(f"order-service/order/{','.join(map(str, silent))}")}
    after = dict(
        env.query(
            "SELECT order_id, customer_ref FROM brightpearl.orders WHERE order_id IN (SELECT unnest(?::BIGINT[]))",
            [silent],
        )
    )
    assert after == live and after != before  # the silent edits (no updatedOn bump) are in
    assert run.meta["orders"]["rows_updated"] >= len(silent)
    assert run.meta["stock_levels"]["refresh"] == "all products"
    # Still nothing to do afterwards: the quiet incremental run is back to searches only.
    quiet = env.run()
    assert set(quiet.calls) == {f"GET {s}" for s in SEARCHES}, quiet.calls


def test_open_notes_are_re_searched_for_open_notes_days_and_older_ones_by_the_sweep(env: Env) -> None:
    """The unshipped-notes search reaches back `open_notes_days` only, so its cost follows recent activity: a
    print/pick/pack event on an older open note waits for the sweep; its shipment never waits."""
    clock = datetime.fromtimestamp(env.sb.clock_ms() / 1000, UTC)
    open_notes = env.query(
        "SELECT goods_out_note_id, created_on FROM brightpearl.goods_out_notes "
        "WHERE NOT shipped AND NOT printed AND NOT is_deleted ORDER BY created_on"
    )
    old = [n for n, created in open_notes if created < clock - timedelta(days=40)]
    recent = [n for n, created in open_notes if created > clock - timedelta(days=20)]
    assert len(old) >= 2 and recent, open_notes  # the sandbox keeps long-open notes, as real accounts do
    (old_printed, old_shipped), recent_printed = old[:2], recent[-1]
    env.sb.advance_clock(600)
    with api(env.sb) as bp:
        for note_id, code in ((old_printed, "PRI"), (recent_printed, "PRI"), (old_shipped, "SHW")):
            bp.post(f"warehouse-service/goods-note/goods-out/{note_id}/event", {"events": [{"eventCode": code}]})

    def state(note_id: int) -> tuple[bool, bool]:
        return env.query(
            "SELECT printed, shipped FROM brightpearl.goods_out_notes WHERE goods_out_note_id = ?", [note_id]
        )[0]

    goods_out = [a for a in brightpearl_assets if a.node_def.name == "goods_out_notes_and_rows"]
    run = env.run(assets=goods_out, open_notes_days=30)
    assert run.calls["GET warehouse-service/goods-note/goods-out-search"] == 3
    assert run.meta["goods_out_notes"]["rows_updated"] == 2
    assert state(recent_printed) == (True, False)
    assert state(old_shipped) == (True, True)  # shipped: the shippedOn search sees notes of any age
    assert state(old_printed) == (False, False)  # older than 30 days: not searched on every run...
    sweep = env.run("reconciliation", assets=goods_out)
    assert sweep.meta["goods_out_notes"]["rows_updated"] >= 1
    assert state(old_printed) == (True, False)  # ...but the sweep compares every note's flags


def test_a_small_account_is_swept_on_every_run_so_deletions_need_no_nightly_run(env: Env) -> None:
    env.sb.advance_clock(600)
    changes = env.sb.apply_only(order_deletions=1, silent_edits=2)
    [deleted_order] = changes["order_deletions"]
    with api(env.sb) as bp:  # a payment deleted in Brightpearl (the recorded DELETE)
        payment_id = all_ids(bp, "accounting-service/customer-payment-search")[0]
        bp.delete(f"accounting-service/customer-payment/{payment_id}")
    run = env.run(reconcile_max_pages=10)  # the default: 300 orders need one search page
    assert env.scalar("SELECT is_deleted FROM brightpearl.orders WHERE order_id = ?", [deleted_order]) is True
    assert run.meta["orders"]["rows_deleted"] == 1
    assert run.meta["orders"]["sweep"].startswith("cheap")
    assert run.meta["orders"]["rows_updated"] >= len(set(changes["silent_edits"]))
    assert run.meta["customer_payments"]["rows_deleted"] == 1 and run.meta["customer_payments"]["sweep"]
    assert env.scalar("SELECT is_deleted FROM brightpearl.customer_payments WHERE payment_id = ?", [payment_id])
    # the confirming search asked for the vanished id only
    assert run.calls["GET accounting-service/customer-payment-search"] == 2
    # One search per stream (the sweep replaces the window searches), the confirming GET, the changed records.
    assert run.calls["GET warehouse-service/goods-note/goods-out-search"] == 1
    quiet = env.run(reconcile_max_pages=10)
    assert set(quiet.calls) == {f"GET {s}" for s in SEARCHES}, quiet.calls
    assert quiet.total() == len(SEARCHES)


def test_a_deleted_record_that_reappears_is_undeleted(env: Env) -> None:
    with env.wh.connect() as conn:  # a false deletion (e.g. from an earlier sweep): the next sweep repairs it
        conn.execute(
            "UPDATE brightpearl.products SET is_deleted = true, deleted_seen_at = now() "
            "WHERE product_id = (SELECT min(product_id) FROM brightpearl.products)"
        )
    run = env.run("reconciliation", assets=[a for a in brightpearl_assets if a.node_def.name == "products"])
    assert run.meta["products"]["rows_undeleted"] == 1
    assert env.scalar("SELECT count(*) FROM brightpearl.products WHERE is_deleted") == 0


def test_malformed_batch_and_unknown_reference_are_quarantined_then_retried(env: Env) -> None:
    env.sb.advance_clock(600)
    changes = env.sb.apply_only(orders_created=2, contacts_created=2)
    # A contact GET batch that stays malformed, and reference data gone stale (statuses unknown to the warehouse).
    env.sb.add_fault(api="brightpearl", kind="malformed", path="^contact-service/contact/", count=-1)
    with env.wh.connect() as conn:
        conn.execute(
            "DELETE FROM brightpearl.order_statuses WHERE order_status_id <> "
            "(SELECT min(order_status_id) FROM brightpearl.order_statuses)"
        )
    try:
        run = env.run()
    finally:
        env.sb.clear_faults()
    assert run.result.success  # bad input never fails the run
    open_entries = env.query(
        "SELECT resource, record_id, reason, attempts FROM _sync.quarantine WHERE resolved_at IS NULL ORDER BY 1, 2"
    )
    assert [(r[0], r[1].startswith("ids:")) for r in open_entries] == [
        ("contacts", True),
        ("orders", False),
        ("orders", False),
    ]
    # Counted in records, not entries: the refused GET batch holds both new contacts.
    assert open_entries[0][1] == "ids:" + to_id_set(sorted(set(changes["contacts_created"])))
    assert run.meta["contacts"]["rows_quarantined"] == 2 and run.meta["orders"]["rows_quarantined"] == 2
    assert all("unknown order_status_id" in r[2] for r in open_entries if r[0] == "orders")
    assert {int(r[1]) for r in open_entries if r[0] == "orders"} == set(changes["orders_created"])
    payload = env.scalar("SELECT payload->>'id' FROM _sync.quarantine WHERE resource = 'orders' LIMIT 1")
    assert int(payload) in changes["orders_created"]  # the raw record is kept for diagnosis
    assert (
        env.scalar(
            "SELECT count(*) FROM brightpearl.orders WHERE order_id IN (SELECT unnest(?::BIGINT[]))",
            [changes["orders_created"]],
        )
        == 0
    )
    # Next run: reference refresh is forced by the waiting entries, dead letters are retried first and resolve.
    retry = env.run()
    assert retry.meta["order_statuses"]["outcome"].startswith("full refresh")
    assert env.scalar("SELECT count(*) FROM _sync.quarantine WHERE resolved_at IS NULL") == 0
    assert retry.meta["orders"]["quarantine_resolved"] == 2 and retry.meta["contacts"]["quarantine_resolved"] == 2
    assert (
        env.scalar(
            "SELECT count(*) FROM brightpearl.orders WHERE order_id IN (SELECT unnest(?::BIGINT[]))",
            [changes["orders_created"]],
        )
        == 2
    )
    assert (
        env.scalar(
            "SELECT count(*) FROM brightpearl.contacts WHERE contact_id IN (SELECT unnest(?::BIGINT[]))",
            [changes["contacts_created"]],
        )
        == 2
    )


def test_a_get_body_found_malformed_at_write_time_is_fetched_again_and_nothing_is_lost(env: Env) -> None:
    # The bulk of a sync stages GET bodies unread (sqlrows.SqlRows.stage): a truncated body is found when the write
    # batch is read, then its ids are fetched again; a body that stays malformed quarantines its GET batch.
    orders = [a for a in brightpearl_assets if a.node_def.name == "orders_and_rows"]
    env.run(assets=orders)
    env.sb.advance_clock(600)
    changes = env.sb.apply_only(orders_created=3)
    env.sb.add_fault(api="brightpearl", kind="malformed", path=r"^order-service/order/\d", count=1)
    try:
        run = env.run(assets=orders)
    finally:
        env.sb.clear_faults()
    assert run.result.success and run.calls["GET order-service/order/{ids}"] == 2  # the first answer, then again
    assert env.scalar("SELECT count(*) FROM _sync.quarantine WHERE resolved_at IS NULL") == 0
    stored = env.query(
        "SELECT order_id FROM brightpearl.orders WHERE order_id IN (SELECT unnest(?::BIGINT[])) ORDER BY 1",
        [changes["orders_created"]],
    )
    assert [r[0] for r in stored] == sorted(set(changes["orders_created"]))
    assert run.meta["orders"]["rows_inserted"] == len(set(changes["orders_created"]))

    env.sb.advance_clock(600)
    again = env.sb.apply_only(orders_created=2)
    env.sb.add_fault(api="brightpearl", kind="malformed", path=r"^order-service/order/\d", count=-1)
    try:
        run = env.run(assets=orders)
    finally:
        env.sb.clear_faults()
    assert run.result.success and run.meta["orders"]["rows_quarantined"] == 2
    [(record_id, reason)] = env.query("SELECT record_id, reason FROM _sync.quarantine WHERE resolved_at IS NULL")
    assert record_id == "ids:" + to_id_set(sorted(set(again["orders_created"]))) and "malformed" in reason
    retry = env.run(assets=orders)
    assert retry.meta["orders"]["quarantine_resolved"] == 2  # counted in records
    assert env.scalar("SELECT count(*) FROM _sync.quarantine WHERE resolved_at IS NULL") == 0


def test_a_search_page_that_stays_malformed_quarantines_its_window(env: Env) -> None:
    env.sb.advance_clock(600)
    changes = env.sb.apply_only(product_edits=3)
    env.sb.add_fault(api="brightpearl", kind="malformed", path="^product-service/product-search", count=-1)
    products = [a for a in brightpearl_assets if a.node_def.name == "products"]
    try:
        run = env.run(assets=products)
    finally:
        env.sb.clear_faults()
    assert run.result.success and run.meta["products"]["search_complete"] is False
    [(record_id, reason)] = env.query("SELECT record_id, reason FROM _sync.quarantine WHERE resolved_at IS NULL")
    assert record_id.startswith("window:updatedOn=") and "malformed" in reason
    retry = env.run(assets=products)
    assert retry.meta["products"]["quarantine_resolved"] == 1
    assert retry.meta["products"]["rows_updated"] == len(set(changes["product_edits"]))
    assert env.scalar("SELECT count(*) FROM _sync.quarantine WHERE resolved_at IS NULL") == 0


def test_a_payment_search_page_that_stays_malformed_is_quarantined_then_retried(env: Env) -> None:
    env.sb.advance_clock(600)
    env.sb.apply_only(status_changes=8)  # invoiced orders get paid: new payments
    payments = [a for a in brightpearl_assets if a.node_def.name == "customer_payments"]
    env.sb.add_fault(api="brightpearl", kind="malformed", path="^accounting-service/customer-payment-search", count=-1)
    try:
        run = env.run(assets=payments)
    finally:
        env.sb.clear_faults()
    assert run.result.success and run.meta["customer_payments"]["search_complete"] is False
    [(record_id, reason)] = env.query("SELECT record_id, reason FROM _sync.quarantine WHERE resolved_at IS NULL")
    assert record_id.startswith("window:createdOn=") and "malformed" in reason
    retry = env.run(assets=payments)
    assert retry.meta["customer_payments"]["quarantine_resolved"] == 1
    stored = env.scalar("SELECT count(*) FROM brightpearl.customer_payments WHERE NOT is_deleted")
    assert stored == available(env.sb, "accounting-service/customer-payment-search")
    assert env.scalar("SELECT count(*) FROM _sync.quarantine WHERE resolved_at IS NULL") == 0


def test_a_dead_api_fails_the_run_with_a_clear_error(env: Env) -> None:
    wrong = "not-the-token-" + "x" * 8
    run = env.run(assets=[orders_and_rows], raise_on_error=False, token=wrong)
    assert not run.result.success
    [failure] = [e for e in run.result.all_events if e.is_step_failure]
    message = failure.event_specific_data.error.to_string()  # type: ignore[union-attr]
    assert "BRIGHTPEARL_" in message and "401" in message
    assert wrong not in message and env.sb.brightpearl_account_token not in message
    env.sb.add_fault(api="brightpearl", kind="status", status=500, path="^order-service/order-search", count=-1)
    try:
        down = env.run(assets=[orders_and_rows], raise_on_error=False)
    finally:
        env.sb.clear_faults()
    assert not down.result.success
    [failure] = [e for e in down.result.all_events if e.is_step_failure]
    assert "5xx" in failure.event_specific_data.error.to_string()  # type: ignore[union-attr]


ANALYST = textwrap.dedent("""
    import sys, duckdb
    conn = duckdb.connect(sys.argv[1])
    for line in sys.stdin:
        print(conn.execute("SELECT count(*) FROM brightpearl.orders").fetchone()[0], flush=True)
""")


def test_an_open_analyst_session_never_blocks_the_sync_and_sees_a_consistent_snapshot(env: Env) -> None:
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(env.wh.published_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert analyst.stdin and analyst.stdout

    def analyst_count() -> int:
        analyst.stdin.write("count\n")  # type: ignore[union-attr]
        analyst.stdin.flush()  # type: ignore[union-attr]
        return int(analyst.stdout.readline())  # type: ignore[union-attr]

    try:
        old = analyst_count()
        env.sb.advance_clock(600)
        env.sb.apply_only(orders_created=3)
        run = env.run(assets=[orders_and_rows])  # writes and publishes while the session is open
        assert run.meta["orders"]["rows_inserted"] == 3
        assert analyst_count() == old  # the snapshot it opened, whole
        assert env.scalar("SELECT count(*) FROM brightpearl.orders") == old + 3  # a new session sees the new one
    finally:
        analyst.stdin.close()
        analyst.wait(timeout=30)
    assert_no_token(env)


def test_run_log_and_watermarks(env: Env) -> None:
    rows = env.query("SELECT resource, watermark, last_mode FROM _sync.watermarks ORDER BY 1")
    marks = {r[0]: r for r in rows}
    assert {"orders", "products", "contacts", "goods_out_notes", "stock_levels"} <= set(marks)
    assert marks["orders"][1] is not None
    assert env.scalar("SELECT count(DISTINCT run_id) FROM _sync.runs") >= 8
    assert Path(env.wh.working_path).exists() and Path(env.wh.published_path).exists()
