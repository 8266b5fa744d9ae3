"""B2B storefront accounts chosen by a Brightpearl contact tag (`accounts.who: {tag: ...}`), on a private sandbox over
real HTTP into a real DuckDB file: the tag list and each contact's `contactTags` are extracted, the tag is written by
name as in the sync file, and only the tagged contacts get storefront accounts (credit customers without the tag do
not). An unknown tag fails the step naming `accounts.who.tag` and the valid tags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from bp_pipelines.assets.brightpearl import contact_tags, contacts
from bp_pipelines.assets.storefront import storefront_accounts
from bp_pipelines.resources.bigcommerce import BigCommerceResource
from bp_pipelines.resources.warehouse import WarehouseResource

from .test_brightpearl_sync import brightpearl, today

VALID = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@pytest.fixture(scope="module")
def env(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, WarehouseResource]]:
    sb = module_sandbox(seed=53, orders=300)
    wh = WarehouseResource(path=str(tmp_path_factory.mktemp("wh") / "warehouse.duckdb"))
    result = dg.materialize(
        [contact_tags, contacts],
        resources={"brightpearl": brightpearl(sb), "warehouse": wh},
        run_config={"ops": {"contacts": {"config": {"reconcile_max_pages": 0}}}},
        partition_key=today(),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    yield sb, wh


def _sql(wh: WarehouseResource, sql: str) -> list[tuple[Any, ...]]:
    with wh.get_warehouse().connect() as conn:
        return conn.execute(sql).fetchall()


def _storefront_emails(sb: Any) -> set[str]:
    body = sb.storefront_state("customers")
    items = body.get("data", body) if isinstance(body, dict) else body
    return {c["email"].strip().lower() for c in items}


def _run(
    sb: Any, wh: WarehouseResource, sync_file: Path, text: str, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    sync_file.write_text(text)
    resources = {
        "bigcommerce": BigCommerceResource(
            base_url=sb.bigcommerce_base_url,
            store_hash=sb.bigcommerce_store_hash,
            access_token=sb.bigcommerce_access_token,
        ),
        "warehouse": wh,
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BP_SYNC_CONFIG", str(sync_file))
        return dg.materialize(
            [storefront_accounts],
            resources=resources,
            instance=instance or dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )


def test_tags_are_extracted(env: tuple[Any, WarehouseResource]) -> None:
    _, wh = env
    assert _sql(wh, "SELECT tag_id, tag_name FROM brightpearl.contact_tags ORDER BY 1") == [
        (9, "Storefront"),
        (16, "VIP"),
        (23, "Wholesale"),
    ]
    counts = dict(
        _sql(wh, "SELECT t, count(*) FROM (SELECT unnest(tag_ids) AS t FROM brightpearl.contacts) GROUP BY 1")
    )
    assert counts[16] > 0 and counts[23] > counts[16] and counts[9] > 0
    assert _sql(wh, "SELECT count(*) FROM brightpearl.contacts WHERE tag_ids IS NULL") == [(0,)]


def test_only_contacts_with_the_tag_get_accounts(env: tuple[Any, WarehouseResource], tmp_path: Path) -> None:
    sb, wh = env
    live = "NOT is_deleted AND NOT is_supplier AND NOT is_staff AND regexp_matches(trim(email), '" + VALID + "')"
    vip = {
        r[0]
        for r in _sql(
            wh, f"SELECT lower(trim(email)) FROM brightpearl.contacts WHERE {live} AND list_contains(tag_ids, 16)"
        )
    }
    credit_only = {
        r[0]
        for r in _sql(
            wh,
            f"SELECT lower(trim(email)) FROM brightpearl.contacts WHERE {live} AND NOT list_contains(tag_ids, 16) "
            "AND (credit_limit > 0 OR credit_term_days > 0)",
        )
    }
    before = _storefront_emails(sb)
    assert vip - before and credit_only - before  # both kinds include contacts with no storefront account yet

    result = _run(sb, wh, tmp_path / "sync.yaml", "accounts:\n  enabled: true\n  who: {tag: VIP}\n")
    assert result.success
    meta = {k: v.value for k, v in result.asset_materializations_for_node("storefront_accounts")[0].metadata.items()}
    after = _storefront_emails(sb)
    assert after - before == vip - before  # every tagged contact without an account got one, nobody else
    assert meta["created"] == len(vip - before) and meta["planned"] == len(vip)
    assert meta["created"] + meta["updated"] + meta["unchanged"] == len(vip) and meta["dead_lettered"] == 0
    assert meta["contacts_without_tags_read"] == 0
    ledger = {r[0] for r in _sql(wh, "SELECT lower(desired->>'email') FROM push.ledger WHERE kind = 'account'")}
    assert ledger == vip
    # The reconciliation mart judges the same audience: every tagged contact is in step, the rest are not its business.
    from bp_pipelines.lib.marts import MARTS_BY_NAME, rebuild_marts

    with wh.get_warehouse().connect() as conn:
        rebuild_marts(conn, [MARTS_BY_NAME["storefront_accounts_out_of_step"]])
        assert conn.execute("SELECT count(*) FROM analytics.storefront_accounts_out_of_step").fetchone() == (0,)

    again = _run(sb, wh, tmp_path / "sync.yaml", "accounts: {enabled: true, who: {tag: 16}}\n")  # the same tag by id
    meta = again.asset_materializations_for_node("storefront_accounts")[0].metadata
    assert meta["planned"].value == 0 and meta["created"].value == 0 and _storefront_emails(sb) == after


def test_an_unknown_tag_names_the_key_and_the_valid_tags(env: tuple[Any, WarehouseResource], tmp_path: Path) -> None:
    sb, wh = env
    result = _run(sb, wh, tmp_path / "sync.yaml", "accounts: {enabled: true, who: {tag: Trade}}\n")
    assert not result.success
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]  # type: ignore[union-attr]
    assert len(failures) == 1
    assert (
        "accounts.who.tag: unknown Brightpearl contact tag 'Trade'; valid: 'Storefront' (9), 'VIP' (16), "
        in (failures[0])
    )


def test_a_warehouse_from_before_tags_gets_the_column_and_the_run_says_what_to_re_read(
    env: tuple[Any, WarehouseResource], tmp_path: Path
) -> None:
    """An older warehouse file: `tag_ids` is added on the next connection, NULL for the stored contacts; a tag
    audience cannot judge those, so the run counts them and warns how to read them again."""
    sb, wh = env
    with wh.get_warehouse().connect() as conn:
        conn.execute("ALTER TABLE brightpearl.contacts DROP COLUMN tag_ids")
        conn.execute("DROP TABLE _sync.schema_version")  # a file written by an older version has no DDL marker
    with wh.get_warehouse().connect() as conn:  # schema.sql runs when the file's DDL version is not this one
        stored = conn.execute("SELECT count(*), count(tag_ids) FROM brightpearl.contacts").fetchone()
        assert stored is not None and stored[0] > 0 and stored[1] == 0
        (audience,) = conn.execute(
            "SELECT count(*) FROM brightpearl.contacts WHERE NOT is_deleted AND NOT is_supplier AND NOT is_staff"
        ).fetchone()  # type: ignore[misc]
    instance = dg.DagsterInstance.ephemeral()
    result = _run(sb, wh, tmp_path / "sync.yaml", "accounts: {enabled: true, who: {tag: VIP}}\n", instance)
    assert result.success
    meta = result.asset_materializations_for_node("storefront_accounts")[0].metadata
    assert meta["contacts_without_tags_read"].value == audience and meta["planned"].value == 0
    logged = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(f"{audience} contacts were stored before contact tags were extracted" in m for m in logged)
    assert any("materialize contacts with config {mode: reconciliation, force: true}" in m for m in logged)
    # The advice works: one forced reconciliation of contacts reads every contact's tags again.
    dg.materialize(
        [contacts],
        resources={"brightpearl": brightpearl(sb), "warehouse": wh},
        run_config={"ops": {"contacts": {"config": {"mode": "reconciliation", "force": True}}}},
        partition_key=today(),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert _sql(wh, "SELECT count(*) FROM brightpearl.contacts WHERE tag_ids IS NULL") == [(0,)]
