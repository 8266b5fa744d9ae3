"""Pure parts of the BigCommerce client: dates, rate-limit headers, the pacer's schedule (on a manual clock),
query encoding and error-body parsing. The behaviour over HTTP is in tests/integration/test_bigcommerce_sandbox.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from bp_pipelines.lib.bigcommerce import RatePacer, format_v2_date, format_v3_date, parse_v2_date, parse_v3_date
from bp_pipelines.lib.bigcommerce.pacing import WAKE_MARGIN_SECONDS, read_rate_headers
from bp_pipelines.lib.bigcommerce.stats import endpoint_template
from bp_pipelines.lib.bigcommerce.wire import api_url, encode_query, error_parts


def test_v2_dates_are_rfc_2822() -> None:
    assert parse_v2_date("Tue, 20 Nov 2012 00:00:00 +0000") == datetime(2012, 11, 20, tzinfo=UTC)
    assert parse_v2_date("Thu, 20 Apr 2017 11:32:00 -0400") == datetime(2017, 4, 20, 15, 32, tzinfo=UTC)
    assert parse_v2_date("") is None and parse_v2_date(None) is None  # date_shipped of an unshipped order
    with pytest.raises(ValueError, match="not a BigCommerce V2"):
        parse_v2_date("2017-04-20T11:32:00Z")
    assert format_v2_date(datetime(2012, 11, 20, 1, 2, 3, tzinfo=UTC)) == "Tue, 20 Nov 2012 01:02:03 +0000"
    cet = timezone(timedelta(hours=1))
    assert format_v2_date(datetime(2012, 11, 20, 1, 0, tzinfo=cet)) == "Tue, 20 Nov 2012 00:00:00 +0000"
    assert format_v2_date(date(2012, 11, 20)) == "Tue, 20 Nov 2012 00:00:00 +0000"
    with pytest.raises(ValueError, match="no time zone"):
        format_v2_date(datetime(2012, 11, 20))


def test_v3_dates_are_iso_8601() -> None:
    assert parse_v3_date("2018-08-15T14:48:46+00:00") == datetime(2018, 8, 15, 14, 48, 46, tzinfo=UTC)
    assert parse_v3_date("2018-08-15T16:48:46+02:00") == datetime(2018, 8, 15, 14, 48, 46, tzinfo=UTC)
    assert parse_v3_date("2018-08-15T14:48:46Z") == parse_v3_date("2018-08-15 14:48:46")  # no offset = UTC
    assert parse_v3_date("2018-08-15") == datetime(2018, 8, 15, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a BigCommerce V3"):
        parse_v3_date("Tue, 20 Nov 2012 00:00:00 +0000")
    assert format_v3_date(datetime(2018, 8, 15, 14, 48, 46, 999, tzinfo=UTC)) == "2018-08-15T14:48:46+00:00"


def test_rate_headers_are_case_insensitive_and_a_429_waits_the_longer_hint() -> None:
    headers = read_rate_headers(
        {"x-rate-limit-requests-left": "35", "X-Rate-Limit-Time-Reset-Ms": "1500", "X-Rate-Limit-Requests-Quota": "150",
         "X-RATE-LIMIT-TIME-WINDOW-MS": "30000", "X-Retry-After": "2"}
    )  # fmt: skip
    assert (headers.left, headers.reset_seconds, headers.quota, headers.window_seconds) == (35, 1.5, 150, 30.0)
    assert headers.throttle_wait == 2.0
    assert read_rate_headers({"X-Rate-Limit-Time-Reset-Ms": "900"}).throttle_wait == 0.9
    garbage = read_rate_headers({"X-Rate-Limit-Requests-Left": "many", "X-Rate-Limit-Time-Reset-Ms": "-5"})
    assert garbage.left is None and garbage.reset_seconds is None and garbage.throttle_wait is None
    assert read_rate_headers({"X-Rate-Limit-Time-Reset-Ms": str(10**9)}).reset_seconds == 120.0  # capped


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def window(left: int, reset_ms: int) -> object:
    return read_rate_headers({"X-Rate-Limit-Requests-Left": str(left), "X-Rate-Limit-Time-Reset-Ms": str(reset_ms)})


def test_pacer_spreads_what_is_left_over_what_remains_of_the_window() -> None:
    clock = ManualClock()
    pacer = RatePacer(clock=clock, sleep=clock.sleep)
    assert pacer.acquire() == 0.0  # nothing known: go
    pacer.observe(window(left=4, reset_ms=10_000))  # 4 left, 10 s to go: one every 2 s
    assert pacer.acquire() == pytest.approx(2.0)
    clock.now += 0.5  # the request took 0.5 s; the response says 3 left, 7.5 s to go
    pacer.observe(window(left=3, reset_ms=7_500))
    # Sent at t=2 with the window ending at t=10: (10 - 2) / (3 + 1) = 2 s apart, of which the round trip took 0.5.
    assert pacer.acquire() == pytest.approx((0.5 + 7.5) / 4 - 0.5)
    pacer.observe(window(left=0, reset_ms=5_000))  # quota spent: wait for the reset exactly
    assert pacer.acquire() == pytest.approx(5.0 + WAKE_MARGIN_SECONDS)
    assert pacer.acquire() == 0.0  # a fresh window: unknown budget, no wait


def test_pacer_keeps_a_reserve_and_a_429_blocks_everyone() -> None:
    clock = ManualClock()
    pacer = RatePacer(reserve=2, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.observe(window(left=2, reset_ms=3_000))  # only the reserve is left
    assert pacer.acquire() == pytest.approx(3.0 + WAKE_MARGIN_SECONDS)
    pacer.block(4.0)
    assert pacer.acquire() == pytest.approx(4.0 + WAKE_MARGIN_SECONDS)


def test_query_encoding_and_urls() -> None:
    when = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
    assert encode_query({"min_date_modified": when, "status_id": 11, "x": None}, "v2") == (
        "min_date_modified=Mon,%2001%20Sep%202025%2012:00:00%20%2B0000&status_id=11"
    )
    assert encode_query({"sku:in": ["A&B", "C"], "date_modified:min": when, "is_visible": True}, "v3") == (
        "sku:in=A%26B,C&date_modified:min=2025-09-01T12:00:00%2B00:00&is_visible=true"
    )
    assert api_url("https://api.bigcommerce.com/", "abc", "/v2/orders/1/") == (
        "https://api.bigcommerce.com/stores/abc/v2/orders/1"
    )
    assert endpoint_template("post", "v2/orders/12/shipments") == "POST v2/orders/{id}/shipments"


def test_error_bodies_of_both_versions() -> None:
    v2 = [{"status": 400, "message": "The field 'id' cannot be written to."}, {"status": 400, "message": "Other"}]
    assert error_parts(v2, "") == ("The field 'id' cannot be written to.; Other", v2)
    v3 = {"status": 422, "title": "Missing Required Fields", "errors": {"name": "Please provide a name."}}
    assert error_parts(v3, "") == ("Missing Required Fields", {"name": "Please provide a name."})
    assert error_parts({"code": 403, "message": "Missing scope"}, "") == ("Missing scope", {})
    assert error_parts(None, "<html>  Bad   gateway</html>") == ("<html> Bad gateway</html>", {})


@pytest.mark.parametrize(
    ("order", "empty"),
    [
        ({"items_shipped": 0}, True),
        ({"items_shipped": "0"}, True),
        ({"items_shipped": 2}, False),
        ({"items_shipped": None}, False),
        ({"items_shipped": False}, False),
        ({}, False),
    ],
)
def test_a_sub_resource_is_skipped_only_when_the_order_counts_exactly_zero(order: dict, empty: bool) -> None:
    from bp_pipelines.lib.storefront.extract import none_counted

    assert none_counted(order, "items_shipped") is empty
