"""Private-app authentication, the 200-per-rolling-window cap (scaled) and per-endpoint request counting."""

from __future__ import annotations

import time
from typing import Any

import httpx

NOT_AUTHENTICATED = {"response": "Not authenticated. You must provide a valid authentication token."}
THROTTLED = {"response": "You have sent too many requests. Please wait before sending another request"}


def _assert_throttle_headers(resp: httpx.Response) -> tuple[int, int]:
    assert resp.headers["content-type"] == "application/json;charset=UTF-8"
    return int(resp.headers["brightpearl-requests-remaining"]), int(resp.headers["brightpearl-next-throttle-period"])


def test_missing_or_wrong_credentials_give_401_with_throttle_headers(sandbox: Any) -> None:
    url = f"{sandbox.brightpearl_api}/order-service/order/1"
    good = sandbox.bp_headers()
    cases = [
        {},
        {**good, "brightpearl-account-token": "wrong"},
        {"brightpearl-app-ref": "sandbox_other", "brightpearl-account-token": good["brightpearl-account-token"]},
        {"brightpearl-app-ref": good["brightpearl-app-ref"]},
    ]
    for headers in cases:
        resp = httpx.get(url, headers=headers)
        assert resp.status_code == 401, headers
        assert resp.json() == NOT_AUTHENTICATED
        assert resp.headers["message-type"] == "api-proxy"
        remaining, next_ms = _assert_throttle_headers(resp)
        assert 0 <= remaining <= 199 and next_ms > 0
    other_account = httpx.get(
        f"{sandbox.brightpearl_base_url}/public-api/elsewhere/order-service/order/1", headers=good
    )
    assert other_account.status_code == 401
    assert httpx.get(url, headers=good).status_code == 200


def test_rate_limit_503_past_200_requests_then_recovers(fresh_sandbox: Any) -> None:
    sbx = fresh_sandbox(seed=3, orders=300, rate_window_scale=0.5)  # 30 s window: no expiry during the burst
    remaining_seen = []
    with httpx.Client(headers=sbx.bp_headers()) as client:
        url = f"{sbx.brightpearl_api}/order-service/order-status"
        for _ in range(200):
            resp = client.get(url)
            assert resp.status_code == 200
            remaining_seen.append(_assert_throttle_headers(resp)[0])
        assert remaining_seen[0] == 199 and remaining_seen[-1] == 0
        assert remaining_seen == sorted(remaining_seen, reverse=True)
        blocked = client.get(url)
        assert blocked.status_code == 503
        assert blocked.json() == THROTTLED
        remaining, next_ms = _assert_throttle_headers(blocked)
        assert remaining == 0 and 0 < next_ms <= 30_000
        assert client.get(f"{sbx.brightpearl_api}/order-service/order/1").status_code == 503  # per account
        sbx.set_rate_limit(window_scale=0.001)  # 60 ms window: the burst expires
        time.sleep(0.1)
        assert client.get(url).status_code == 200
        sbx.set_rate_limit(window_scale=0.5, enabled=False)  # unlimited: no 503, headers show a full budget
        unlimited = [client.get(url) for _ in range(220)]
        assert all(r.status_code == 200 for r in unlimited)
        assert {_assert_throttle_headers(r) for r in unlimited} == {(199, 30_000)}
    counts = sbx.request_counts()
    assert counts["brightpearl GET order-service/order-status"] == 200 + 1 + 1 + 220
    assert counts["brightpearl GET order-service/order/{ids}"] == 1


def test_requests_are_counted_per_endpoint_key(fresh_sandbox: Any) -> None:
    sbx = fresh_sandbox(seed=3, orders=300)
    sbx.reset_request_counts()
    for _ in range(3):
        sbx.bp_get("order-service/order-search", pageSize=1)
    sbx.bp_get("order-service/order/1-5")
    sbx.bp_get("order-service/order/7")
    sbx.bp_get("warehouse-service/order/*/goods-note/goods-out/1")
    sbx.bp_get("contact-service/contact/")
    httpx.get(f"{sbx.brightpearl_api}/product-service/product/1000")  # 401s are counted too
    assert sbx.request_counts() == {
        "brightpearl GET order-service/order-search": 3,
        "brightpearl GET order-service/order/{ids}": 2,
        "brightpearl GET warehouse-service/order/{ids}/goods-note/goods-out/{ids}": 1,
        "brightpearl GET contact-service/contact": 1,
        "brightpearl GET product-service/product/{ids}": 1,
    }
    sbx.reset_request_counts()
    assert sbx.request_counts() == {}
