"""ID-set syntax, per-resource limits, missing-id behaviour and OPTIONS getUris."""

from __future__ import annotations

from typing import Any

import pytest

from bp_sandbox.brightpearl.idsets import IdSetError, count_ids, parse_id_set, to_id_set


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("8", [(8, 8)]),
        ("1-200", [(1, 200)]),
        ("1,5,7", [(1, 1), (5, 5), (7, 7)]),
        ("1-50,55,56,75-82,120", [(1, 50), (55, 56), (75, 82), (120, 120)]),
        ("9,3,4-6", [(3, 6), (9, 9)]),
    ],
)
def test_parse_id_set(text: str, ranges: list[tuple[int, int]]) -> None:
    assert parse_id_set(text) == ranges


@pytest.mark.parametrize("text", ["5-1", "a", "1,,2", "1-", "-3", "1-2-3", ""])
def test_bad_id_sets_are_rejected(text: str) -> None:
    with pytest.raises(IdSetError):
        parse_id_set(text)


def test_to_id_set_and_count() -> None:
    assert to_id_set([7, 1, 2, 3, 10, 9]) == "1-3,7,9-10"
    assert count_ids(parse_id_set("1-200,300")) == 201


def _ids(resp: Any, key: str = "id") -> list[int]:
    return [doc[key] for doc in resp.json()["response"]]


def _existing_order_ids(sandbox: Any) -> list[int]:
    body = sandbox.bp_get("order-service/order-search", columns="orderId").json()
    return [r[0] for r in body["response"]["results"]]


def test_order_get_by_ranges_lists_and_mixtures(sandbox: Any) -> None:
    existing = set(_existing_order_ids(sandbox))
    resp = sandbox.bp_get("order-service/order/1-3,5,9-10")
    assert resp.status_code == 200
    assert _ids(resp) == sorted({1, 2, 3, 5, 9, 10} & existing)
    assert _ids(sandbox.bp_get("order-service/order/10,2,7")) == sorted({2, 7, 10} & existing)


def test_order_get_limits_and_errors(sandbox: Any) -> None:
    assert len(_ids(sandbox.bp_get("order-service/order/1-200"))) > 150
    too_many = sandbox.bp_get("order-service/order/1-201")
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["code"] == "CMNC-400" and "201" in too_many.json()["errors"][0]["message"]
    assert sandbox.bp_get("order-service/order/1-150,300-350").status_code == 400  # 201 ids across parts
    assert sandbox.bp_get("order-service/order/10-2").status_code == 400  # descending range
    assert sandbox.bp_get("order-service/order/abc").status_code == 400


def test_missing_orders_answer_200_empty_as_recorded(sandbox: Any) -> None:
    resp = sandbox.bp_get("order-service/order/999999")
    assert (resp.status_code, resp.text) == (200, '{"response":[]}')


def test_products_limit_and_missing(sandbox: Any) -> None:
    assert sandbox.bp_get("product-service/product/1000-1201").status_code == 400
    found = sandbox.bp_get("product-service/product/1000-1199")
    assert found.status_code == 200 and len(_ids(found)) == 200
    partial = sandbox.bp_get("product-service/product/1000,999999")
    assert _ids(partial) == [1000]
    missing = sandbox.bp_get("product-service/product/999998,999999")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "PRDC-404"


def test_contacts_missing_is_recorded_404(sandbox: Any) -> None:
    resp = sandbox.bp_get("contact-service/contact/1")
    assert resp.status_code == 404
    assert resp.json() == {"errors": [{"code": "CMNC-404", "message": "No Contact Found"}]}


def test_contacts_over_200_ids_are_paged(module_sandbox: Any) -> None:
    sandbox = module_sandbox(seed=11, orders=1200)  # 240 contacts
    first = sandbox.bp_get("contact-service/contact/200-450").json()
    assert len(first["response"]) == 200
    assert first["pagination"] == {
        "morePagesAvailable": True,
        "resultsReturned": 200,
        "firstResult": 1,
        "lastResult": 200,
    }
    ids = [c["contactId"] for c in first["response"]]
    assert ids == sorted(ids)
    rest = sandbox.bp_get("contact-service/contact/200-450", firstResult=201).json()
    assert rest["pagination"]["morePagesAvailable"] is False
    assert set(ids).isdisjoint(c["contactId"] for c in rest["response"])
    unset = sandbox.bp_get("contact-service/contact/", sort="contactId.DESC", pageSize=5).json()
    assert [c["contactId"] for c in unset["response"]] == sorted(
        (c["contactId"] for c in unset["response"]), reverse=True
    )
    assert unset["sorting"] == [{"field": "contactId", "direction": "DESC"}]


def test_goods_out_sets_and_limit(sandbox: Any) -> None:
    notes = sandbox.bp_get(
        "warehouse-service/goods-note/goods-out-search", columns="goodsOutNoteId,orderId", pageSize=5
    ).json()["response"]["results"]
    note_id, order_id = notes[0]
    by_order = sandbox.bp_get(f"warehouse-service/order/{order_id}/goods-note/goods-out/").json()["response"]
    assert str(note_id) in by_order and all(n["orderId"] == order_id for n in by_order.values())
    by_note = sandbox.bp_get(f"warehouse-service/order/*/goods-note/goods-out/{note_id}").json()["response"]
    assert list(by_note) == [str(note_id)]
    both = [n[0] for n in notes]
    listed = sandbox.bp_get(f"warehouse-service/order/*/goods-note/goods-out/{to_id_set(both)}").json()["response"]
    assert sorted(map(int, listed)) == sorted(both)
    assert sandbox.bp_get("warehouse-service/order/*/goods-note/goods-out/1-500").status_code == 200
    assert sandbox.bp_get("warehouse-service/order/*/goods-note/goods-out/1-501").status_code == 400
    empty = sandbox.bp_get("warehouse-service/order/*/goods-note/goods-out/999999")
    assert (empty.status_code, empty.json()) == (200, {"response": {}})


def test_options_returns_chunked_get_uris_without_missing_ids(sandbox: Any) -> None:
    resp = sandbox._client.request(
        "OPTIONS", f"{sandbox.brightpearl_api}/order-service/order/1-400,999999", headers=sandbox.bp_headers()
    )
    assert resp.status_code == 200 and resp.headers["message-type"] == "options-order"
    uris = resp.json()["response"]["getUris"]
    existing = [i for i in _existing_order_ids(sandbox) if i <= 400]
    listed = [i for uri in uris for i in _expand(uri.removeprefix("/order/"))]
    assert listed == existing and all(count_ids(parse_id_set(u.split("/")[-1])) <= 200 for u in uris)
    none = sandbox._client.request(
        "OPTIONS", f"{sandbox.brightpearl_api}/product-service/product/1-100", headers=sandbox.bp_headers()
    )
    assert none.json() == {"response": {"getUris": []}}  # as recorded for ids that do not exist


def _expand(text: str) -> list[int]:
    return [i for low, high in parse_id_set(text) for i in range(low, high + 1)]


def test_availability_rejects_the_whole_set_for_one_bad_id(sandbox: Any) -> None:
    ok = sandbox.bp_get("warehouse-service/product-availability/1000-1010").json()["response"]
    assert sorted(map(int, ok)) == list(range(1000, 1011))
    bad = sandbox.bp_get("warehouse-service/product-availability/1000,999999")
    assert bad.status_code == 400 and "999999" in bad.json()["errors"][0]["message"]
