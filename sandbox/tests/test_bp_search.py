"""Resource search contract: paging edges, PERIOD filters, columns, sorting, errors, reference blocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

ORDERS = "order-service/order-search"


@pytest.fixture(scope="module")
def sbx(module_sandbox: Any) -> Any:
    """1,200 orders: enough rows for the 500/501 paging edges (read-only use)."""
    return module_sandbox(seed=11, orders=1200)


def _search(sbx: Any, path: str = ORDERS, **params: Any) -> dict[str, Any]:
    resp = sbx.bp_get(path, **params)
    assert resp.status_code == 200, resp.text
    return resp.json()["response"]


def _all_ids(sbx: Any) -> list[int]:
    ids, first = [], 1
    while True:
        page = _search(sbx, columns="orderId", firstResult=first)
        ids += [row[0] for row in page["results"]]
        if not page["metaData"]["morePagesAvailable"]:
            return ids
        first = page["metaData"]["lastResult"] + 1


def test_exactly_500_matching_rows_is_one_full_page(sbx: Any) -> None:
    ids = _all_ids(sbx)
    assert ids == sorted(ids) and len(ids) == len(set(ids)) > 1000  # default sort: orderId ASC
    page = _search(sbx, orderId=f"1-{ids[499]}")
    meta = page["metaData"]
    assert (meta["resultsAvailable"], meta["resultsReturned"], meta["firstResult"], meta["lastResult"]) == (
        500,
        500,
        1,
        500,
    )
    assert meta["morePagesAvailable"] is False
    assert [r[0] for r in page["results"]] == ids[:500]


def test_501_matching_rows_need_a_second_page(sbx: Any) -> None:
    ids = _all_ids(sbx)
    first = _search(sbx, orderId=f"1-{ids[500]}")["metaData"]
    assert (first["resultsAvailable"], first["resultsReturned"], first["morePagesAvailable"]) == (501, 500, True)
    second = _search(sbx, orderId=f"1-{ids[500]}", firstResult=first["lastResult"] + 1)
    assert [r[0] for r in second["results"]] == [ids[500]]
    assert (second["metaData"]["firstResult"], second["metaData"]["lastResult"]) == (501, 501)
    assert second["metaData"]["morePagesAvailable"] is False


def test_page_size_is_capped_at_500_and_past_the_end_is_empty(sbx: Any) -> None:
    meta = _search(sbx, pageSize=2000)["metaData"]
    assert meta["resultsReturned"] == 500 and meta["resultsAvailable"] > 500
    total = meta["resultsAvailable"]
    beyond = _search(sbx, firstResult=total + 1)
    assert beyond["results"] == []
    assert (beyond["metaData"]["firstResult"], beyond["metaData"]["lastResult"]) == (0, 0)
    assert beyond["metaData"]["morePagesAvailable"] is False
    assert sbx.bp_get(ORDERS, pageSize=0).status_code == 400
    assert sbx.bp_get(ORDERS, firstResult="x").status_code == 400


def test_period_bounds_are_inclusive_on_both_sides(sbx: Any) -> None:
    row = _search(sbx, columns="orderId,updatedOn", firstResult=300, pageSize=1)["results"][0]
    order_id, stamp = row
    total = _search(sbx, pageSize=1)["metaData"]["resultsAvailable"]
    exact = _search(sbx, updatedOn=stamp, columns="orderId")
    assert order_id in [r[0] for r in exact["results"]]
    n_exact = exact["metaData"]["resultsAvailable"]
    from_side = _search(sbx, updatedOn=f"{stamp}/", pageSize=1)["metaData"]["resultsAvailable"]
    to_side = _search(sbx, updatedOn=f"/{stamp}", pageSize=1)["metaData"]["resultsAvailable"]
    assert from_side + to_side == total + n_exact  # the boundary row is counted by both open ranges
    both = _search(sbx, updatedOn=f"{stamp}/{stamp}", columns="orderId")["results"]
    assert order_id in [r[0] for r in both]


@pytest.mark.parametrize(
    "bound",
    [
        "2025-03-01T00:00:00.000Z",
        "2025-03-01T00:00:00Z",
        "2025-03-01T00:00:00",
        "2025-03-01",
        "2025-02-28T18:00:00-06:00",
        "2025-03-01T01:00:00.000+01:00",
        "2025-03-01T06:00:00 06:00",
    ],
)
def test_period_input_forms_are_equivalent(sbx: Any, bound: str) -> None:
    reference = _search(sbx, createdOn="2025-03-01T00:00:00Z/", pageSize=1)["metaData"]["resultsAvailable"]
    assert 0 < reference < 1200
    assert _search(sbx, createdOn=f"{bound}/", pageSize=1)["metaData"]["resultsAvailable"] == reference


def test_open_and_closed_ranges_partition(sbx: Any) -> None:
    total = _search(sbx, pageSize=1)["metaData"]["resultsAvailable"]
    window = _search(sbx, createdOn="2025-01-01/2025-06-30T23:59:59.999Z", pageSize=1)["metaData"]
    before = _search(sbx, createdOn="/2024-12-31T23:59:59.999Z", pageSize=1)["metaData"]
    after = _search(sbx, createdOn="2025-07-01/", pageSize=1)["metaData"]
    assert window["resultsAvailable"] + before["resultsAvailable"] + after["resultsAvailable"] == total


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"orderStatusId": "BAD PARAM"}, "The filter orderStatusId=BAD PARAM cannot be parsed as: INTEGER"),
        ({"orderId": "BAD PARAM"}, "The filter orderId=BAD PARAM cannot be parsed as: IDSET"),
        ({"orderId": "9-3"}, "The filter orderId=9-3 cannot be parsed as: IDSET"),
        ({"contactId": "200/"}, "The filter contactId=200/ cannot be parsed as: INTEGER"),
        ({"updatedOn": "yesterday/"}, "The filter updatedOn=yesterday/ cannot be parsed as: PERIOD"),
    ],
)
def test_unparsable_filter_values_give_recorded_cmnc_018(sbx: Any, params: dict[str, str], expected: str) -> None:
    resp = sbx.bp_get(ORDERS, **params)
    assert resp.status_code == 500
    assert resp.json() == {"errors": [{"code": "CMNC-018", "message": expected}]}


def test_product_bad_param_matches_recording(sbx: Any) -> None:
    resp = sbx.bp_get("product-service/product-search", productId="BAD PARAM")
    assert (resp.status_code, resp.json()) == (
        500,
        {"errors": [{"code": "CMNC-018", "message": "The filter productId=BAD PARAM cannot be parsed as: IDSET"}]},
    )


def test_unknown_filter_column_or_sort_is_a_400(sbx: Any) -> None:
    for params in (
        {"notAColumn": "1"},
        {"columns": "orderId,nope"},
        {"sort": "nope.ASC"},
        {"sort": "orderId.SIDEWAYS"},
    ):
        resp = sbx.bp_get(ORDERS, **params)
        assert resp.status_code == 400, params
        assert resp.json()["errors"][0]["code"] == "CMNC-400"
    resp = sbx.bp_get("contact-service/contact-search", sort="isSupplier.ASC")  # not sortable (recorded flag)
    assert resp.status_code == 400


def test_columns_selects_and_orders_cells(sbx: Any) -> None:
    page = _search(sbx, columns="updatedOn,orderId", pageSize=3)
    assert [c["name"] for c in page["metaData"]["columns"]] == ["updatedOn", "orderId"]
    assert all(len(r) == 2 and isinstance(r[1], int) and r[0][-6:] in ("-05:00", "-06:00") for r in page["results"])


def test_sort_desc_and_pipe_form(sbx: Any) -> None:
    page = _search(sbx, columns="orderId,updatedOn", sort="updatedOn.DESC", pageSize=200)
    stamps = [r[1] for r in page["results"]]
    ms = [int(datetime.fromisoformat(s).timestamp() * 1000) for s in stamps]
    assert ms == sorted(ms, reverse=True)
    assert page["metaData"]["sorting"][0]["direction"] == "DESC"
    assert page["metaData"]["sorting"][0]["filterable"]["name"] == "updatedOn"
    pipe = _search(sbx, columns="orderId,updatedOn", sort="updatedOn|DESC", pageSize=200)
    assert pipe["results"] == page["results"]


def test_exact_string_and_search_string_filters(sbx: Any) -> None:
    row = _search(
        sbx, "product-service/product-search", columns="productId,productName,SKU", pageSize=1, firstResult=7
    )["results"][0]
    pid, name, sku = row
    exact = _search(sbx, "product-service/product-search", SKU=sku, columns="productId")["results"]
    assert exact == [[pid]]
    assert sku != sku.lower()
    assert _search(sbx, "product-service/product-search", SKU=sku.lower())["results"] == []  # STRING: exact
    word = name.split()[-1]
    fuzzy = _search(sbx, "product-service/product-search", productName=word.upper(), columns="productId,productName")
    assert pid in [r[0] for r in fuzzy["results"]]
    assert all(word.lower() in r[1].lower() for r in fuzzy["results"])


def test_order_type_filter_and_reference_block(sbx: Any) -> None:
    body = sbx.bp_get(ORDERS, orderTypeId=2, pageSize=50).json()
    rows = body["response"]["results"]
    assert rows and all(r[1] == 2 for r in rows)
    ref = body["reference"]
    assert ref["orderTypeNames"] == {"2": "PURCHASE_ORDER"}
    statuses = {str(r[3]) for r in rows}
    assert set(ref["orderStatusNames"]) == statuses
    assert set(ref["orderStatusNames"].values()) <= {
        "Pending PO",
        "Placed with supplier",
        "Goods received",
        "Cancelled PO",
    }
    mixed = sbx.bp_get(ORDERS, orderTypeId="1-4", pageSize=500).json()
    assert set(mixed["reference"]["orderTypeNames"].values()) == {
        "SALES_ORDER",
        "PURCHASE_ORDER",
        "SALES_CREDIT",
        "PURCHASE_CREDIT",
    }


def test_product_search_category_membership(sbx: Any) -> None:
    body = sbx.bp_get("product-service/product-search", pageSize=20).json()
    members = body["reference"]["productCategoryMembership"]
    for row in body["response"]["results"]:
        assert row[12] == members[str(row[0])][0]  # brightpearlCategoryCode holds the first category
