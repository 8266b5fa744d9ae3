"""Injected faults: status, timeout, malformed, throttle and shift_rows (rows moving between pages)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

SEARCH = "order-service/order-search"


@pytest.fixture(scope="module")
def sbx(module_sandbox: Any) -> Any:
    return module_sandbox(seed=5, orders=600)


@pytest.fixture(autouse=True)
def _clear(sbx: Any) -> Iterator[None]:
    sbx.clear_faults()
    yield
    sbx.clear_faults()


def test_status_fault_uses_error_envelope_and_is_consumed(sbx: Any) -> None:
    fault = sbx.add_fault(api="brightpearl", kind="status", status=503, path="order-search", count=2)
    assert fault["id"] > 0 and fault["count"] == 2
    for _ in range(2):
        resp = sbx.bp_get(SEARCH, pageSize=1)
        assert resp.status_code == 503
        assert resp.json() == {"errors": [{"code": "CMNU-503", "message": "Internal Server Error"}]}
        assert "brightpearl-requests-remaining" in resp.headers
    assert sbx.bp_get("product-service/product-search", pageSize=1).status_code == 200  # other paths untouched
    assert sbx.bp_get(SEARCH, pageSize=1).status_code == 200
    listed = sbx.control("GET", "faults")["faults"]
    assert listed[0]["hits"] == 2 and listed[0]["count"] == 0


def test_status_fault_4xx_and_method_filter(sbx: Any) -> None:
    sbx.add_fault(api="brightpearl", kind="status", status=404, path=r"order-service/order/\d", method="GET")
    resp = sbx.bp_get("order-service/order/1")
    assert resp.status_code == 404 and resp.json()["errors"][0]["code"] == "CMNC-404"
    assert sbx.bp_get("order-service/order/1").status_code == 200


def test_timeout_fault_stalls_then_answers(sbx: Any) -> None:
    sbx.add_fault(api="brightpearl", kind="timeout", path="order-search", delay_s=1.5)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{sbx.brightpearl_api}/{SEARCH}", headers=sbx.bp_headers(), timeout=0.4)
    sbx.add_fault(api="brightpearl", kind="timeout", path="order-search", delay_s=0.5)
    started = time.monotonic()
    resp = sbx.bp_get(SEARCH, pageSize=1)
    assert resp.status_code == 200 and time.monotonic() - started >= 0.5
    assert resp.json()["response"]["results"]


def test_malformed_fault_returns_truncated_json(sbx: Any) -> None:
    sbx.add_fault(api="brightpearl", kind="malformed", path="order-service/order/")
    resp = sbx.bp_get("order-service/order/1")
    assert resp.status_code == 200 and resp.content.startswith(b'{"response":')
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content)
    assert sbx.bp_get("order-service/order/1").json()["response"][0]["id"] == 1


def test_throttle_fault_is_a_503_too_many_requests(sbx: Any) -> None:
    sbx.add_fault(api="brightpearl", kind="throttle", count=1)
    resp = sbx.bp_get("order-service/order-status")
    assert resp.status_code == 503
    assert "too many requests" in resp.json()["response"]
    assert resp.headers["brightpearl-requests-remaining"] == "0"
    assert sbx.bp_get("order-service/order-status").status_code == 200


def test_bigcommerce_faults_do_not_hit_brightpearl(sbx: Any) -> None:
    sbx.add_fault(api="bigcommerce", kind="status", status=500, count=-1)
    assert sbx.bp_get(SEARCH, pageSize=1).status_code == 200


def test_invalid_fault_definitions_are_rejected(sbx: Any) -> None:
    for body in (
        {"api": "brightpearl", "kind": "explode"},
        {"api": "nope", "kind": "status"},
        {"api": "brightpearl", "kind": "status", "colour": "red"},
    ):
        assert httpx.post(f"{sbx.control_url}/faults", json=body).status_code == 400


def _page(sbx: Any, first: int) -> list[list[Any]]:
    return sbx.bp_get(SEARCH, columns="orderId,updatedOn", sort="updatedOn.ASC", pageSize=50, firstResult=first).json()[
        "response"
    ]["results"]


def test_shift_rows_moves_a_row_between_pages(sbx: Any) -> None:
    before = [r[0] for r in _page(sbx, 1) + _page(sbx, 51)]
    sbx.add_fault(api="brightpearl", kind="shift_rows", path="order-search", count=1)
    page1 = _page(sbx, 1)  # served unchanged; its first row is edited before the next page
    page2 = _page(sbx, 51)
    assert [r[0] for r in page1] == before[:50]
    seen = [r[0] for r in page1 + page2]
    assert before[50] not in seen  # the classic offset-paging skip
    assert len(set(seen)) == 100 and seen.count(before[0]) == 1
    clock = sbx.clock_ms()
    moved = sbx.bp_get(SEARCH, orderId=before[0], columns="orderId,updatedOn").json()["response"]["results"][0]
    assert int(datetime.fromisoformat(moved[1]).timestamp() * 1000) == clock
    assert [r[0] for r in _page(sbx, 1)][:49] == before[1:50]  # it now sorts last
