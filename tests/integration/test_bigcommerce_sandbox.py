"""`BigCommerceClient` against the sandbox's BigCommerce emulator (a separate process, over HTTP only): V2 and V3
paging to the end, 204s, 404, 401, per-record validation errors, retries, ambiguous POSTs, 429s and pacing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bp_pipelines.lib.bigcommerce import (
    BigCommerceAmbiguousWrite,
    BigCommerceAuthError,
    BigCommerceClient,
    BigCommerceNotFound,
    BigCommerceUnavailable,
    BigCommerceValidationError,
    RetryPolicy,
    parse_v2_date,
    parse_v3_date,
)

FAST = RetryPolicy(max_attempts=3, max_throttle_waits=5, backoff_base_seconds=0.02, backoff_max_seconds=0.1)
WINDOW_SCALE = 0.01  # 150 requests per 0.3 s: the quota never binds unless a test shrinks the budget on purpose


@pytest.fixture(scope="module")
def sbx(module_sandbox: Callable[..., Any]) -> Any:
    """A private sandbox for this module: these tests write shipments and customers and inject faults."""
    return module_sandbox(seed=42, orders=300, rate_window_scale=WINDOW_SCALE)


@pytest.fixture(autouse=True)
def _clean(sbx: Any) -> Iterator[None]:
    sbx.reset_request_counts()
    yield
    sbx.clear_faults()
    sbx.set_rate_limit(window_scale=WINDOW_SCALE, enabled=True)


def connect(sbx: Any, *, token: str | None = None, **kwargs: Any) -> BigCommerceClient:
    return BigCommerceClient(
        sbx.bigcommerce_base_url,
        sbx.bigcommerce_store_hash,
        token or sbx.bigcommerce_access_token,
        retry=kwargs.pop("retry", FAST),
        **kwargs,
    )


def shippable_order(bc: BigCommerceClient) -> tuple[int, dict[str, Any]]:
    """An Awaiting Fulfillment order with nothing shipped, and a shipment payload for one unit of its first line."""
    order = next(o for o in bc.list_orders(status_id=11) if o["items_shipped"] == 0)
    line = bc.order_products(order["id"])[0]
    return order["id"], {
        "order_address_id": line["order_address_id"],
        "items": [{"order_product_id": line["id"], "quantity": 1}],
    }


def test_v2_orders_page_to_the_end_on_short_pages_and_on_204(sbx: Any) -> None:
    with connect(sbx) as bc:
        counts = bc.get("v2/orders/count")
        # Incomplete orders (status 0) are counted but left out of unfiltered lists.
        expected = counts["count"] - sum(s["count"] for s in counts["statuses"] if s["id"] == 0)
        paged = list(bc.paginate("v2/orders", {"sort": "id:asc"}, limit=50))
        assert len(paged) == expected > 100 and len({o["id"] for o in paged}) == expected
        assert bc.stats.requests_by_endpoint["GET v2/orders"] == -(-expected // 50)  # the last page is short
        # A limit that divides the total: the walk ends on the 204 of the page after the last full one.
        exact = list(bc.paginate("v2/orders", {"sort": "id:asc"}, limit=expected))
        assert [o["id"] for o in exact] == [o["id"] for o in paged]
        assert bc.stats.requests_by_endpoint["GET v2/orders"] == -(-expected // 50) + 2
    modified = [parse_v2_date(o["date_modified"]) for o in paged]
    assert all(m is not None and m.utcoffset().total_seconds() == 0 for m in modified)


def test_v2_date_filters_are_sent_as_rfc_2822(sbx: Any) -> None:
    with connect(sbx) as bc:
        everything = list(bc.list_orders(sort="date_modified:asc"))
        pivot = parse_v2_date(everything[len(everything) // 2]["date_modified"])
        newer = list(bc.list_orders(min_date_modified=pivot, sort="date_modified:asc"))
    assert newer and all(parse_v2_date(o["date_modified"]) >= pivot for o in newer)
    assert len(newer) == sum(1 for o in everything if parse_v2_date(o["date_modified"]) >= pivot)


def test_v3_lists_page_to_the_end(sbx: Any) -> None:
    with connect(sbx) as bc:
        first = bc.get("v3/catalog/products", {"limit": 1})
        total = first["meta"]["pagination"]["total"]
        products = list(bc.paginate("v3/catalog/products", limit=50))
        customers = list(bc.paginate("v3/customers", {"include": "addresses"}, limit=40))
        none = list(bc.paginate("v3/catalog/products", {"sku": "NO-SUCH-SKU"}))
    assert len(products) == total > 100 and len({p["id"] for p in products}) == total
    assert bc.stats.requests_by_endpoint["GET v3/catalog/products"] == 1 + -(-total // 50) + 1
    assert len(customers) > 40 and all("addresses" in c for c in customers)
    assert none == []
    assert parse_v3_date(products[0]["date_modified"]).tzinfo is not None


def test_204_is_empty_and_404_is_not_found(sbx: Any) -> None:
    with connect(sbx) as bc:
        order_id, _ = shippable_order(bc)
        assert bc.order_shipments(order_id) == []
        assert bc.get(f"v2/orders/{order_id}/coupons") is None
        assert bc.get_order(99_999_999) is None
        with pytest.raises(BigCommerceNotFound) as info:
            bc.get("v2/orders/99999999")
        order = bc.get_order(order_id)
    assert info.value.status == 404 and "GET v2/orders/99999999" in str(info.value)
    assert order is not None and order["id"] == order_id
    assert sbx.request_counts()["bigcommerce GET v2/orders/{id}/shipments"] == 1


def test_typed_helpers(sbx: Any) -> None:
    with connect(sbx) as bc:
        statuses = bc.order_statuses()
        order_id, _ = shippable_order(bc)
        lines = bc.order_products(order_id)
        addresses = bc.order_shipping_addresses(order_id)
        updated = bc.update_order_status(order_id, 9)
        restored = bc.update_order_status(order_id, 11)
    assert [s["id"] for s in statuses] == list(range(15))
    assert lines and all(line["order_id"] == order_id for line in lines)
    assert {line["order_address_id"] for line in lines} <= {a["id"] for a in addresses}
    assert updated["status_id"] == 9 and restored["status_id"] == 11


def test_wrong_token_is_an_auth_error_that_never_shows_the_token(sbx: Any, caplog: pytest.LogCaptureFixture) -> None:
    bad = "not-the-bc-Token+/="
    caplog.set_level(logging.DEBUG, logger="bp_pipelines")
    with connect(sbx, token=bad) as bc:
        with pytest.raises(BigCommerceAuthError) as info:
            bc.check_credentials()
        with pytest.raises(BigCommerceAuthError):
            bc.get("v3/catalog/products")
        assert bad not in repr(bc)
    message = str(info.value)
    assert "HTTP 401" in message and "BIGCOMMERCE_ACCESS_TOKEN" in message and bad not in message
    assert bc.stats.requests == 2 and bc.stats.retries == 0
    assert bad not in caplog.text
    with connect(sbx) as good:
        good.check_credentials()


def test_unknown_store_hash_names_the_setting(sbx: Any) -> None:
    with (
        BigCommerceClient(sbx.bigcommerce_base_url, "nosuchstore", sbx.bigcommerce_access_token) as bc,
        pytest.raises(BigCommerceAuthError, match="BIGCOMMERCE_STORE_HASH"),
    ):
        bc.check_credentials()


def test_validation_errors_are_parsed_per_record_and_not_retried(sbx: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bp_pipelines")
    token = sbx.bigcommerce_access_token
    with connect(sbx) as bc:
        taken = next(iter(bc.paginate("v3/customers", limit=1)))["email"]
        batch = [
            {"email": "new.buyer@example.com", "first_name": "New", "last_name": "Buyer"},
            {"email": taken.upper(), "first_name": "Dup", "last_name": "Licate"},
        ]
        with pytest.raises(BigCommerceValidationError) as v3:
            bc.post("v3/customers", batch)
        order_id, payload = shippable_order(bc)
        too_many = {**payload, "items": [{**payload["items"][0], "quantity": 10_000}]}
        with pytest.raises(BigCommerceValidationError) as v2:
            bc.create_shipment(order_id, too_many)
        assert bc.order_shipments(order_id) == []  # nothing written
    assert v3.value.status == 422 and v3.value.title == "Create customers failed."
    assert isinstance(v3.value.errors, dict) and "already in use" in v3.value.errors["1.email"]
    assert v3.value.body["status"] == 422 and "1.email" in str(v3.value)
    assert v2.value.status == 400 and isinstance(v2.value.errors, list)
    assert "exceeds the unshipped quantity" in v2.value.title and v2.value.errors[0]["status"] == 400
    counts = sbx.request_counts()
    assert counts["bigcommerce POST v3/customers"] == 1 and counts["bigcommerce POST v2/orders/{id}/shipments"] == 1
    assert bc.stats.retries == 0
    assert token not in str(v3.value) + str(v2.value) + caplog.text


def test_5xx_and_timeouts_are_retried_for_get_and_put(sbx: Any) -> None:
    with connect(sbx, timeout=0.3) as bc:
        order_id, _ = shippable_order(bc)
        sbx.add_fault(
            api="bigcommerce", kind="status", status=503, path=rf"^v2/orders/{order_id}$", method="GET", count=2
        )
        assert bc.get_order(order_id)["id"] == order_id
        sbx.add_fault(
            api="bigcommerce", kind="timeout", delay_s=1.0, path=rf"^v2/orders/{order_id}$", method="PUT", count=1
        )
        assert bc.update_order_status(order_id, 11)["status_id"] == 11
        sbx.add_fault(api="bigcommerce", kind="malformed", path="^v3/catalog/products$", count=1)
        assert list(bc.paginate("v3/catalog/products", {"limit": 5, "page": 1}, limit=5))
        sbx.add_fault(api="bigcommerce", kind="status", status=500, path="^v2/order_statuses$", count=-1)
        with pytest.raises(BigCommerceUnavailable, match=r"HTTP 500 .*attempt 3 of 3"):
            bc.order_statuses()
    assert bc.stats.retries == 2 + 1 + 1 + 2 and bc.stats.throttled == 0
    assert sbx.request_counts()["bigcommerce PUT v2/orders/{id}"] == 2


@pytest.mark.parametrize("fault", ["timeout", "status"])
def test_a_post_that_may_have_landed_is_never_resent(sbx: Any, fault: str) -> None:
    with connect(sbx, timeout=0.3) as bc:
        order_id, payload = shippable_order(bc)
        sbx.reset_request_counts()
        spec = {"kind": "timeout", "delay_s": 1.0} if fault == "timeout" else {"kind": "status", "status": 502}
        sbx.add_fault(api="bigcommerce", path=r"^v2/orders/\d+/shipments$", method="POST", count=1, **spec)
        with pytest.raises(BigCommerceAmbiguousWrite, match="read the resource back"):
            bc.create_shipment(order_id, payload)
        time.sleep(1.0)  # the stalled request still completes on the server (the lost-response case)
        shipments = bc.order_shipments(order_id)
    assert sbx.request_counts()["bigcommerce POST v2/orders/{id}/shipments"] == 1
    assert bc.stats.retries == 0
    # The timeout applied the write (the caller reconciles by reading); an injected 502 did not.
    assert len(shipments) == (1 if fault == "timeout" else 0)


def test_a_429_storm_waits_the_named_reset_for_any_method(sbx: Any) -> None:
    sbx.set_rate_limit(window_scale=0.02)  # 150 per 0.6 s, so a reset is long enough to measure
    with connect(sbx) as bc:
        order_id, payload = shippable_order(bc)
        sbx.add_fault(api="bigcommerce", kind="throttle", path="^v2/order_statuses$", count=3)
        started = time.monotonic()
        assert len(bc.order_statuses()) == 15
        elapsed = time.monotonic() - started
        sbx.add_fault(api="bigcommerce", kind="throttle", path=r"^v2/orders/\d+/shipments$", method="POST", count=1)
        shipment = bc.create_shipment(order_id, payload)  # a 429 was not applied: re-sending a POST is safe
        shipments = bc.order_shipments(order_id)
    assert bc.stats.throttled == 4 and bc.stats.retries == 4 and bc.stats.waits >= 4
    # Each 429 named the time left in the current window and the client slept it out rather than hammering: the
    # second and third 429s came at the start of fresh windows, so at least two whole windows passed.
    assert elapsed > 2 * 0.6 * 0.95 and bc.stats.wait_seconds > 2 * 0.6 * 0.95
    assert [s["id"] for s in shipments] == [shipment["id"]]
    assert sbx.request_counts()["bigcommerce POST v2/orders/{id}/shipments"] == 2


def test_a_raw_burst_is_throttled_by_the_sandbox(sbx: Any) -> None:
    """The limit the pacing test runs under is real: a client that ignores the headers gets 429s."""
    sbx.set_rate_limit(window_scale=0.1)
    url = f"{sbx.bigcommerce_base_url}/stores/{sbx.bigcommerce_store_hash}/v2/order_statuses/1"
    with httpx.Client(headers=sbx.bc_headers()) as raw:
        statuses = [raw.get(url).status_code for _ in range(170)]
    assert statuses[0] == 200 and statuses.count(429) >= 170 - 150


def test_pacing_uses_the_budget_without_a_429(sbx: Any) -> None:
    window_s, quota, n = 1.5, 150, 300  # window scale 0.05: 150 requests per 1.5 s, one per 10 ms
    sbx.set_rate_limit(window_scale=0.05)
    time.sleep(window_s)  # start on a fresh window
    with connect(sbx) as bc:
        started = time.monotonic()
        for _ in range(n):
            bc.get("v2/order_statuses/1")
        elapsed = time.monotonic() - started
    assert bc.stats.throttled == 0 and bc.stats.requests == n and bc.stats.waits > 0
    assert bc.pacer.quota == quota and bc.pacer.window_seconds == window_s
    budget = quota * elapsed / window_s  # requests the store allowed over the run
    # The pacer never asks for more waiting than a perfect spread (one request per 10 ms) needs. Wall time is not
    # asserted from below: on a loaded machine the round trips and late wake-ups are the machine's, not the pacer's,
    # and a slower round trip only shortens the waits the pacer asks for.
    ideal_s = (n - 1) * window_s / quota
    assert bc.stats.wait_seconds <= ideal_s * 1.02, f"asked to wait {bc.stats.wait_seconds:.2f} s of {ideal_s:.2f}"
    assert n / budget <= 1.05  # spread, not bursts that a rolling window would punish
    print(
        f"pacing: {n} requests in {elapsed:.2f} s = {n / budget:.1%} of the budget, {bc.stats.wait_seconds:.2f} s waits asked, 0 429s"
    )
