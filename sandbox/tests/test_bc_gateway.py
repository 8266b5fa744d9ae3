"""Auth, store hash, Accept, rate limiting, injected faults and request counting on the BigCommerce emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bc_helpers import BC, STORE_HASH, TOKEN, Server, loopback_server
from bp_sandbox.state import Fault

RATE_HEADERS = (
    "X-Rate-Limit-Time-Window-Ms",
    "X-Rate-Limit-Time-Reset-Ms",
    "X-Rate-Limit-Requests-Quota",
    "X-Rate-Limit-Requests-Left",
)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with loopback_server() as running:
        yield running


@pytest.fixture()
def bc(server: Server, tmp_path: Path) -> Iterator[BC]:
    with server.emulator(tmp_path / "world.db") as emulator:
        yield emulator


def test_missing_or_wrong_token_is_401_in_the_version_style(bc: BC) -> None:
    with bc.raw() as raw:
        v2 = raw.get(f"/stores/{STORE_HASH}/v2/orders")
        v3 = raw.get(f"/stores/{STORE_HASH}/v3/catalog/products", headers={"X-Auth-Token": "nope"})
    assert v2.status_code == 401 and v2.json()[0]["status"] == 401
    assert v3.status_code == 401 and v3.json()["status"] == 401 and "title" in v3.json()
    assert all(h in v2.headers for h in RATE_HEADERS)


def test_unknown_store_hash_is_404(bc: BC) -> None:
    with bc.raw() as raw:
        r = raw.get("/stores/otherstore/v2/orders", headers={"X-Auth-Token": TOKEN})
    assert r.status_code == 404 and r.json() == [{"status": 404, "message": "The requested resource was not found."}]


def test_default_credentials_when_meta_is_unset(tmp_path: Path) -> None:
    from bp_sandbox.bigcommerce.gateway import DEFAULT_ACCESS_TOKEN, DEFAULT_STORE_HASH, credentials
    from bp_sandbox.state import Store

    store = Store(tmp_path / "empty.db")
    assert credentials(store) == (DEFAULT_STORE_HASH, DEFAULT_ACCESS_TOKEN) == ("sandboxstore", DEFAULT_ACCESS_TOKEN)
    store.close()


def test_accept_is_lenient_when_absent_but_406_when_json_is_excluded(bc: BC) -> None:
    with bc.raw() as raw:
        url, auth = f"/stores/{STORE_HASH}/v2/order_statuses", {"X-Auth-Token": TOKEN}
        assert raw.get(url, headers=auth).status_code == 200  # httpx sends Accept: */*
        assert raw.get(url, headers={**auth, "Accept": ""}).status_code == 200
        assert raw.get(url, headers={**auth, "Accept": "application/json; charset=utf-8"}).status_code == 200
        assert raw.get(url, headers={**auth, "Accept": "application/xml"}).status_code == 406


def test_unknown_path_and_wrong_method(bc: BC) -> None:
    r = bc.client.get("v3/nothing/here")
    assert r.status_code == 404 and r.json()["status"] == 404
    r = bc.client.post("v2/orders", json={})
    assert r.status_code == 405 and r.json()[0]["status"] == 405


def test_rate_limit_headers_and_429_past_the_quota_in_a_scaled_window(bc: BC) -> None:
    bc.store.rate_window_scale = 0.05  # 30 s -> 1.5 s
    first = bc.client.get("v2/order_statuses")
    assert first.headers["X-Rate-Limit-Requests-Quota"] == "150"
    assert first.headers["X-Rate-Limit-Time-Window-Ms"] == "1500"
    assert first.headers["X-Rate-Limit-Requests-Left"] == "149"
    assert 0 < int(first.headers["X-Rate-Limit-Time-Reset-Ms"]) <= 1500
    started = time.monotonic()
    lefts = [int(bc.client.get("v2/order_statuses").headers["X-Rate-Limit-Requests-Left"]) for _ in range(149)]
    assert time.monotonic() - started < 1.4, "too slow to fill the window"
    assert lefts[-1] == 0
    throttled = bc.client.get("v2/order_statuses")
    assert throttled.status_code == 429
    assert throttled.headers["X-Rate-Limit-Requests-Left"] == "0"
    reset_ms = int(throttled.headers["X-Rate-Limit-Time-Reset-Ms"])
    assert 0 <= reset_ms <= 1500 and int(throttled.headers["X-Retry-After"]) >= 1
    time.sleep(reset_ms / 1000 + 0.05)
    again = bc.client.get("v2/order_statuses")
    assert again.status_code == 200 and again.headers["X-Rate-Limit-Requests-Left"] == "149"


def test_rate_limit_disabled_still_sends_headers(bc: BC) -> None:
    bc.store.rate_limits_enabled = False
    for _ in range(160):
        r = bc.client.get("v2/order_statuses/1")
        assert r.status_code == 200
    assert r.headers["X-Rate-Limit-Requests-Left"] == "150"


def test_status_fault_in_v2_and_v3_style(bc: BC) -> None:
    bc.store.faults.add(Fault(api="bigcommerce", kind="status", status=503, path=r"^v2/orders$", count=1))
    r = bc.client.get("v2/orders")
    assert r.status_code == 503 and r.json()[0]["status"] == 503
    assert bc.client.get("v2/orders").status_code == 200  # count=1: consumed
    bc.store.faults.add(Fault(api="bigcommerce", kind="status", status=500, path="catalog", method="GET"))
    r = bc.client.get("v3/catalog/products")
    assert r.status_code == 500 and r.json()["status"] == 500


def test_malformed_fault_is_200_with_invalid_json(bc: BC) -> None:
    bc.store.faults.add(Fault(api="bigcommerce", kind="malformed", path="v3/customers"))
    r = bc.client.get("v3/customers")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_throttle_fault_is_429_with_reset_headers(bc: BC) -> None:
    bc.store.faults.add(Fault(api="bigcommerce", kind="throttle", path="order_statuses"))
    r = bc.client.get("v2/order_statuses")
    assert r.status_code == 429
    assert r.headers["X-Rate-Limit-Requests-Left"] == "0" and "X-Retry-After" in r.headers
    assert all(h in r.headers for h in RATE_HEADERS)
    assert bc.client.get("v2/order_statuses").status_code == 200


def test_timeout_fault_stalls_then_still_applies_the_write(bc: BC) -> None:
    bc.store.faults.add(Fault(api="bigcommerce", kind="timeout", path=r"shipments$", method="POST", delay_s=0.6))
    body = {"order_address_id": 1001, "items": [{"order_product_id": 5001, "quantity": 1}]}
    with pytest.raises(httpx.ReadTimeout):
        bc.client.post("v2/orders/1/shipments", json=body, timeout=0.2)
    time.sleep(0.6)
    assert bc.client.get("v2/orders/1/shipments/count").json() == {"count": 1}  # lost response, applied write


def test_requests_are_counted_with_templated_ids_and_state_endpoints_are_not(bc: BC) -> None:
    bc.store.requests.reset()
    bc.client.get("v2/orders/1/shipments")
    bc.client.get("v2/orders/2/shipments")
    bc.client.get("v2/orders/1/shipments/7")
    bc.client.get("v3/catalog/products/101/variants")
    with bc.raw() as raw:
        raw.get(f"/stores/{STORE_HASH}/v2/orders")  # 401s count too
    assert bc.state("orders/1").status_code == 200
    assert bc.store.requests.snapshot() == {
        "bigcommerce GET v2/orders/{id}/shipments": 2,
        "bigcommerce GET v2/orders/{id}/shipments/{id}": 1,
        "bigcommerce GET v3/catalog/products/{id}/variants": 1,
        "bigcommerce GET v2/orders": 1,
    }
