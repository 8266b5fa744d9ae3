"""B2B storefront accounts on one private sandbox (real HTTP, real DuckDB file): credit customers get exactly one
storefront account each, matched by e-mail, in the group mapped from their price list; ERP changes update it; a
storefront account with no ERP contact is never touched; writes go 10 at a time."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest

from bp_pipelines.assets.brightpearl import brightpearl_assets
from bp_pipelines.lib.bigcommerce import BigCommerceClient
from bp_pipelines.lib.push.accounts import AccountReport, AccountSettings, run_accounts
from bp_pipelines.resources.warehouse import WarehouseResource

from .test_brightpearl_sync import bigcommerce, brightpearl, today


@dataclass
class Env:
    sb: Any
    wh: WarehouseResource

    def client(self) -> BigCommerceClient:
        sb = self.sb
        return BigCommerceClient(sb.bigcommerce_base_url, sb.bigcommerce_store_hash, sb.bigcommerce_access_token)

    def run(self, groups: dict[int, int]) -> AccountReport:
        wh = self.wh.get_warehouse()
        with wh.session():  # as `materialize_accounts` holds one
            return run_accounts(wh.connect, self.client, AccountSettings(True, groups))

    def sql(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.wh.get_warehouse().connect() as conn:
            return conn.execute(sql, params or []).fetchall()

    def storefront_customers(self) -> dict[str, dict[str, Any]]:
        body = self.sb.storefront_state("customers")
        items = body.get("data", body) if isinstance(body, dict) else body
        return {c["email"].strip().lower(): c for c in items}

    def bc_calls(self) -> dict[str, int]:
        return {k: v for k, v in self.sb.request_counts().items() if k.startswith("bigcommerce ")}


@pytest.fixture(scope="module")
def env(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sb = module_sandbox(seed=37, orders=300)
    e = Env(sb, WarehouseResource(path=str(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")))
    dg.materialize(
        list(brightpearl_assets),
        resources={"brightpearl": brightpearl(sb), "warehouse": e.wh},
        run_config={"ops": {a.node_def.name: {"config": {"reconcile_max_pages": 0}} for a in brightpearl_assets}},
        partition_key=today(),
        instance=dg.DagsterInstance.ephemeral(),
    )
    yield e


def _credit_customers(env: Env) -> dict[str, tuple[int, int | None]]:
    rows = env.sql(
        """SELECT lower(trim(email)), contact_id, price_list_id FROM brightpearl.contacts
           WHERE NOT coalesce(is_deleted, false) AND NOT coalesce(is_supplier, false) AND NOT coalesce(is_staff, false)
             AND (coalesce(credit_limit, 0) > 0 OR coalesce(credit_term_days, 0) > 0)
             AND regexp_matches(trim(email), '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$')"""
    )
    return {email: (cid, pl) for email, cid, pl in rows}


def _mapping(env: Env) -> dict[int, int]:
    """The lowest price list of the credit customers -> the storefront's first customer group."""
    price_lists = sorted({pl for _, pl in _credit_customers(env).values() if pl is not None})
    with env.client() as bc:
        groups = [g["id"] for g in bc.paginate("v2/customer_groups")]
    assert price_lists and groups
    return {price_lists[0]: int(groups[0])}


def test_credit_customers_get_one_account_each_and_others_are_never_touched(env: Env) -> None:
    want = _credit_customers(env)
    assert want
    mapping = _mapping(env)
    before = env.storefront_customers()
    calls_before = env.bc_calls()
    report = env.run(mapping)
    assert report.dead_lettered == 0 and report.still_open == 0, report
    absent = [e for e in want if e not in before]
    assert report.created == len(absent) and report.created + report.updated + report.unchanged == len(want)
    after = env.storefront_customers()
    for email, (_, price_list) in want.items():
        assert email in after, email
        if price_list in mapping:
            assert after[email]["customer_group_id"] == mapping[price_list]
    # Storefront accounts no ERP credit customer has are exactly as they were.
    for email, customer in before.items():
        if email not in want:
            assert after[email] == customer, email
    # Writes at the documented maximum of 10 customers per call.
    calls = {k: v - calls_before.get(k, 0) for k, v in env.bc_calls().items()}
    assert calls.get("bigcommerce POST v3/customers", 0) == math.ceil(report.created / 10)
    assert calls.get("bigcommerce PUT v3/customers", 0) == math.ceil(report.updated / 10)
    # A second run plans nothing and calls nothing.
    calls_before = env.bc_calls()
    again = env.run(mapping)
    assert (again.planned, again.created, again.updated) == (0, 0, 0)
    assert env.bc_calls() == calls_before


def test_an_erp_change_updates_the_account_once(env: Env) -> None:
    email, (contact_id, _) = sorted(_credit_customers(env).items())[0]
    env.sql("UPDATE brightpearl.contacts SET telephone = '+1 555 0100', mobile = '' WHERE contact_id = ?", [contact_id])
    report = env.run(_mapping(env))
    assert (report.planned, report.updated, report.created) == (1, 1, 0), report
    assert report.calls == 2  # one e-mail lookup, one PUT
    assert env.storefront_customers()[email]["phone"] == "+1 555 0100"
    note = env.sql(
        "SELECT note FROM push.ledger WHERE kind = 'account' AND push_id LIKE ? AND state = 'confirmed' "
        "ORDER BY finished_at DESC LIMIT 1",
        [f"account:{contact_id}:%"],
    )[0][0]
    assert "phone" in note


def test_the_asset_follows_the_sync_file(env: Env, tmp_path: Any) -> None:
    from bp_pipelines.assets.storefront import storefront_accounts

    resources = {
        "bigcommerce": bigcommerce(env.sb),
        "warehouse": env.wh,
    }
    sync_file = tmp_path / "sync.yaml"
    _, (contact_id, _) = sorted(_credit_customers(env).items())[-1]
    env.sql("UPDATE brightpearl.contacts SET company_name = 'Renamed Trading Co' WHERE contact_id = ?", [contact_id])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BP_SYNC_CONFIG", str(sync_file))
        sync_file.write_text("accounts: {enabled: false}\n")
        off = dg.materialize([storefront_accounts], resources=resources, instance=dg.DagsterInstance.ephemeral())
        sync_file.write_text("accounts: {enabled: true, who: {tag: Trade}}\n")
        tag = dg.materialize(
            [storefront_accounts], resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )
        groups = ", ".join(f"{k}: {v}" for k, v in _mapping(env).items())
        sync_file.write_text(f"accounts: {{enabled: true, who: credit_customers, price_list_groups: {{{groups}}}}}\n")
        on = dg.materialize([storefront_accounts], resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert (
        off.success
        and off.asset_materializations_for_node("storefront_accounts")[0].metadata["accounts_enabled"].value is False
    )
    assert not tag.success
    failures = [e.event_specific_data.error.message for e in tag.all_events if e.is_step_failure]  # type: ignore[union-attr]
    # No contact tag is called Trade: the step names the key and the tags there are.
    assert failures and "accounts.who.tag: unknown Brightpearl contact tag 'Trade'; valid: " in failures[0]
    assert "'Wholesale' (23)" in failures[0]
    meta = on.asset_materializations_for_node("storefront_accounts")[0].metadata
    assert meta["updated"].value == 1 and meta["created"].value == 0 and meta["open_dead_letters"].value == 0


def test_reconciliation_names_the_contact_and_why(env: Env) -> None:
    from bp_pipelines.lib.marts import MARTS_BY_NAME, rebuild_marts

    def out_of_step() -> dict[int, str]:
        with env.wh.get_warehouse().connect() as conn:
            rebuild_marts(conn, [MARTS_BY_NAME["storefront_accounts_out_of_step"]])
            return dict(
                conn.execute("SELECT contact_id, why FROM analytics.storefront_accounts_out_of_step").fetchall()
            )

    env.run(_mapping(env))
    assert out_of_step() == {}
    _, (contact_id, _) = sorted(_credit_customers(env).items())[1]
    env.sql(
        "UPDATE brightpearl.contacts SET company_name = 'Moved On Ltd', updated_on = now() WHERE contact_id = ?",
        [contact_id],
    )
    assert list(out_of_step()) == [contact_id] and "changed in Brightpearl" in out_of_step()[contact_id]
    env.run(_mapping(env))
    assert out_of_step() == {}


def test_a_create_whose_answer_is_lost_is_confirmed_not_duplicated(env: Env) -> None:
    env.run(_mapping(env))  # everything else settled first
    on_storefront = env.storefront_customers()
    (contact_id, email), *_ = env.sql(
        """SELECT contact_id, lower(trim(email)) FROM brightpearl.contacts
           WHERE NOT coalesce(is_deleted, false) AND NOT coalesce(is_supplier, false) AND NOT coalesce(is_staff, false)
             AND coalesce(credit_limit, 0) = 0 AND coalesce(credit_term_days, 0) = 0
             AND regexp_matches(trim(email), '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$')
             AND lower(trim(email)) NOT IN (SELECT unnest(?)) ORDER BY contact_id LIMIT 1""",
        [list(on_storefront)],
    )
    env.sql("UPDATE brightpearl.contacts SET credit_limit = 5000 WHERE contact_id = ?", [contact_id])
    # The storefront stalls 3 s on the create, then applies it: the client (1 s timeout) never sees the answer.
    env.sb.add_fault(api="bigcommerce", kind="timeout", path=r"^v3/customers$", method="POST", delay_s=3, count=1)

    def impatient() -> BigCommerceClient:
        sb = env.sb
        return BigCommerceClient(
            sb.bigcommerce_base_url, sb.bigcommerce_store_hash, sb.bigcommerce_access_token, timeout=1
        )

    connect = env.wh.get_warehouse().connect
    first = run_accounts(connect, impatient, AccountSettings(True, _mapping(env)))
    assert first.created + first.still_open == 1 and first.dead_lettered == 0, first
    time.sleep(3.5)  # the storefront applies the lost create
    second = env.run(_mapping(env))
    assert first.created + second.created + second.unchanged + second.updated == 1, second
    matches = [c for e, c in env.storefront_customers().items() if e == email]
    assert len(matches) == 1
    states = env.sql("SELECT state FROM push.ledger WHERE push_id LIKE ?", [f"account:{contact_id}:%"])
    assert states == [("confirmed",)]
