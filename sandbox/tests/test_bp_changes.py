"""Clock control and the change simulator (`POST /_sandbox/changes`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest


def _ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


@pytest.fixture(scope="module")
def run(module_sandbox: Any) -> tuple[Any, int, int, dict[str, list[int]]]:
    sbx = module_sandbox(seed=8, orders=900)
    before = sbx.clock_ms()
    after = sbx.advance_clock(3600)
    changes = sbx.apply_changes()
    return sbx, before, after, changes


def test_clock_advances_and_never_goes_back(module_sandbox: Any) -> None:
    sbx = module_sandbox(seed=8, orders=900)
    start = sbx.control("GET", "clock")
    assert start["clock"].endswith("Z") and start["clock_ms"] > 0
    assert sbx.advance_clock(1.5) == start["clock_ms"] + 1500
    assert httpx.post(f"{sbx.control_url}/clock/advance", json={"seconds": -1}).status_code == 400


def test_changes_report_every_kind(run: Any) -> None:
    _, _, _, changes = run
    for kind in (
        "orders_created",
        "storefront_orders_created",
        "storefront_only_orders",
        "status_changes",
        "goods_out_created",
        "goods_out_shipped",
        "product_edits",
        "contact_edits",
        "contacts_created",
        "stock_changes",
        "order_deletions",
        "contact_deletions",
        "silent_edits",
    ):
        assert changes[kind], kind
    assert len(changes["storefront_orders_created"]) == len(changes["storefront_orders_created_bc"])


def test_changed_records_fall_inside_an_updated_on_window(run: Any) -> None:
    sbx, before, after, changes = run
    since = datetime.fromtimestamp((before + 1) / 1000, UTC).isoformat(timespec="milliseconds")
    window = sbx.bp_get("order-service/order-search", updatedOn=f"{since}/", columns="orderId,updatedOn").json()[
        "response"
    ]
    ids = {r[0] for r in window["results"]}
    deleted = set(changes["order_deletions"])
    for kind in ("orders_created", "storefront_orders_created", "status_changes"):
        assert set(changes[kind]) - deleted <= ids, kind
    assert all(before < _ms(r[1]) <= after for r in window["results"])
    silent = set(changes["silent_edits"]) - ids
    for order_id in silent:  # edited, but invisible to an updatedOn filter
        doc = sbx.bp_get(f"order-service/order/{order_id}").json()["response"][0]
        assert doc["reference"].startswith("EDIT-") and _ms(doc["updatedOn"]) <= before


def test_deletions_vanish_from_the_api(run: Any) -> None:
    sbx, _, _, changes = run
    for order_id in changes["order_deletions"]:
        assert sbx.bp_get(f"order-service/order/{order_id}").json() == {"response": []}
    for contact_id in changes["contact_deletions"]:
        assert sbx.bp_get(f"contact-service/contact/{contact_id}").status_code == 404


def test_new_storefront_orders_exist_on_both_sides(run: Any) -> None:
    sbx, _, _, changes = run
    client = httpx.Client(
        base_url=f"{sbx.bigcommerce_base_url}/stores/{sbx.bigcommerce_store_hash}/v2", headers=sbx.bc_headers()
    )
    deleted = set(changes["order_deletions"])
    pairs = zip(changes["storefront_orders_created"], changes["storefront_orders_created_bc"], strict=True)
    for order_id, bc_id in pairs:
        bc_lines = client.get(f"/orders/{bc_id}/products").json()
        assert client.get(f"/orders/{bc_id}").status_code == 200
        if order_id in deleted:
            continue
        order = sbx.bp_get(f"order-service/order/{order_id}").json()["response"][0]
        assert order["externalRef"] == str(bc_id)
        top = [r for r in order["orderRows"].values() if not r["composition"]["bundleChild"] and "productSku" in r]
        assert sorted((r["productSku"], r["quantity"]["magnitude"], r["productPrice"]["value"]) for r in top) == sorted(
            (ln["sku"], f"{ln['quantity']}.0000", ln["price_ex_tax"]) for ln in bc_lines
        )
    for bc_id in changes["storefront_only_orders"]:
        assert client.get(f"/orders/{bc_id}").status_code == 200
        found = sbx.bp_get("order-service/order-search", externalRef=str(bc_id)).json()["response"]
        assert found["results"] == []


def test_goods_out_changes(run: Any) -> None:
    sbx, before, after, changes = run
    notes = "warehouse-service/order/*/goods-note/goods-out/"
    created = sbx.bp_get(notes + ",".join(map(str, changes["goods_out_created"]))).json()["response"]
    assert set(map(int, created)) == set(changes["goods_out_created"])
    assert all(before < _ms(n["createdOn"]) <= after for n in created.values())
    shipped = sbx.bp_get(notes + ",".join(map(str, changes["goods_out_shipped"]))).json()["response"]
    assert all(n["status"]["shipped"] and before < _ms(n["status"]["shippedOn"]) <= after for n in shipped.values())
    assert any(n["shipping"]["reference"] for n in shipped.values())


def test_product_and_contact_edits_bump_updated_on(run: Any) -> None:
    sbx, before, _, changes = run
    products = sbx.bp_get("product-service/product/" + ",".join(map(str, changes["product_edits"]))).json()
    assert all(_ms(p["updatedOn"]) > before for p in products["response"])
    contacts = set(changes["contact_edits"]) - set(changes["contact_deletions"])
    docs = sbx.bp_get("contact-service/contact/" + ",".join(map(str, contacts))).json()["response"]
    assert all(_ms(c["updatedOn"]) > before for c in docs)


def test_changes_are_deterministic_per_seed_and_call(fresh_sandbox: Any) -> None:
    results = []
    for _ in range(2):
        sbx = fresh_sandbox(seed=13, orders=300)
        sbx.advance_clock(600)
        first = sbx.apply_changes(orders_created=3, status_changes=2, goods_out_shipped=2)
        second = sbx.apply_changes(orders_created=3)
        body = sbx.bp_get("order-service/order/" + ",".join(map(str, first["orders_created"]))).content
        results.append((first, second, body))
    assert results[0] == results[1]
    assert results[0][0] != results[0][1]  # the call number changes the outcome


def test_changes_reject_unknown_kinds(run: Any) -> None:
    sbx = run[0]
    assert httpx.post(f"{sbx.control_url}/changes", json={"counts": {"meteor_strikes": 1}}).status_code == 400


def test_storefront_sku_renames_are_injected_only_on_request(run: Any) -> None:
    sbx, _, _, changes = run
    assert changes["storefront_sku_renames"] == []  # not in the default changes: the default world stays consistent
    before = sbx.clock_ms()
    sbx.advance_clock(60)
    renamed = sbx.apply_only(storefront_sku_renames=2)["storefront_sku_renames"]
    assert len(renamed) == 2
    base = f"{sbx.bigcommerce_base_url}/stores/{sbx.bigcommerce_store_hash}/v3/catalog"
    variants = httpx.get(
        f"{base}/variants", params={"id:in": ",".join(map(str, renamed))}, headers=sbx.bc_headers()
    ).json()["data"]
    assert len(variants) == 2 and all(v["sku"].endswith("-WEB") for v in variants)
    for v in variants:  # the storefront's product shows the edit; Brightpearl still has the old SKU
        product = httpx.get(f"{base}/products/{v['product_id']}", headers=sbx.bc_headers()).json()["data"]
        assert _ms(product["date_modified"].replace("Z", "+00:00")) > before
        old = v["sku"].removesuffix("-WEB")
        found = sbx.bp_get("product-service/product-search", SKU=old, columns="productId,SKU").json()["response"]
        assert [r[1] for r in found["results"]] == [old]
