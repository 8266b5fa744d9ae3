"""The sync configuration file: the documented contract loads exactly as written, every kind of mistake fails with
one message naming the file, the key and the valid values, and names resolve against reference tables synced
from the sandbox into a real DuckDB file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bp_pipelines.cli import SANDBOX_SYNC_FILE, sandbox_env
from bp_pipelines.lib.brightpearl import BrightpearlClient
from bp_pipelines.lib.sync.reference_sync import refresh_reference_list
from bp_pipelines.lib.sync.streams import REFERENCE_LISTS
from bp_pipelines.lib.sync_file import (
    OrderStatusTrigger,
    ResolvedSyncFile,
    SyncFile,
    SyncFileError,
    load_sync_file,
    resolve,
)
from bp_pipelines.lib.warehouse import DuckDBWarehouse
from bp_pipelines.sandbox_process import SandboxProcess
from bp_pipelines.settings import REPO_ROOT

# The contract, verbatim: both parts must load exactly as written.
CONTRACT_PUSH = """\
storefront:
  enabled: true                    # nothing is pushed unless true
  brightpearl_channel_ids: [3]     # Brightpearl orders from these channels belong to the storefront
  order_link: external_ref         # Brightpearl order field holding the storefront order id
push_from: "2025-09-01T00:00:00Z"  # only Brightpearl changes at or after this time are pushed
status_map:                        # Brightpearl order status (name or id) -> BigCommerce status_id
  Cancelled: 5
  Invoiced: 10
unmapped_status: leave             # or a BigCommerce status_id
shipments:
  trigger: goods_out_shipped       # or {order_status: <Brightpearl status name or id>}
  carriers:                        # Brightpearl shipping method (name or id) -> shipment fields
    1: {tracking_carrier: royal-mail, shipping_provider: ""}
  default_carrier: {tracking_carrier: "", shipping_provider: ""}
"""
CONTRACT_IMPORT = """\
import:
  statuses: [11]                  # storefront status ids whose orders are imported
  channel_id: 3
  warehouse_id: 2
  project_id: null
  lead_source_id: null
  match_on: sku                   # sku | ean | upc
  unmatched_sku: dead_letter      # or free_text_row
  guest_orders: true
  customers: {create: true, update: if_different}
accounts:
  enabled: true
  who: credit_customers           # or {tag: <Brightpearl contact tag>}
  price_list_groups: {1: 0}       # Brightpearl price list id -> storefront customer group id
stock:
  warehouse_ids: [2, 3]
"""


def write(tmp_path: Path, text: str, name: str = "sync.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SyncFileError) as info:
        load_sync_file(path)
    message = str(info.value)
    assert str(path) in message
    return message


@pytest.fixture(scope="module")
def warehouse(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBWarehouse]:
    """Reference lists synced from the (read-only, session) sandbox into a real DuckDB file."""
    wh = DuckDBWarehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
    with BrightpearlClient(
        sandbox.brightpearl_base_url,
        sandbox.brightpearl_account,
        sandbox.brightpearl_app_ref,
        sandbox.brightpearl_account_token,
    ) as bp:
        for reference in REFERENCE_LISTS:
            refresh_reference_list(
                reference, bp, wh, logging.getLogger("test"), skip_if_fresh=None, run_id="sync-file-test"
            )
    yield wh


def resolved(warehouse: DuckDBWarehouse, sync_file: SyncFile) -> ResolvedSyncFile:
    with warehouse.connect() as conn:
        return resolve(sync_file, conn)


def resolve_error(warehouse: DuckDBWarehouse, tmp_path: Path, text: str) -> str:
    sync_file = load_sync_file(write(tmp_path, text))
    with pytest.raises(SyncFileError) as info:
        resolved(warehouse, sync_file)
    return str(info.value)


# --- the contract -------------------------------------------------------------------------------------------------


def test_the_contract_loads_exactly_as_written(tmp_path: Path) -> None:
    sync_file = load_sync_file(write(tmp_path, CONTRACT_PUSH + CONTRACT_IMPORT))
    assert sync_file.storefront.enabled is True and sync_file.storefront.brightpearl_channel_ids == [3]
    assert sync_file.storefront.order_link == "external_ref"
    assert sync_file.push_from == datetime(2025, 9, 1, tzinfo=UTC)
    assert sync_file.status_map == {"Cancelled": 5, "Invoiced": 10} and sync_file.unmapped_status == "leave"
    assert sync_file.shipments.trigger == "goods_out_shipped"
    assert sync_file.shipments.carriers[1].tracking_carrier == "royal-mail"
    assert sync_file.shipments.default_carrier.shipping_provider == ""
    imp = sync_file.import_
    assert imp is not None and imp.statuses == [11] and (imp.channel_id, imp.warehouse_id) == (3, 2)
    assert imp.project_id is None and imp.match_on == "sku" and imp.unmatched_sku == "dead_letter"
    assert imp.guest_orders is True and (imp.customers.create, imp.customers.update) == (True, "if_different")
    assert sync_file.accounts is not None and sync_file.accounts.who == "credit_customers"
    assert sync_file.accounts.price_list_groups == {1: 0}
    assert sync_file.stock is not None and sync_file.stock.warehouse_ids == [2, 3]
    assert sync_file.path == tmp_path / "sync.yaml"
    # Each part also loads on its own.
    assert load_sync_file(write(tmp_path, CONTRACT_PUSH)).import_ is None
    assert load_sync_file(write(tmp_path, CONTRACT_IMPORT)).storefront.enabled is False


def test_the_other_documented_forms(tmp_path: Path) -> None:
    text = CONTRACT_PUSH.replace("trigger: goods_out_shipped", "trigger: {order_status: Invoiced}")
    text = text.replace("unmapped_status: leave", "unmapped_status: 11").replace(
        'push_from: "2025-09-01T00:00:00Z"', ""
    )
    sync_file = load_sync_file(write(tmp_path, text + "accounts: {who: {tag: Wholesale}}\n"))
    assert sync_file.shipments.trigger == OrderStatusTrigger(order_status="Invoiced")
    assert sync_file.unmapped_status == 11 and sync_file.push_from is None  # None: from the first push
    assert sync_file.accounts is not None and sync_file.accounts.who.tag == "Wholesale"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-09-01", datetime(2025, 9, 1, tzinfo=UTC)),  # YAML date: UTC midnight
        ("2025-09-01T02:00:00+02:00", datetime(2025, 9, 1, tzinfo=UTC)),  # YAML timestamp with an offset
        ('"2025-09-01T02:00:00+02:00"', datetime(2025, 9, 1, tzinfo=UTC)),
        ("null", None),
    ],
)
def test_push_from_forms(tmp_path: Path, value: str, expected: datetime | None) -> None:
    assert load_sync_file(write(tmp_path, f"push_from: {value}\n")).push_from == expected


def test_shipped_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BP_SYNC_CONFIG", raising=False)
    shipped = load_sync_file()
    assert shipped.path == REPO_ROOT / "sync.yaml"
    assert shipped.storefront.enabled is False  # a real account is never written to by surprise
    monkeypatch.setenv("BP_SYNC_CONFIG", str(SANDBOX_SYNC_FILE))
    sandbox_file = load_sync_file()
    assert sandbox_file.path == SANDBOX_SYNC_FILE and sandbox_file.storefront.enabled is True


def test_make_run_points_the_sandbox_at_its_sync_file(monkeypatch: pytest.MonkeyPatch) -> None:
    process = SandboxProcess(state={"bigcommerce_store_hash": "sbx", **{k: "x" for k in _STATE_KEYS}})
    monkeypatch.delenv("BP_SYNC_CONFIG", raising=False)
    env = sandbox_env(process)
    assert env["BP_SYNC_CONFIG"] == str(SANDBOX_SYNC_FILE) and env["BIGCOMMERCE_STORE_HASH"] == "sbx"
    monkeypatch.setenv("BP_SYNC_CONFIG", "/mine/sync.yaml")
    assert "BP_SYNC_CONFIG" not in sandbox_env(process)  # the user's choice wins


_STATE_KEYS = (
    "brightpearl_base_url",
    "brightpearl_account",
    "brightpearl_app_ref",
    "brightpearl_account_token",
    "bigcommerce_base_url",
    "bigcommerce_access_token",
)


# --- mistakes -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "trigger: goods_out_shipped",
            "trigger: goods_out",
            ["shipments.trigger:", "'goods_out'", "goods_out_shipped or {order_status: <Brightpearl status name or id>}"],
            id="bad-trigger",
        ),
        pytest.param(
            "order_link: external_ref",
            "order_link: externalRef",
            ["storefront.order_link:", "'externalRef'", "external_ref (the order's externalRef) or customer_ref"],
            id="bad-enum",
        ),
        pytest.param(
            "enabled: true ",
            "enabled: yes-please ",
            ["storefront.enabled:", "valid boolean", "true or false"],
            id="bad-type-bool",
        ),
        pytest.param(
            "Invoiced: 10",
            "Invoiced: Completed",
            ["status_map.Invoiced:", "valid integer", "10 Completed"],
            id="bad-type-status-id",
        ),
        pytest.param(
            "Invoiced: 10",
            "Invoiced: 15",
            ["status_map.Invoiced:", "less than or equal to 14", "0 Incomplete", "14 Partially Refunded"],
            id="status-id-out-of-range",
        ),
        pytest.param(
            "unmapped_status: leave",
            "unmapped_status: keep",
            ["unmapped_status:", "'keep'", "leave or a BigCommerce status_id"],
            id="bad-unmapped",
        ),
        pytest.param(
            '"2025-09-01T00:00:00Z"',
            '"2025-09-31T00:00:00Z"',
            ["push_from:", "not an ISO-8601 time", '"2025-09-01T00:00:00Z"'],
            id="bad-date",
        ),
        pytest.param(
            '"2025-09-01T00:00:00Z"',
            '"2025-09-01T00:00:00"',
            ["push_from:", "no time zone", "add Z"],
            id="date-without-zone",
        ),
        pytest.param(
            "order_link: external_ref",
            "order_link: external_ref\n  colour: blue",
            ["storefront.colour: unknown key 'colour' in storefront", "allowed keys: enabled, brightpearl_channel_ids, order_link"],
            id="unknown-key",
        ),
        pytest.param(
            "unmapped_status: leave",
            "unmapped_status: leave\npush_to: now",
            ["push_to: unknown key 'push_to'", "allowed keys: storefront, push_from, push_lookback, status_map, unmapped_status, "
             "shipments, import, accounts, stock"],
            id="unknown-top-level-key",
        ),
        pytest.param(
            'shipping_provider: ""}\n  default',
            'shipping_provider: dhl}\n  default',
            ["shipments.carriers.1.shipping_provider:", "'dhl'", "royalmail", "carrier_<id>"],
            id="bad-shipping-provider",
        ),
        pytest.param(
            "brightpearl_channel_ids: [3]",
            "brightpearl_channel_ids: []",
            ["storefront:", "enabled is true but brightpearl_channel_ids is empty"],
            id="enabled-without-channels",
        ),
    ],
)  # fmt: skip
def test_each_mistake_names_the_key_and_the_valid_values(
    tmp_path: Path, old: str, new: str, expected: list[str]
) -> None:
    assert old in CONTRACT_PUSH
    message = load_error(tmp_path, CONTRACT_PUSH.replace(old, new, 1))
    assert "(1 problem)" in message
    for part in expected:
        assert part in message, message


def test_mistakes_in_the_import_sections(tmp_path: Path) -> None:
    text = CONTRACT_IMPORT.replace("match_on: sku", "match_on: gtin").replace("who: credit_customers", "who: all")
    message = load_error(tmp_path, text.replace("update: if_different", "update: sometimes"))
    assert "(3 problems)" in message
    assert "import.match_on: Input should be 'sku', 'ean' or 'upc' (got 'gtin')" in message
    assert "import.customers.update:" in message and "if_different, always or never" in message
    assert "accounts.who: 'all' is not an account audience" in message and "credit_customers or {tag:" in message


def test_several_mistakes_are_reported_together(tmp_path: Path) -> None:
    text = CONTRACT_PUSH.replace("Invoiced: 10", "Invoiced: 99").replace("trigger: goods_out_shipped", "trigger: x")
    message = load_error(tmp_path, text)
    assert "(2 problems)" in message and "status_map.Invoiced" in message and "shipments.trigger" in message


def test_yaml_level_mistakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "given twice" in load_error(tmp_path, CONTRACT_PUSH + "status_map: {}\n")
    assert "not valid YAML" in load_error(tmp_path, "storefront: [enabled\n")
    assert "must be a mapping" in load_error(tmp_path, "- storefront\n")
    missing = tmp_path / "nope.yaml"
    monkeypatch.setenv("BP_SYNC_CONFIG", str(missing))
    with pytest.raises(SyncFileError, match=rf"BP_SYNC_CONFIG={missing} does not exist"):
        load_sync_file()


# --- resolving names against the warehouse ------------------------------------------------------------------------


def test_contract_and_sandbox_file_resolve_against_the_synced_reference_tables(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    contract = resolved(warehouse, load_sync_file(write(tmp_path, CONTRACT_PUSH + CONTRACT_IMPORT)))
    # Sandbox statuses: 5 Cancelled, 4 Invoiced (docs/sandbox.md).
    assert contract.status_map == {5: 5, 4: 10} and contract.unmapped_status is None
    assert contract.bigcommerce_status(4) == 10 and contract.bigcommerce_status(3) is None
    assert contract.shipment_trigger_status_id is None
    assert contract.carrier(1).tracking_carrier == "royal-mail" and contract.carrier(2).tracking_carrier == ""
    sandbox = resolved(warehouse, load_sync_file(SANDBOX_SYNC_FILE))
    assert set(sandbox.carriers) == set(range(1, 8))  # every shipping method, six by name and one by id
    assert sandbox.carrier(4).shipping_provider == "usps" and sandbox.carrier(None).shipping_provider == ""
    assert sandbox.storefront.brightpearl_channel_ids == [2]


def test_names_resolve_case_insensitively_and_the_trigger_status_too(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    text = CONTRACT_PUSH.replace("Cancelled: 5", "'  cancelled ': 5").replace(
        "trigger: goods_out_shipped", "trigger: {order_status: Ready to ship}"
    )
    result = resolved(warehouse, load_sync_file(write(tmp_path, text)))
    assert result.status_map[5] == 5 and result.shipment_trigger_status_id == 16


def test_unknown_names_and_ids_are_load_errors_listing_the_valid_ones(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    text = CONTRACT_PUSH.replace("Cancelled: 5", "Canceled: 5").replace("    1: {", "    Royal Mail 24: {")
    text = text.replace("trigger: goods_out_shipped", "trigger: {order_status: 99}").replace("[3]", "[3, 42]")
    message = resolve_error(warehouse, tmp_path, text)
    assert "names the warehouse does not know (4)" in message
    assert "status_map.Canceled: unknown Brightpearl order status 'Canceled'; valid: " in message
    assert "'Cancelled' (5)" in message and "'Invoiced' (4)" in message
    assert "shipments.carriers.Royal Mail 24: unknown Brightpearl shipping method 'Royal Mail 24'" in message
    assert "'Standard Shipping' (1)" in message and "'Free Shipping' (7)" in message
    assert "shipments.trigger.order_status: unknown Brightpearl order status id 99" in message
    assert "storefront.brightpearl_channel_ids[1]: unknown Brightpearl channel id 42" in message
    assert "'BigCommerce Storefront' (2)" in message


def test_the_account_tag_resolves_by_name_or_id_and_an_unknown_one_lists_the_tags(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    # Sandbox contact tags (contact-service/tag): 9 Storefront, 16 VIP, 23 Wholesale.
    for written in ("{tag: Wholesale}", "{tag: ' wholesale '}", "{tag: 23}", '{tag: "23"}'):
        text = CONTRACT_IMPORT.replace("who: credit_customers ", f"who: {written} ")
        assert resolved(warehouse, load_sync_file(write(tmp_path, text))).account_tag_id == 23, written
    assert resolved(warehouse, load_sync_file(write(tmp_path, CONTRACT_IMPORT))).account_tag_id is None
    message = resolve_error(
        warehouse, tmp_path, CONTRACT_IMPORT.replace("who: credit_customers ", "who: {tag: Trade} ")
    )
    assert "names the warehouse does not know (1)" in message
    assert "accounts.who.tag: unknown Brightpearl contact tag 'Trade'; valid: 'Storefront' (9), 'VIP' (16), " in message
    assert "'Wholesale' (23)" in message
    message = resolve_error(warehouse, tmp_path, CONTRACT_IMPORT.replace("who: credit_customers ", "who: {tag: 5} "))
    assert "accounts.who.tag: unknown Brightpearl contact tag id 5; valid: 'Storefront' (9)" in message


def test_unknown_import_and_stock_ids(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    message = resolve_error(
        warehouse, tmp_path, CONTRACT_IMPORT.replace("[2, 3]", "[2, 9]").replace("channel_id: 3", "channel_id: 8")
    )
    assert "stock.warehouse_ids[1]: unknown Brightpearl warehouse id 9" in message
    assert "import.channel_id: unknown Brightpearl channel id 8" in message


def test_an_unsynced_warehouse_says_what_to_materialize(tmp_path: Path) -> None:
    empty = DuckDBWarehouse(tmp_path / "empty.duckdb")
    sync_file = load_sync_file(write(tmp_path, CONTRACT_PUSH))
    with empty.connect() as conn, pytest.raises(SyncFileError) as info:
        resolve(sync_file, conn)
    message = str(info.value)
    assert "brightpearl.order_statuses is empty; materialize the order_statuses asset first" in message
    assert "brightpearl.shipping_methods is empty; materialize the shipping_methods asset first" in message
    tagged = load_sync_file(write(tmp_path, "accounts: {enabled: true, who: {tag: VIP}}\n"))
    with empty.connect() as conn, pytest.raises(SyncFileError) as info:
        resolve(tagged, conn)
    assert "accounts.who.tag: cannot check Brightpearl contact tag 'VIP': brightpearl.contact_tags is empty; " in str(
        info.value
    ) and "materialize the contact_tags asset first" in str(info.value)


def test_push_lookback_is_an_iso_duration_used_only_without_push_from() -> None:
    from datetime import timedelta

    from bp_pipelines.lib.sync_file import parse_sync_file

    assert parse_sync_file({"push_lookback": "P7D"}).push_from_lookback == timedelta(days=7)
    both = parse_sync_file({"push_from": "2025-09-01T00:00:00Z", "push_lookback": "P7D"})
    assert both.push_from_lookback is None  # an explicit push_from wins
    with pytest.raises(Exception, match="push_lookback"):
        parse_sync_file({"push_lookback": "a week"})


def test_reconcile_ignore_skus_loads_trimmed_and_refuses_empty_or_repeated_entries(tmp_path: Path) -> None:
    loaded = load_sync_file(write(tmp_path, 'reconcile:\n  ignore_skus: [" SAMPLE-PACK ", GIFT-1]\n'))
    assert loaded.reconcile.ignore_skus == ["SAMPLE-PACK", "GIFT-1"]
    assert load_sync_file(write(tmp_path, "storefront: {enabled: false}\n")).reconcile.ignore_skus == []
    twice = load_error(tmp_path, "reconcile:\n  ignore_skus: [SAMPLE-PACK, ' sample-pack']\n")
    assert "reconcile.ignore_skus: ' sample-pack' is listed twice" in twice and "valid values: a list of SKUs" in twice
    empty = load_error(tmp_path, "reconcile:\n  ignore_skus: ['  ']\n")
    assert "reconcile.ignore_skus: entry 0 is empty" in empty
    unknown = load_error(tmp_path, "reconcile:\n  skus: [A]\n")
    assert "reconcile.skus: unknown key 'skus' in reconcile; allowed keys: ignore_skus" in unknown
