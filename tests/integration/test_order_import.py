"""Storefront orders into Brightpearl on one private sandbox (real HTTP both sides, real DuckDB file): the storefront
orders are extracted into the warehouse first and the import plans from there (no storefront call); importable
orders are created once with their customer, orders Brightpearl already has are recognised by `externalRef`, an
unmatched SKU follows the policy, and a process killed between the create and the ledger update never duplicates."""

from __future__ import annotations

import contextlib
import json
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
from bp_pipelines.lib.bigcommerce.dates import parse_v2_date
from bp_pipelines.lib.brightpearl import BrightpearlClient
from bp_pipelines.lib.push import customers
from bp_pipelines.lib.push.imports import ImportReport, ImportSettings, match_key, plan_imports, run_import
from bp_pipelines.lib.push.ledger import Ledger
from bp_pipelines.lib.storefront import StreamSync
from bp_pipelines.resources.warehouse import WarehouseResource

from .test_brightpearl_sync import bigcommerce, brightpearl, metadata_of, today

STOREFRONT_CHANNEL, WAREHOUSE = 2, 1


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

    def settings(self, **overrides: Any) -> ImportSettings:
        base: dict[str, Any] = {"enabled": True, "channel_id": STOREFRONT_CHANNEL, "warehouse_id": WAREHOUSE}
        return ImportSettings(**{**base, **overrides})

    def bc(self) -> BigCommerceClient:
        sb = self.sb
        return BigCommerceClient(sb.bigcommerce_base_url, sb.bigcommerce_store_hash, sb.bigcommerce_access_token)

    def bp(self) -> BrightpearlClient:
        return brightpearl(self.sb).get_client()

    def extract_storefront(self) -> None:
        """The storefront orders into schema `storefront`, as `storefront_extract` does before every import."""
        wh = self.wh.get_warehouse()
        with wh.session(), self.bc() as bc:  # a session, as the asset holds one
            StreamSync(wh.connect, "test", Log()).orders(bc, (11,))

    def run(self, **settings: Any) -> ImportReport:
        """Extract, then import (the asset's order: the import depends on the extraction)."""
        self.extract_storefront()
        return self.run_import_only(**settings)

    def run_import_only(self, **settings: Any) -> ImportReport:
        wh = self.wh.get_warehouse()
        with wh.session():  # as `materialize_import` holds one
            return run_import(wh.connect, self.bp, self.settings(**settings), Log())

    def bigcommerce_calls(self) -> int:
        return sum(v for k, v in self.sb.request_counts().items() if k.startswith("bigcommerce "))

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

    def bp_orders_with_external_ref(self, sf_id: int) -> list[int]:
        with self.bp() as bp:
            return [
                int(r["orderId"])
                for page in bp.search("order-service/order-search", {"externalRef": str(sf_id)})
                for r in page.rows
            ]

    def storefront_order(self, order_id: int) -> dict[str, Any]:
        return self.sb.storefront_state(f"orders/{order_id}")

    def new_storefront_only_orders(self, n: int) -> list[int]:
        """n new storefront orders Brightpearl has never seen, in the importable status 11 (the generator also
        makes pending/declined ones, which must be left alone)."""
        found: list[int] = []
        for _ in range(20):
            self.sb.advance_clock(600)
            made = self.sb.apply_only(storefront_only_orders=n)
            found += [i for i in made["storefront_only_orders"] if self.storefront_order(i)["order"]["status_id"] == 11]
            if len(found) >= n:
                return found[:n]
        raise AssertionError("the sandbox generated too few awaiting-fulfilment storefront orders")


@pytest.fixture(scope="module")
def env(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sb = module_sandbox(seed=31, orders=300)
    e = Env(sb, WarehouseResource(path=str(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")))
    sb.advance_clock(3600)
    sb.apply_changes(storefront_orders_created=6, storefront_only_orders=8)
    e.extract()
    yield e


def _awaiting(env: Env) -> list[int]:
    with env.bc() as bc:
        return [int(o["id"]) for o in bc.list_orders(status_id=11)]


def test_importable_orders_are_created_once_with_their_customer(env: Env) -> None:
    awaiting = _awaiting(env)
    assert awaiting
    env.extract_storefront()
    before = env.bigcommerce_calls()
    first = env.run_import_only()
    assert env.bigcommerce_calls() == before  # planned from the warehouse: not one storefront call
    assert first.dead_lettered == 0, env.sql("SELECT reason FROM push.dead_letters")
    assert first.planned == len(awaiting)
    assert first.created >= 1 and first.found >= 1, first  # storefront-only orders created; the rest recognised
    assert first.created + first.found == len(awaiting)
    # Every importable storefront order is now in Brightpearl exactly once, with its storefront id as externalRef.
    for sf_id in awaiting:
        assert len(env.bp_orders_with_external_ref(sf_id)) == 1, sf_id
    rows = env.sql(
        "SELECT storefront_order_id, bp_order_id, target, response FROM push.ledger WHERE kind = 'order_import' "
        "AND note IS DISTINCT FROM 'already in Brightpearl' AND request IS NOT NULL"
    )
    assert len(rows) == first.created and all(r[2] == "brightpearl" and r[1] for r in rows)
    # The created order carries the storefront's lines, prices and tax, channel, warehouse and customer.
    sf_id, bp_order_id = rows[0][0], rows[0][1]
    env.extract()
    sf = env.storefront_order(sf_id)
    order = env.sql(
        "SELECT channel_id, warehouse_id, external_ref, contact_id FROM brightpearl.orders WHERE order_id = ?",
        [bp_order_id],
    )[0]
    assert order[:3] == (STOREFRONT_CHANNEL, WAREHOUSE, str(sf_id))
    email = env.sql("SELECT lower(trim(email)) FROM brightpearl.contacts WHERE contact_id = ?", [order[3]])[0][0]
    assert email == sf["order"]["billing_address"]["email"].strip().lower()
    got = sorted(
        (sku, float(q), float(net), float(tax))
        for sku, q, net, tax in env.sql(
            "SELECT sku, quantity, row_net, row_tax FROM brightpearl.order_rows WHERE order_id = ? AND sku IS NOT NULL "
            "AND sku <> ''",
            [bp_order_id],
        )
    )
    want = sorted(
        (p["sku"], float(p["quantity"]), float(p["total_ex_tax"]), float(p["total_tax"])) for p in sf["products"]
    )
    assert got == want
    # The billing address, delivery address and shipping charge come from the extracted tables as the storefront
    # has them (columns added to the extraction for the import).
    (request,) = env.sql("SELECT request FROM push.ledger WHERE storefront_order_id = ?", [sf_id])[0]
    body, billing, ship_to = json.loads(request), sf["order"]["billing_address"], sf["shipping_addresses"][0]
    assert body["billing"]["address"]["addressLine1"] == billing["street_1"]
    assert body["billing"]["address"]["postalCode"] == billing["zip"]
    assert body["delivery"]["address"]["addressLine1"] == ship_to["street_1"]
    # The country goes as the 3-character ISO code Brightpearl documents for countryIsoCode (the sandbox refuses two
    # letters); Brightpearl's order answers it in both forms, the storefront's two letters among them.
    with env.bp() as bp:
        parties = bp.get(f"order-service/order/{bp_order_id}")[0]["parties"]
    for party, address, sent in (
        ("billing", billing, body["billing"]["address"]),
        ("delivery", ship_to, body["delivery"]["address"]),
    ):
        assert len(sent["countryIsoCode"]) == 3, sent
        answered = (parties[party]["countryIsoCode"], parties[party]["countryIsoCode3"])
        assert answered == (address["country_iso2"], sent["countryIsoCode"]), party
    shipping = [r for r in body["rows"] if r.get("name", "").startswith("Shipping: ")]
    charged = (float(sf["order"]["shipping_cost_ex_tax"]), float(sf["order"]["shipping_cost_tax"]))
    assert [(float(r["net"]), float(r["tax"])) for r in shipping] == ([charged] if any(charged) else [])
    # Over every created order, the shipping charges sent add up to the storefront's.
    sent = [
        float(r["net"])
        for (req,) in env.sql("SELECT request FROM push.ledger WHERE request IS NOT NULL AND kind = 'order_import'")
        for r in json.loads(req)["rows"]
        if r.get("name", "").startswith("Shipping: ")
    ]
    charged_all = [
        float(env.storefront_order(i)["order"]["shipping_cost_ex_tax"])
        for (i,) in env.sql(
            "SELECT storefront_order_id FROM push.ledger WHERE request IS NOT NULL AND kind = 'order_import'"
        )
    ]
    assert sum(sent) == pytest.approx(sum(charged_all)) and sum(sent) > 0
    # A second run plans nothing and makes no Brightpearl write.
    second = env.run()
    assert (second.planned, second.created, second.found) == (0, 0, 0)


def test_the_first_extraction_keeps_every_importable_order_however_old(env: Env, tmp_path: Path) -> None:
    """First run of the orders stream: orders modified in the initial window, plus every order in an importable
    status modified before it, so the import (which reads only the warehouse) misses none."""
    wh = WarehouseResource(path=str(tmp_path / "fresh.duckdb")).get_warehouse()
    since = datetime.fromtimestamp(env.sb.clock_ms() / 1000, UTC) - timedelta(days=2)  # the sandbox's clock
    with env.bc() as bc:
        report = StreamSync(wh.connect, "test", Log(), initial_orders_since=since).orders(bc, (11,))
        every = list(bc.list_orders())
    with wh.connect() as conn:
        stored = {int(i) for (i,) in conn.execute("SELECT order_id FROM storefront.orders").fetchall()}
        (watermark,) = conn.execute(
            "SELECT watermark FROM _sync.watermarks WHERE resource = 'storefront.orders'"
        ).fetchone()
    modified = {int(o["id"]): parse_v2_date(o["date_modified"]) for o in every}
    awaiting_old = {i for i, o in ((int(o["id"]), o) for o in every) if o["status_id"] == 11 and modified[i] < since}
    recent = {i for i, m in modified.items() if m >= since}
    assert awaiting_old and recent, "the sandbox should have both"
    assert stored == awaiting_old | recent and report.records == len(stored)
    assert watermark == max(modified[i] for i in recent)  # the old importable orders do not move it


def test_a_gift_certificate_line_is_a_named_row_whatever_the_policy(env: Env) -> None:
    env.run(unmatched_sku="free_text_row")
    (sf_id,) = env.new_storefront_only_orders(1)
    wh = env.wh.get_warehouse()
    env.extract_storefront()
    Ledger(wh.connect).record_plan(plan_imports(wh.connect, env.settings()))
    # A gift certificate bought with the order: BigCommerce sells it outside the catalog (order product type
    # giftcertificate, no SKU), so no Brightpearl product can match it.
    (desired,) = env.sql("SELECT desired FROM push.ledger WHERE push_id = ?", [f"import:order:{sf_id}"])[0]
    desired = json.loads(desired)
    desired["products"].append(
        {"id": 999001, "name": "$25 Gift Certificate", "sku": "", "type": "giftcertificate", "quantity": 1,
         "total_ex_tax": "25.0000", "total_tax": "0.0000"}
    )  # fmt: skip
    env.sql("UPDATE push.ledger SET desired = ? WHERE push_id = ?", [json.dumps(desired), f"import:order:{sf_id}"])
    report = env.run()  # unmatched_sku: dead_letter, the default
    assert report.dead_lettered == 0, env.sql("SELECT reason FROM push.dead_letters WHERE resolved_at IS NULL")
    state, request, note = env.sql(
        "SELECT state, request, note FROM push.ledger WHERE push_id = ?", [f"import:order:{sf_id}"]
    )[0]
    gift = [r for r in json.loads(request)["rows"] if r.get("externalRef") == "999001"]
    assert state == "confirmed" and "gift certificate line 999001" in note
    assert gift == [
        {"name": "Gift certificate: $25 Gift Certificate", "quantity": 1, "net": "25.00", "tax": "0.00",
         "externalRef": "999001"}
    ]  # fmt: skip


def test_unmatched_sku_is_dead_lettered_or_added_as_free_text(env: Env) -> None:
    (a,) = env.new_storefront_only_orders(1)
    sku = env.storefront_order(a)["products"][0]["sku"]
    env.sql("UPDATE brightpearl.products SET sku = 'RENAMED-' || sku WHERE lower(trim(sku)) = lower(trim(?))", [sku])
    report = env.run()
    reasons = [r for (r,) in env.sql("SELECT reason FROM push.dead_letters WHERE storefront_order_id = ?", [a])]
    assert report.dead_lettered >= 1 and reasons and sku in reasons[0] and "re-drive" in reasons[0]
    assert env.bp_orders_with_external_ref(a) == []
    # Re-driven (as the storefront_redrive job does) under the free-text policy: created, the line as a named
    # row, the SKU reported, the dead letter resolved.
    assert Ledger(env.wh.get_warehouse().connect).reopen_dead_letters("order_import") == [f"import:order:{a}"]
    report = env.run(unmatched_sku="free_text_row")
    assert env.sql("SELECT resolved_at IS NOT NULL FROM push.dead_letters WHERE storefront_order_id = ?", [a]) == [
        (True,)
    ]
    assert len(env.bp_orders_with_external_ref(a)) == 1
    note = env.sql("SELECT note FROM push.ledger WHERE storefront_order_id = ?", [a])[0][0]
    assert "free-text" in note and sku in note and report.unmatched_rows >= 1
    env.sql("UPDATE brightpearl.products SET sku = replace(sku, 'RENAMED-', '') WHERE sku LIKE 'RENAMED-%'")


def test_a_process_killed_between_create_and_ledger_update_never_duplicates(env: Env, tmp_path: Path) -> None:
    env.run(unmatched_sku="free_text_row")  # nothing else open: the killed run works on this one order only
    (sf_id,) = env.new_storefront_only_orders(1)
    env.extract_storefront()  # the killed process plans it from the warehouse
    # Brightpearl stalls 2 s on the create, then applies it: the process is killed while it waits.
    env.sb.add_fault(api="brightpearl", kind="timeout", path=r"sales-order$", method="POST", delay_s=2, count=1)
    sb = env.sb
    script = tmp_path / "import.py"
    script.write_text(
        textwrap.dedent(f"""
        from pathlib import Path
        from bp_pipelines.lib.brightpearl import BrightpearlClient
        from bp_pipelines.lib.push.imports import ImportSettings, run_import
        from bp_pipelines.lib.warehouse import DuckDBWarehouse
        class Log:
            def info(self, m): print(m, flush=True)
            def warning(self, m): print(m, flush=True)
        wh = DuckDBWarehouse(Path({str(env.wh.get_warehouse().path)!r}))
        bp = lambda: BrightpearlClient({sb.brightpearl_base_url!r}, {sb.brightpearl_account!r},
                                       {sb.brightpearl_app_ref!r}, {sb.brightpearl_account_token!r})
        settings = ImportSettings(enabled=True, channel_id={STOREFRONT_CHANNEL}, warehouse_id={WAREHOUSE},
                                  unmatched_sku="free_text_row")
        run_import(wh.connect, bp, settings, Log())
    """)
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # wait until the row is committed as 'sending', then kill -9
        with contextlib.suppress(duckdb.IOException, RuntimeError):
            if env.sql("SELECT count(*) FROM push.ledger WHERE kind = 'order_import' AND state = 'sending'")[0][0]:
                break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert env.sql("SELECT count(*) FROM push.ledger WHERE kind = 'order_import' AND state = 'sending'")[0][0] == 1
    time.sleep(2.5)  # Brightpearl applies the create the killed process sent
    report = env.run(unmatched_sku="free_text_row")
    assert report.found >= 1 and report.created == 0, report
    assert len(env.bp_orders_with_external_ref(sf_id)) == 1
    state, note = env.sql("SELECT state, note FROM push.ledger WHERE storefront_order_id = ?", [sf_id])[0]
    assert state == "confirmed" and "interrupted" in note


def test_guest_orders_off_are_skipped_with_the_reason(env: Env) -> None:
    env.run(unmatched_sku="free_text_row")  # settle everything else first
    ids = env.new_storefront_only_orders(6)
    guest = [i for i in ids if not env.storefront_order(i)["order"]["customer_id"]]
    (before,) = env.sql("SELECT now()")[0]
    report = env.run(guest_orders=False, unmatched_sku="free_text_row")
    for sf_id in guest:
        state, note = env.sql("SELECT state, note FROM push.ledger WHERE storefront_order_id = ?", [sf_id])[0]
        assert state == "skipped" and "guest" in note
        assert env.bp_orders_with_external_ref(sf_id) == []
    # Every order of this run is either a guest's (skipped) or a customer's (created): nothing else.
    this_run = env.sql(
        "SELECT storefront_order_id, state FROM push.ledger WHERE kind = 'order_import' AND finished_at >= ?", [before]
    )
    assert len(this_run) == report.planned == report.skipped + report.created
    for sf_id, state in this_run:
        is_guest = not env.storefront_order(sf_id)["order"]["customer_id"]
        assert state == ("skipped" if is_guest else "confirmed"), sf_id


def test_a_new_shopper_gets_one_contact_matched_by_trimmed_case_insensitive_email(env: Env) -> None:
    env.run(unmatched_sku="free_text_row")
    a, b = env.new_storefront_only_orders(2)
    wh = env.wh.get_warehouse()
    env.extract_storefront()
    Ledger(wh.connect).record_plan(plan_imports(wh.connect, env.settings()))
    # Two orders of a shopper Brightpearl has never seen, the e-mail typed differently each time.
    for sf_id, email in ((a, "  New.Shopper@Example.COM "), (b, "new.shopper@example.com")):
        env.sql(
            "UPDATE push.ledger SET desired = json_merge_patch(desired, ?) WHERE push_id = ?",
            [json.dumps({"order": {"billing_address": {"email": email}}}), f"import:order:{sf_id}"],
        )
    report = env.run(unmatched_sku="free_text_row", update_customers="never")
    assert report.created >= 2 and report.contacts_created == 1, report
    contact_ids = {
        json.loads(r)["contact_id"]
        for (r,) in env.sql(
            "SELECT response FROM push.ledger WHERE push_id IN (?, ?)", [f"import:order:{a}", f"import:order:{b}"]
        )
    }
    assert len(contact_ids) == 1
    with env.bp() as bp:
        found = [
            r
            for p in bp.search("contact-service/contact-search", {"primaryEmail": "new.shopper@example.com"})
            for r in p.rows
        ]
    assert [int(r["contactId"]) for r in found] == list(contact_ids)
    (creator,) = env.sql(
        "SELECT storefront_order_id FROM push.ledger WHERE push_id IN (?, ?) AND note LIKE '%created Brightpearl contact%'",
        [f"import:order:{a}", f"import:order:{b}"],
    )[0]
    sf = env.storefront_order(creator)["order"]["billing_address"]
    assert (found[0]["firstName"], found[0]["lastName"]) == (sf["first_name"][:32], sf["last_name"][:32])
    # The new contact's address, as Brightpearl answers it: the storefront's country, sent as three letters.
    with env.bp() as bp:
        ids = bp.get(f"contact-service/contact/{found[0]['contactId']}")[0]["postAddressIds"]
        (address,) = bp.get(f"contact-service/postal-address/{ids['BIL']}")
    assert address["addressLine1"] == sf["street_1"] and address["countryIsoCode2"] == sf["country_iso2"]
    (request,) = env.sql("SELECT request FROM push.ledger WHERE push_id = ?", [f"import:order:{creator}"])[0]
    assert address["countryIsoCode"] == json.loads(request)["billing"]["address"]["countryIsoCode"]
    assert len(address["countryIsoCode"]) == 3


def _brightpearl_writes(env: Env) -> dict[str, int]:
    return {
        k: v
        for k, v in env.sb.request_counts().items()
        if k.startswith("brightpearl ") and not k.startswith("brightpearl GET")
    }


def test_an_address_without_an_iso_country_is_dead_lettered_before_any_brightpearl_write(env: Env) -> None:
    """A storefront address whose country is no ISO 3166-1 code ("XX"), or that has none, is not sent as junk: the
    order is dead-lettered with the order, the address, the value and the fix, and Brightpearl gets no write. Once
    the country is corrected on the storefront, the re-driven order is created with it."""
    env.run(unmatched_sku="free_text_row")  # nothing else open
    (bad,), (empty,) = env.new_storefront_only_orders(1), env.new_storefront_only_orders(1)  # exactly two new
    with env.bc() as bc:
        bc.put(f"v2/orders/{bad}", {"billing_address": {"country_iso2": "XX", "country": "Narnia"}})
        bc.put(f"v2/orders/{empty}", {"billing_address": {"country_iso2": "", "country": ""}})
    env.sb.reset_request_counts()
    report = env.run(unmatched_sku="free_text_row")
    assert (report.planned, report.created, report.dead_lettered) == (2, 0, 2), report
    assert _brightpearl_writes(env) == {}
    fix = "correct the address's country on the storefront order, then run storefront_redrive"
    reasons = dict(env.sql("SELECT storefront_order_id, reason FROM push.dead_letters WHERE resolved_at IS NULL"))
    assert reasons == {
        bad: f"storefront order {bad}: the billing address's country code 'XX' (country 'Narnia') is not an ISO "
        f"3166-1 code; {fix}",
        empty: f"storefront order {empty}: the billing address has no country code; {fix}",
    }
    assert env.bp_orders_with_external_ref(bad) == [] and env.bp_orders_with_external_ref(empty) == []
    # Corrected on the storefront, then re-driven (as the storefront_redrive job does): the next import sends the
    # order as the storefront has it now.
    env.sb.advance_clock(60)
    with env.bc() as bc:
        bc.put(f"v2/orders/{bad}", {"billing_address": {"country_iso2": "GB", "country": "United Kingdom"}})
    assert set(Ledger(env.wh.get_warehouse().connect).reopen_dead_letters("order_import")) == {
        f"import:order:{bad}",
        f"import:order:{empty}",
    }
    again = env.run(unmatched_sku="free_text_row")
    assert (again.created, again.dead_lettered) == (1, 1), again
    (order_id,) = env.bp_orders_with_external_ref(bad)
    with env.bp() as bp:
        billing = bp.get(f"order-service/order/{order_id}")[0]["parties"]["billing"]
    assert (billing["countryIsoCode"], billing["countryIsoCode3"]) == ("GB", "GBR")
    assert env.sql("SELECT resolved_at IS NOT NULL FROM push.dead_letters WHERE storefront_order_id = ?", [bad]) == [
        (True,)
    ]
    # The other, still without a country, is dead-lettered again with the same reason (and no Brightpearl write).
    assert env.sql("SELECT reason, attempts FROM push.dead_letters WHERE storefront_order_id = ?", [empty]) == [
        (reasons[empty], 2)
    ]
    assert env.bp_orders_with_external_ref(empty) == []
    env.sb.advance_clock(60)
    with env.bc() as bc:
        bc.put(f"v2/orders/{empty}", {"billing_address": {"country_iso2": "us", "country": "United States"}})
    Ledger(env.wh.get_warehouse().connect).reopen_dead_letters("order_import")
    assert env.run(unmatched_sku="free_text_row").created == 1
    assert len(env.bp_orders_with_external_ref(empty)) == 1 and env.sql(
        "SELECT count(*) FROM push.dead_letters WHERE resolved_at IS NULL"
    ) == [(0,)]


def _materialize_import(env: Env, sync_file: Path) -> dg.ExecuteInProcessResult:
    """The storefront extraction and the import, in the order their dependency gives."""
    from bp_pipelines.assets.storefront import storefront_extract, storefront_order_import

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BP_SYNC_CONFIG", str(sync_file))
        return dg.materialize(
            [storefront_extract, storefront_order_import],
            selection=["storefront_orders", "storefront_order_import"],
            resources={
                "brightpearl": brightpearl(env.sb),
                "bigcommerce": bigcommerce(env.sb),
                "warehouse": env.wh,
            },
            partition_key=today(),
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )


def test_the_asset_imports_per_the_sync_file_and_refuses_a_missing_channel(env: Env, tmp_path: Path) -> None:
    env.run(unmatched_sku="free_text_row")
    env.new_storefront_only_orders(2)
    sync_file = tmp_path / "sync.yaml"
    sync_file.write_text(
        f"import: {{statuses: [11], channel_id: {STOREFRONT_CHANNEL}, warehouse_id: {WAREHOUSE}, "
        "unmatched_sku: free_text_row}\n"
    )
    result = _materialize_import(env, sync_file)
    assert result.success
    meta = metadata_of(result)["storefront_order_import"]
    assert meta["created"] >= 2 and meta["open_dead_letters"] == 0 and meta["import_enabled"] is True
    # No channel: the step fails naming the key, nothing is sent.
    sync_file.write_text("import: {statuses: [11], warehouse_id: 1}\n")
    env.new_storefront_only_orders(1)
    result = _materialize_import(env, sync_file)
    assert not result.success
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]  # type: ignore[union-attr]
    assert failures and "import.channel_id must be set" in failures[0]
    # No import section: the asset materializes and imports nothing.
    sync_file.write_text("storefront: {enabled: false}\n")
    result = _materialize_import(env, sync_file)
    assert result.success and metadata_of(result)["storefront_order_import"]["import_enabled"] is False


def test_reconciliation_names_orders_not_in_brightpearl_after_the_delay(env: Env) -> None:
    from bp_pipelines.lib.marts import MARTS_BY_NAME, rebuild_marts

    def not_imported() -> dict[int, str]:
        with env.wh.get_warehouse().connect() as conn:
            rebuild_marts(conn, [MARTS_BY_NAME["storefront_orders_not_imported"]])
            return dict(
                conn.execute("SELECT storefront_order_id, why FROM analytics.storefront_orders_not_imported").fetchall()
            )

    env.run(unmatched_sku="free_text_row")
    (sf_id,) = env.new_storefront_only_orders(1)
    sku = env.storefront_order(sf_id)["products"][0]["sku"]
    env.sql("UPDATE brightpearl.products SET sku = 'GONE-' || sku WHERE lower(trim(sku)) = lower(trim(?))", [sku])
    try:
        env.run(delay_minutes=100_000)  # dead-lettered, but not yet overdue
        assert sf_id not in not_imported()
        env.run(delay_minutes=0)
        why = not_imported()[sf_id]
        assert why.startswith("dead-lettered") and sku in why
    finally:
        env.sql("UPDATE brightpearl.products SET sku = replace(sku, 'GONE-', '') WHERE sku LIKE 'GONE-%'")


def test_an_existing_customer_is_updated_per_policy(env: Env) -> None:
    env.run(unmatched_sku="free_text_row")
    a, b = env.new_storefront_only_orders(2)
    wh = env.wh.get_warehouse()
    env.extract_storefront()
    Ledger(wh.connect).record_plan(plan_imports(wh.connect, env.settings()))
    # The shopper of order a typed a new phone number; order b's shopper too, but the policy is `never` for b.
    for sf_id, phone in ((a, "+1 555 0199"), (b, "+1 555 0188")):
        env.sql(
            "UPDATE push.ledger SET desired = json_merge_patch(desired, ?) WHERE push_id = ?",
            [json.dumps({"order": {"billing_address": {"phone": phone}}}), f"import:order:{sf_id}"],
        )

    def contact_of(sf_id: int) -> dict[str, Any]:
        (response,) = env.sql("SELECT response FROM push.ledger WHERE push_id = ?", [f"import:order:{sf_id}"])[0]
        with env.bp() as bp:
            (row,) = [
                r
                for p in bp.search(
                    "contact-service/contact-search", {"contactId": str(json.loads(response)["contact_id"])}
                )
                for r in p.rows
            ]
        return row

    wh_phone = {
        sf_id: env.sql(
            "SELECT telephone FROM brightpearl.contacts WHERE lower(trim(email)) = ?",
            [env.storefront_order(sf_id)["order"]["billing_address"]["email"].strip().lower()],
        )[0][0]
        for sf_id in (a, b)
    }
    env.sql("UPDATE push.ledger SET state = 'dead' WHERE push_id = ?", [f"import:order:{b}"])  # held back for now
    report = env.run(unmatched_sku="free_text_row")
    assert report.contacts_updated >= 1
    assert contact_of(a)["pri"] == "+1 555 0199"
    note = env.sql("SELECT note FROM push.ledger WHERE push_id = ?", [f"import:order:{a}"])[0][0]
    assert "updated Brightpearl contact" in note and "phone" in note
    env.sql("UPDATE push.ledger SET state = 'planned' WHERE push_id = ?", [f"import:order:{b}"])
    env.run(unmatched_sku="free_text_row", update_customers="never")
    assert contact_of(b)["pri"] == wh_phone[b]


def _contact_calls(env: Env) -> dict[str, int]:
    return {
        k.removeprefix("brightpearl "): v
        for k, v in env.sb.request_counts().items()
        if k.startswith("brightpearl ") and "contact-service/" in k and "search" not in k
    }


def test_an_existing_customers_company_and_addresses_are_updated_once(env: Env) -> None:
    """The order's company, billing and delivery address differ from the contact's: one update sends exactly those;
    the shopper's next order with the same details, a re-run and a retry after a crash send nothing."""
    env.run(unmatched_sku="free_text_row")
    a, b = env.new_storefront_only_orders(2)
    wh = env.wh.get_warehouse()
    env.extract_storefront()
    Ledger(wh.connect).record_plan(plan_imports(wh.connect, env.settings()))
    desired_a = json.loads(env.sql("SELECT desired FROM push.ledger WHERE push_id = ?", [f"import:order:{a}"])[0][0])
    billing = desired_a["order"]["billing_address"]
    (contact_id,) = env.sql(
        "SELECT min(contact_id) FROM brightpearl.contacts WHERE lower(trim(email)) = ? AND NOT is_deleted",
        [billing["email"].strip().lower()],
    )[0]
    assert contact_id is not None  # the shopper is a Brightpearl contact already
    billing.update(
        company="Brand New Trading Ltd",
        street_1="77 Changed Road",
        street_2="",
        city="Leeds",
        state="West Yorkshire",
        zip="LS1 4AP",
        country_iso2="GB",
    )
    ship = {**(desired_a["shipping_addresses"] or [{}])[0], "street_1": "5 Delivery Lane", "street_2": "Unit 2"}
    ship.update(city="Austin", state="Texas", zip="78701", country_iso2="US")
    desired_a["shipping_addresses"] = [ship]
    # Order b: the same shopper with the same details.
    desired_b = json.loads(env.sql("SELECT desired FROM push.ledger WHERE push_id = ?", [f"import:order:{b}"])[0][0])
    desired_b["order"]["billing_address"] = billing
    desired_b["shipping_addresses"] = [ship]
    for sf_id, desired in ((a, desired_a), (b, desired_b)):
        env.sql("UPDATE push.ledger SET desired = ? WHERE push_id = ?", [json.dumps(desired), f"import:order:{sf_id}"])

    env.sb.reset_request_counts()
    started = datetime.now(UTC)
    report = env.run(unmatched_sku="free_text_row")
    # Other shoppers' details met in this run (orders the storefront changed meanwhile) are compared too: their
    # updates are counted apart from this contact's.
    (others_updated,) = env.sql(
        "SELECT count(*) FROM push.ledger WHERE kind = 'contact_update' AND source_id <> ? AND finished_at >= ? "
        "AND note <> 'already in step'",
        [contact_id, started],
    )[0]
    assert report.contacts_updated == 1 + others_updated and report.dead_lettered == 0
    rows = env.sql(
        "SELECT push_id, state, note, storefront_order_id FROM push.ledger WHERE kind = 'contact_update' "
        "AND source_id = ?",
        [contact_id],
    )
    # a and b carry the same details: whichever is imported first carries the one update (order not guaranteed).
    assert len(rows) == 1 and rows[0][1] == "confirmed" and rows[0][3] in (a, b)
    first_of, second_of = (a, b) if rows[0][3] == a else (b, a)
    assert "company" in rows[0][2] and "billing address" in rows[0][2] and "delivery address" in rows[0][2]
    notes = dict(
        env.sql(
            "SELECT storefront_order_id, note FROM push.ledger WHERE push_id IN (?, ?)",
            [f"import:order:{a}", f"import:order:{b}"],
        )
    )
    assert f"updated Brightpearl contact {contact_id}: " in notes[first_of] and "company" in notes[first_of]
    assert "contact" not in (notes[second_of] or "")  # the same details again: nothing to do, nothing said
    calls = _contact_calls(env)
    (others_company,) = env.sql(
        "SELECT count(*) FROM push.ledger WHERE kind = 'contact_update' AND source_id <> ? AND finished_at >= ? "
        "AND note LIKE '%company%'",
        [contact_id, started],
    )[0]
    assert calls["POST contact-service/company"] == 1 + others_company
    assert calls["PATCH contact-service/contact/{id}"] >= 1
    # however many customers the run compared (this one and any other met): one ID-set GET each, batched
    assert calls["GET contact-service/contact/{ids}"] == 1
    assert calls["GET contact-service/postal-address/{ids}"] == 1
    address_writes = sum(v for k, v in calls.items() if "postal-address" in k and not k.startswith("GET"))
    # in place, or new and associated, per address (shared or not); up to 4 per other shopper updated
    assert 2 <= address_writes <= 4 + 4 * others_updated

    with env.bp() as bp:
        contact = bp.get(f"contact-service/contact/{contact_id}")[0]
        ids = contact["postAddressIds"]
        addresses = {x["addressId"]: x for x in bp.get(f"contact-service/postal-address/{ids['BIL']},{ids['DEL']}")}
    assert contact["organisation"]["name"] == "Brand New Trading Ltd" and contact["companyId"] > 0
    assert addresses[ids["BIL"]]["addressLine1"] == "77 Changed Road"
    assert addresses[ids["BIL"]]["postalCode"] == "LS1 4AP" and addresses[ids["BIL"]]["countryIsoCode2"] == "GB"
    assert (
        addresses[ids["DEL"]]["addressLine1"] == "5 Delivery Lane" and addresses[ids["DEL"]]["addressLine2"] == "Unit 2"
    )
    assert ids["DEF"] == ids["BIL"] or addresses.get(ids["DEF"]) is None  # the default address followed billing

    # A re-run sends nothing; a retry of the update (as if the run died before its ledger write) finds it in step.
    env.sb.reset_request_counts()
    again = env.run(unmatched_sku="free_text_row")
    assert (again.planned, again.contacts_updated) == (0, 0) and _contact_calls(env) == {}
    env.sql("UPDATE push.ledger SET state = 'sending' WHERE push_id = ?", [rows[0][0]])
    env.sb.reset_request_counts()
    env.run(unmatched_sku="free_text_row")
    assert _contact_calls(env) == {
        "GET contact-service/contact/{ids}": 1,
        "GET contact-service/postal-address/{ids}": 1,
    }
    assert env.sql("SELECT state, note FROM push.ledger WHERE push_id = ?", [rows[0][0]]) == [
        ("confirmed", "already in step")
    ]
    # The same details as a row planned before the import sent ISO-3 (two-letter countries: another fingerprint,
    # so another row) find the contact in step: no write, only the two reads.
    (desired,) = env.sql("SELECT desired FROM push.ledger WHERE push_id = ?", [rows[0][0]])[0]
    desired = json.loads(desired)
    wanted = desired["wanted"]
    assert (wanted["billing"]["countryIsoCode"], wanted["delivery"]["countryIsoCode"]) == ("GBR", "USA")
    wanted["billing"]["countryIsoCode"], wanted["delivery"]["countryIsoCode"] = "GB", "US"
    legacy = customers.plan_contact_update(
        contact_id, wanted, desired["policy"], desired["storefront_order_id"], desired["known_company"]
    )
    assert legacy.push_id != rows[0][0]
    Ledger(wh.connect).record_plan([legacy])
    env.sb.reset_request_counts()
    env.run(unmatched_sku="free_text_row")
    assert _contact_calls(env) == {
        "GET contact-service/contact/{ids}": 1,
        "GET contact-service/postal-address/{ids}": 1,
    }
    assert env.sql("SELECT state, note FROM push.ledger WHERE push_id = ?", [legacy.push_id]) == [
        ("confirmed", "already in step")
    ]


def _planned_order_with_company(env: Env, company: str) -> tuple[int, dict[str, Any]]:
    """A new storefront order of an existing shopper, planned for import with `company` on its billing address:
    (storefront order id, the import row's desired)."""
    env.run(unmatched_sku="free_text_row")
    (sf_id,) = env.new_storefront_only_orders(1)
    wh = env.wh.get_warehouse()
    env.extract_storefront()
    Ledger(wh.connect).record_plan(plan_imports(wh.connect, env.settings()))
    desired = json.loads(env.sql("SELECT desired FROM push.ledger WHERE push_id = ?", [f"import:order:{sf_id}"])[0][0])
    desired["order"]["billing_address"]["company"] = company
    env.sql("UPDATE push.ledger SET desired = ? WHERE push_id = ?", [json.dumps(desired), f"import:order:{sf_id}"])
    return sf_id, desired


def _company(env: Env, contact_id: int) -> str:
    with env.bp() as bp:
        return bp.get(f"contact-service/contact/{contact_id}")[0]["organisation"]["name"]


def test_a_refused_contact_update_is_dead_lettered_alone_and_the_order_still_imported(env: Env) -> None:
    sf_id, desired = _planned_order_with_company(env, "Refused Holdings Ltd")
    wh = env.wh.get_warehouse()
    email = desired["order"]["billing_address"]["email"].strip().lower()
    (contact_id,) = env.sql(
        "SELECT min(contact_id) FROM brightpearl.contacts WHERE lower(trim(email)) = ? AND NOT is_deleted", [email]
    )[0]
    assert contact_id is not None
    env.sb.add_fault(api="brightpearl", kind="status", status=400, path="^contact-service/company", method="POST")
    report = env.run(unmatched_sku="free_text_row")
    assert report.created == 1 and report.dead_lettered == 1 and report.contacts_updated == 0
    (state, note) = env.sql("SELECT state, note FROM push.ledger WHERE push_id = ?", [f"import:order:{sf_id}"])[0]
    assert state == "confirmed" and f"Brightpearl contact {contact_id} NOT updated (dead letter import:contact:" in note
    assert len(env.bp_orders_with_external_ref(sf_id)) == 1
    (push_id, reason) = env.sql(
        "SELECT push_id, reason FROM push.dead_letters WHERE kind = 'contact_update' AND resolved_at IS NULL"
    )[0]
    assert f"Brightpearl contact {contact_id} not updated from storefront order {sf_id}" in reason
    assert "then re-drive" in reason
    # Re-driven, the update is sent on its own by the next import run, and its dead letter resolved.
    assert Ledger(wh.connect).reopen_dead_letters("contact_update") == [push_id]
    again = env.run(unmatched_sku="free_text_row")
    assert (again.planned, again.created, again.dead_lettered, again.contacts_updated) == (0, 0, 0, 1)
    assert env.sql("SELECT resolved_at IS NOT NULL FROM push.dead_letters WHERE push_id = ?", [push_id]) == [(True,)]
    assert _company(env, contact_id) == "Refused Holdings Ltd"


def test_a_re_driven_contact_update_never_puts_back_details_a_later_order_replaced(env: Env) -> None:
    sf_id, desired = _planned_order_with_company(env, "Older Details Ltd")
    wh = env.wh.get_warehouse()
    env.sb.add_fault(api="brightpearl", kind="status", status=400, path="^contact-service/company", method="POST")
    assert env.run(unmatched_sku="free_text_row").dead_lettered == 1
    (older, contact_id, stated) = env.sql(
        "SELECT push_id, source_id, changed_at FROM push.ledger WHERE kind = 'contact_update' AND state = 'dead'"
    )[0]
    assert stated == parse_v2_date(desired["order"]["date_created"])  # when the shopper gave those details
    # The shopper's next order, a day later, gives another company; it is applied.
    wanted = {**json.loads(env.sql("SELECT desired FROM push.ledger WHERE push_id = ?", [older])[0][0])["wanted"]}
    wanted["company"] = "Newer Details Ltd"
    later = customers.plan_contact_update(contact_id, wanted, "if_different", sf_id + 1, "", stated + timedelta(days=1))
    Ledger(wh.connect).record_plan([later])
    try:
        assert env.run_import_only(unmatched_sku="free_text_row").contacts_updated == 1
        assert _company(env, contact_id) == "Newer Details Ltd"
        # Re-driven now, the older update is settled as superseded: nothing is written, its dead letter is resolved.
        assert Ledger(wh.connect).reopen_dead_letters("contact_update") == [older]
        report = env.run_import_only(unmatched_sku="free_text_row")
        assert (report.contacts_updated, report.dead_lettered) == (0, 0)
        (state, note) = env.sql("SELECT state, note FROM push.ledger WHERE push_id = ?", [older])[0]
        assert state == "skipped" and note.startswith(f"superseded: the later details of storefront order {sf_id + 1}")
        assert env.sql("SELECT resolved_at IS NOT NULL FROM push.dead_letters WHERE push_id = ?", [older]) == [(True,)]
        assert _company(env, contact_id) == "Newer Details Ltd"
    finally:  # the made-up later order is forgotten: other tests may draw the same shopper
        env.sql("DELETE FROM push.ledger WHERE push_id = ?", [later.push_id])


def test_details_stated_again_after_others_were_applied_are_sent_again(env: Env) -> None:
    """X, then Y, then X again (a shopper alternating between two companies): the contact ends with X."""
    sf_id, _ = _planned_order_with_company(env, "Restated X Ltd")
    wh = env.wh.get_warehouse()
    assert env.run(unmatched_sku="free_text_row").contacts_updated == 1
    (x_id, contact_id, stated, x_desired) = env.sql(
        "SELECT push_id, source_id, changed_at, desired FROM push.ledger WHERE kind = 'contact_update' "
        "AND storefront_order_id = ? AND state = 'confirmed'",
        [sf_id],
    )[0]
    x = json.loads(x_desired)

    def company() -> str:
        return _company(env, contact_id)

    assert company() == "Restated X Ltd"
    ledger = Ledger(wh.connect)
    y_wanted = {**x["wanted"], "company": "Restated Y Ltd"}
    y = customers.plan_contact_update(contact_id, y_wanted, x["policy"], sf_id + 1, "", stated + timedelta(days=1))
    try:
        ledger.record_plan([y])
        assert env.run_import_only(unmatched_sku="free_text_row").contacts_updated == 1
        assert company() == "Restated Y Ltd"
        # The shopper's next order states X again: the same row (same details), planned again and sent again.
        again = customers.plan_contact_update(
            contact_id, x["wanted"], x["policy"], sf_id + 2, "", stated + timedelta(days=2)
        )
        assert again.push_id == x_id
        ledger.record_plan([again])
        assert env.sql("SELECT state FROM push.ledger WHERE push_id = ?", [x_id]) == [("planned",)]
        assert env.run_import_only(unmatched_sku="free_text_row").contacts_updated == 1
        assert company() == "Restated X Ltd"
        # Stated again by an order no newer than what was applied: nothing reopens.
        ledger.record_plan([again])
        assert env.sql("SELECT state FROM push.ledger WHERE push_id = ?", [x_id]) == [("confirmed",)]
    finally:  # the made-up later orders are forgotten: other tests may draw the same shopper
        env.sql("DELETE FROM push.ledger WHERE push_id = ?", [y.push_id])
        env.sql("UPDATE push.ledger SET changed_at = ? WHERE push_id = ?", [stated, x_id])


def test_the_shoppers_comment_and_staff_notes_become_order_notes(env: Env) -> None:
    env.run(unmatched_sku="free_text_row")
    (sf_id,) = env.new_storefront_only_orders(1)
    wh = env.wh.get_warehouse()
    env.extract_storefront()
    Ledger(wh.connect).record_plan(plan_imports(wh.connect, env.settings()))
    texts = {"customer_message": "Please leave it at the back door", "staff_notes": "VIP: check the packing"}
    env.sql(
        "UPDATE push.ledger SET desired = json_merge_patch(desired, ?) WHERE push_id = ?",
        [json.dumps({"order": texts}), f"import:order:{sf_id}"],
    )
    env.run(unmatched_sku="free_text_row")
    (order_id,) = env.bp_orders_with_external_ref(sf_id)
    with env.bp() as bp:
        notes = {n["text"]: n["isPublic"] for n in bp.get(f"order-service/order/{order_id}/note")}
    assert notes[f"Storefront order {sf_id} customer comment: Please leave it at the back door"] is True
    assert notes[f"Storefront order {sf_id} staff notes: VIP: check the packing"] is False
    note = env.sql("SELECT note FROM push.ledger WHERE push_id = ?", [f"import:order:{sf_id}"])[0][0]
    assert "customer comment written" in note and "staff notes written" in note


def test_lines_match_on_ean_through_the_catalog_variants_gtin(env: Env) -> None:
    """`match_on: ean`: BigCommerce order lines carry no EAN; the catalog variant's GTIN does (the catalog extraction
    stores it). A line matches the Brightpearl product with that barcode in any GTIN length; a line whose variant has
    none follows `unmatched_sku`."""
    env.run(unmatched_sku="free_text_row")
    new = env.new_storefront_only_orders(3)
    wh = env.wh.get_warehouse()
    env.extract_storefront()
    with env.bc() as bc:
        StreamSync(wh.connect, "test", Log()).catalog(bc)
    settings = env.settings(match_on="ean", unmatched_sku="free_text_row")
    Ledger(wh.connect).record_plan(plan_imports(wh.connect, settings))
    # What the warehouse says each line should become: the product whose EAN is the variant's GTIN.
    by_ean = {
        match_key(ean, "ean"): pid
        for ean, pid in env.sql(
            "SELECT ean, product_id FROM brightpearl.products WHERE nullif(trim(ean), '') IS NOT NULL AND NOT is_deleted"
        )
    }
    gtins = dict(env.sql("SELECT variant_id, gtin FROM storefront.variants"))
    assert any(gtins.values()), "the sandbox catalog serves GTINs"
    report = run_import(wh.connect, env.bp, settings, Log())
    assert report.dead_lettered == 0
    matched = named = 0
    for sf_id in new:
        desired, request = env.sql(
            "SELECT desired, request FROM push.ledger WHERE push_id = ?", [f"import:order:{sf_id}"]
        )[0]
        if request is None:  # already in Brightpearl: nothing was sent
            continue
        lines = [p for p in json.loads(desired)["products"] if p.get("type") != "giftcertificate"]
        rows = [r for r in json.loads(request)["rows"] if not r.get("name", "").startswith("Shipping: ")]
        for line, row in zip(lines, rows, strict=True):
            want = by_ean.get(match_key(gtins.get(line["variant_id"]), "ean"))
            if want is not None:
                assert row.get("productId") == want, (line, row)
                matched += 1
            else:
                assert "productId" not in row and "[EAN" in row["name"], (line, row)
                named += 1
    assert matched > 0


def test_barcodes_match_in_any_gtin_length() -> None:
    assert match_key("012345678905", "upc") == match_key("0012345678905", "ean") == "12345678905"
    assert match_key(" 4006381-333931 ", "ean") == "4006381333931"
    assert match_key(None, "ean") == match_key("", "upc") == match_key("000", "ean") == ""
    assert match_key("  Ab-1 ", "sku") == "ab-1"


def test_contact_reads_are_batched_and_read_again_only_after_a_write(env: Env) -> None:
    """Every customer a run may compare is read in one ID-set GET (addresses likewise); an id Brightpearl no longer
    has is simply not found; a contact the run wrote to is read again, alone."""
    env.run(unmatched_sku="free_text_row")
    ids = [r[0] for r in env.sql("SELECT contact_id FROM brightpearl.contacts WHERE NOT is_deleted ORDER BY 1 LIMIT 3")]
    gone = max(ids) + 10_000_000
    env.sb.reset_request_counts()
    with env.bp() as bp:
        reads = customers.ContactReads(bp, [*ids, gone])
        docs = [reads.contact(i) for i in ids]
        assert [d["contactId"] for d in docs if d] == ids
        assert reads.contact(gone) is None
        address_ids = [v for d in docs if d for v in (d.get("postAddressIds") or {}).values() if v]
        assert address_ids and set(reads.addresses(address_ids)) == set(address_ids)
        first = _contact_calls(env)
        assert first["GET contact-service/postal-address/{ids}"] == 1
        # one GET for the set; if Brightpearl refuses a set with a vanished id, one GET per id after it
        assert first["GET contact-service/contact/{ids}"] in (1, 1 + len(ids) + 1)
        assert reads.contact(ids[1]) is docs[1]  # no read: already at hand
        reads.forget(ids[0])
        assert reads.contact(ids[0])["contactId"] == ids[0]
    assert _contact_calls(env)["GET contact-service/contact/{ids}"] == first["GET contact-service/contact/{ids}"] + 1
