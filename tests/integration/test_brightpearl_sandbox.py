"""The client against the sandbox's Brightpearl emulator (a separate process, over HTTP only): full paging,
ID-set batching, a throttling run on a scaled-down rate window, injected faults and auth errors."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bp_pipelines.lib.brightpearl import (
    GOODS_OUT_NOTE_GET_MAX_IDS,
    ORDER_GET_MAX_IDS,
    PRODUCT_AVAILABILITY_MAX_IDS,
    BrightpearlAuthError,
    BrightpearlClient,
    BrightpearlRequestError,
    BrightpearlServerError,
    RetryPolicy,
    parse_bp_datetime,
)

FAST = RetryPolicy(max_attempts=3, max_throttle_waits=5, backoff_base_seconds=0.02, backoff_max_seconds=0.1)
WINDOW_SCALE = 0.01  # 200 requests per 0.6 s


@pytest.fixture(scope="module")
def sbx(module_sandbox: Callable[..., Any]) -> Any:
    """A private sandbox for this module: faults and rate-window changes must not leak into other tests."""
    return module_sandbox(seed=42, orders=300, rate_window_scale=WINDOW_SCALE)


@pytest.fixture(autouse=True)
def _clean(sbx: Any) -> Iterator[None]:
    yield
    sbx.clear_faults()
    sbx.set_rate_limit(window_scale=WINDOW_SCALE, enabled=True)


def connect(sbx: Any, *, token: str | None = None, app_ref: str | None = None, **kwargs: Any) -> BrightpearlClient:
    return BrightpearlClient(
        sbx.brightpearl_base_url,
        sbx.brightpearl_account,
        app_ref or sbx.brightpearl_app_ref,
        token or sbx.brightpearl_account_token,
        retry=kwargs.pop("retry", FAST),
        **kwargs,
    )


def all_ids(bp: BrightpearlClient, path: str, **kwargs: Any) -> list[Any]:
    return [next(iter(row.values())) for page in bp.search(path, **kwargs) for row in page.rows]


def test_full_order_search_pages_through_everything(sbx: Any) -> None:
    with connect(sbx) as bp:
        pages = list(bp.search("order-service/order-search", page_size=100))
    total = pages[0].results_available
    ids = [row["orderId"] for page in pages for row in page.rows]
    assert total > 200 and len(ids) == len(set(ids)) == total and ids == sorted(ids)
    assert len(pages) == math.ceil(total / 100) and [p.first_result for p in pages] == list(range(1, total, 100))
    assert bp.stats.calls_by_endpoint == {"GET order-service/order-search": len(pages)}
    for page in pages:
        for row in page.rows:
            assert parse_bp_datetime(row["createdOn"]).utcoffset().total_seconds() == 0
            assert str(row["orderStatusId"]) in page.reference["orderStatusNames"]


def test_period_filter_selects_by_updated_on(sbx: Any) -> None:
    with connect(sbx) as bp:
        [page] = bp.search("order-service/order-search", columns=["orderId", "updatedOn"])
        stamps = sorted(parse_bp_datetime(row["updatedOn"]) for row in page.rows)
        middle = stamps[len(stamps) // 2]
        since = middle.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        newer = [row for p in bp.search("order-service/order-search", {"updatedOn": f"{since}/"}) for row in p.rows]
    assert 0 < len(newer) < len(page.rows)
    assert all(parse_bp_datetime(row["updatedOn"]) >= middle for row in newer)


def test_id_set_batching_for_orders_goods_out_notes_and_availability(sbx: Any) -> None:
    with connect(sbx) as bp:
        order_ids = all_ids(bp, "order-service/order-search")
        note_ids = all_ids(bp, "warehouse-service/goods-note/goods-out-search")
        product_ids = all_ids(bp, "product-service/product-search")
        bp.stats.calls_by_endpoint.clear()
        orders = [
            o for batch in bp.get_by_ids("order-service/order", order_ids, batch_size=ORDER_GET_MAX_IDS) for o in batch
        ]
        notes: dict[str, Any] = {}
        for batch in bp.get_by_ids(
            "warehouse-service/order/*/goods-note/goods-out", note_ids, batch_size=GOODS_OUT_NOTE_GET_MAX_IDS
        ):
            notes.update(batch)
        availability: dict[str, Any] = {}
        for batch in bp.get_by_ids(
            "warehouse-service/product-availability", product_ids, batch_size=PRODUCT_AVAILABILITY_MAX_IDS
        ):
            availability.update(batch)
    assert sorted(order["id"] for order in orders) == sorted(order_ids)
    assert sorted(int(note_id) for note_id in notes) == sorted(note_ids)
    assert {int(product_id) for product_id in availability} <= set(product_ids) and availability
    assert bp.stats.calls_by_endpoint == {
        "GET order-service/order/{ids}": math.ceil(len(order_ids) / ORDER_GET_MAX_IDS),
        "GET warehouse-service/order/{ids}/goods-note/goods-out/{ids}": math.ceil(len(note_ids) / 500),
        "GET warehouse-service/product-availability/{ids}": math.ceil(len(product_ids) / 100),
    }


def test_throttling_run_uses_the_budget_without_being_throttled(sbx: Any) -> None:
    sbx.set_rate_limit(window_scale=0.02)  # 200 requests per rolling 1.2 s
    with connect(sbx, reserve_requests=0) as bp:
        started = time.monotonic()
        for _ in range(450):
            bp.get("warehouse-service/warehouse/")
        elapsed = time.monotonic() - started
    assert bp.stats.throttled == 0 and bp.stats.calls == 450 and bp.stats.governor_waits > 0
    # 450 requests at 200 per 1.2 s need two full windows: the cap was in force and the governor kept to it
    # without wasting much time beyond it (slack for a loaded machine).
    assert 2 * 1.2 - 0.1 < elapsed < 2 * 1.2 + 2.0


def test_ungoverned_burst_is_throttled_and_the_client_recovers(sbx: Any) -> None:
    sbx.set_rate_limit(window_scale=0.05)  # 200 requests per rolling 3 s
    url = f"{sbx.brightpearl_api}/warehouse-service/warehouse/"
    with httpx.Client(headers=sbx.bp_headers()) as raw:  # another app spending the whole budget
        # Until a refusal with at least 1 s of its window left: a loaded machine may end a fixed-size burst just as
        # the window resets, and the client would then not be throttled at all.
        for _ in range(2000):
            refused = raw.get(url)
            if refused.status_code == 503 and int(refused.headers["brightpearl-next-throttle-period"]) >= 1000:
                break
        else:
            raise AssertionError("the sandbox never throttled a burst of 2,000 requests")
    with connect(sbx) as bp:  # knows nothing yet: its first request is throttled, then it waits and succeeds
        assert bp.get("warehouse-service/warehouse/")
    assert bp.stats.throttled >= 1 and bp.stats.calls == bp.stats.throttled + 1


def test_injected_throttles_are_waited_out_and_counted(sbx: Any) -> None:
    sbx.add_fault(api="brightpearl", kind="throttle", path="order-search", count=2)
    with connect(sbx) as bp:
        ids = all_ids(bp, "order-service/order-search")
    assert len(ids) > 200 and bp.stats.throttled == 2 and bp.stats.retries == 2


def test_injected_5xx_timeout_and_malformed_are_retried(sbx: Any) -> None:
    sbx.add_fault(api="brightpearl", kind="status", status=500, path=r"^order-service/order/\d", count=2)
    sbx.add_fault(api="brightpearl", kind="timeout", delay_s=1.0, path="^product-service/product/", count=1)
    sbx.add_fault(api="brightpearl", kind="malformed", path="contact-search", count=1)
    with connect(sbx, timeout_seconds=0.4) as bp:
        [[order]] = bp.get_by_ids("order-service/order", [1], batch_size=ORDER_GET_MAX_IDS)
        [[product]] = bp.get_by_ids("product-service/product", [1000], batch_size=200)
        contacts = all_ids(bp, "contact-service/contact-search")
    assert order["id"] == 1 and product["id"] == 1000 and contacts
    assert bp.stats.retries == 4 and bp.stats.throttled == 0


def test_persistent_5xx_and_4xx_raise(sbx: Any) -> None:
    sbx.add_fault(api="brightpearl", kind="status", status=502, path="^order-service/order/", count=-1)
    sbx.add_fault(api="brightpearl", kind="status", status=400, path="product-search", count=1)
    with connect(sbx) as bp:
        with pytest.raises(BrightpearlServerError) as server_error:
            bp.get("order-service/order/1")
        with pytest.raises(BrightpearlRequestError) as request_error:
            list(bp.search("product-service/product-search"))
    assert "HTTP 502" in str(server_error.value) and "attempt 3 of 3" in str(server_error.value)
    assert request_error.value.status == 400 and bp.stats.calls == 3 + 1


def test_rows_shifting_between_pages_are_not_yielded_twice(sbx: Any) -> None:
    sbx.add_fault(api="brightpearl", kind="shift_rows", path="order-search", count=1)
    with connect(sbx) as bp:
        pages = list(bp.search("order-service/order-search", sort="updatedOn.ASC", page_size=100))
    ids = [row["orderId"] for page in pages for row in page.rows]
    assert len(ids) == len(set(ids))
    assert sum(page.duplicates_dropped for page in pages) == 1


@pytest.mark.parametrize("wrong", ["token", "app_ref"])
def test_auth_errors(sbx: Any, wrong: str) -> None:
    bad = "not-the-Token+/="
    kwargs = {"token": bad} if wrong == "token" else {"app_ref": "sandbox_wrongapp"}
    with connect(sbx, **kwargs) as bp, pytest.raises(BrightpearlAuthError) as info:
        bp.get("order-service/order/1")
    message = str(info.value)
    assert "HTTP 401" in message and "BRIGHTPEARL_ACCOUNT_TOKEN" in message and bad not in message
    assert bp.stats.calls == 1
