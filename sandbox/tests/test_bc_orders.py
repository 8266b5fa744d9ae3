"""Orders V2 on the BigCommerce emulator: paging, filters, dates, money, PUT, sub-resources, spec fields."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from bc_helpers import (
    BASE_MS,
    BC,
    CLOCK,
    INCOMPLETE_ORDER,
    MINUTE_MS,
    ORDER_COUNT,
    SPEC_ORDER,
    SPEC_ORDER_EXAMPLE_ONLY,
    SPEC_ORDER_PRODUCT,
    SPEC_SHIPPING_ADDRESS,
    STORE_HASH,
    Server,
    loopback_server,
)

RFC2822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
MONEY4 = re.compile(r"^-?\d+\.\d{4}$")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with loopback_server() as running:
        yield running


@pytest.fixture()
def bc(server: Server, tmp_path: Path) -> Iterator[BC]:
    with server.emulator(tmp_path / "world.db") as emulator:
        yield emulator


def created(order_id: int) -> datetime:
    return datetime.fromtimestamp((BASE_MS + order_id * MINUTE_MS) / 1000, tz=UTC)


def test_list_is_a_bare_array_of_50_by_default_sorted_by_id(bc: BC) -> None:
    r = bc.client.get("v2/orders")
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body, list) and len(body) == 50
    ids = [o["id"] for o in body]
    assert ids == sorted(ids) and INCOMPLETE_ORDER not in ids  # Incomplete hidden unless asked for


def test_limit_250_is_allowed_and_251_is_413_with_max_limit(bc: BC) -> None:
    assert len(bc.client.get("v2/orders", params={"limit": 250}).json()) == 250
    r = bc.client.get("v2/orders", params={"limit": 251})
    assert r.status_code == 413
    assert r.json() == [
        {"status": 413, "message": "The specified limit exceeds the maximum allowed.", "details": {"max_limit": 250}}
    ]


def test_past_the_last_page_and_no_match_are_204_with_empty_body(bc: BC) -> None:
    last = bc.client.get("v2/orders", params={"limit": 250, "page": 2})
    assert last.status_code == 200 and len(last.json()) == ORDER_COUNT - 1 - 250
    past = bc.client.get("v2/orders", params={"limit": 250, "page": 3})
    assert past.status_code == 204 and past.content == b""
    none = bc.client.get("v2/orders", params={"customer_id": 999})
    assert none.status_code == 204 and none.content == b""


def test_unknown_filter_is_400_naming_it(bc: BC) -> None:
    r = bc.client.get("v2/orders", params={"custom_status": "x"})
    assert r.status_code == 400
    assert r.json() == [{"status": 400, "message": "The field 'custom_status' is not supported by this resource."}]


def test_dates_are_rfc2822_utc_and_money_4dp(bc: BC) -> None:
    order = bc.client.get("v2/orders/10").json()
    assert RFC2822.match(order["date_created"]) and RFC2822.match(order["date_modified"])
    assert parsedate_to_datetime(order["date_created"]) == created(10)
    assert order["date_shipped"] == ""
    for field in ("subtotal_ex_tax", "total_inc_tax", "shipping_cost_tax", "total_tax", "base_shipping_cost"):
        assert MONEY4.match(order[field]), field
    assert order["shipping_cost_tax"] == "0.5000"
    assert order["status"] == "Awaiting Fulfillment" and order["status_id"] == 11


@pytest.mark.parametrize("form", ["rfc", "rfc_offset", "iso", "iso_offset", "unix"])
def test_min_date_created_accepts_rfc2822_iso8601_and_unix(bc: BC, form: str) -> None:
    at = created(100)
    value = {
        "rfc": at.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "rfc_offset": at.astimezone(datetime.now().astimezone().tzinfo).strftime("%a, %d %b %Y %H:%M:%S %z"),
        "iso": at.isoformat(),
        "iso_offset": at.astimezone(datetime.now().astimezone().tzinfo).isoformat(),
        "unix": str(int(at.timestamp())),
    }[form]
    r = bc.client.get("v2/orders", params={"min_date_created": value, "max_date_created": value})
    assert [o["id"] for o in r.json()] == [100]


def test_date_modified_window_and_sort_desc(bc: BC) -> None:
    lo, hi = created(20).isoformat(), created(24).strftime("%a, %d %b %Y %H:%M:%S +0000")
    r = bc.client.get(
        "v2/orders", params={"min_date_modified": lo, "max_date_modified": hi, "sort": "date_modified:desc"}
    )
    assert [o["id"] for o in r.json()] == [23, 22, 21, 20]  # modified = created + 30 s
    bad = bc.client.get("v2/orders", params={"min_date_modified": "yesterday"})
    assert bad.status_code == 400


def test_status_email_and_id_filters(bc: BC) -> None:
    awaiting_payment = bc.client.get("v2/orders", params={"status_id": 7, "limit": 250}).json()
    assert {o["status_id"] for o in awaiting_payment} == {7} and len(awaiting_payment) == 26
    incomplete = bc.client.get("v2/orders", params={"status_id": 0}).json()
    assert [o["id"] for o in incomplete] == [INCOMPLETE_ORDER]
    by_email = bc.client.get("v2/orders", params={"email": "ann@EXAMPLE.com", "min_id": 3, "max_id": 6}).json()
    assert [o["id"] for o in by_email] == [3, 4, 6]


def test_count_by_status(bc: BC) -> None:
    body = bc.client.get("v2/orders/count").json()
    assert body["count"] == ORDER_COUNT
    counts = {s["id"]: s["count"] for s in body["statuses"]}
    assert counts[0] == 1 and counts[7] == 26 and counts[11] == ORDER_COUNT - 27
    assert [s["sort_order"] for s in body["statuses"]] == list(range(15))


def test_get_missing_order_is_404_v2_array(bc: BC) -> None:
    r = bc.client.get("v2/orders/99999")
    assert r.status_code == 404
    assert r.json() == [{"status": 404, "message": "The requested resource was not found."}]


def test_put_status_bumps_date_modified_and_returns_the_order(bc: BC) -> None:
    r = bc.client.put("v2/orders/10", json={"status_id": 9, "staff_notes": "packed"})
    assert r.status_code == 200
    body = r.json()
    assert body["status_id"] == 9 and body["status"] == "Awaiting Shipment" and body["staff_notes"] == "packed"
    assert parsedate_to_datetime(body["date_modified"]) == CLOCK
    assert bc.client.get("v2/orders/10").json()["status_id"] == 9
    since = bc.client.get("v2/orders", params={"min_date_modified": CLOCK.isoformat()}).json()
    assert [o["id"] for o in since] == [10]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": 3}, "The field 'id' cannot be written to. Please remove it from your request before trying again."),
        (
            {"date_modified": "x"},
            "The field 'date_modified' cannot be written to. Please remove it from your request before trying again.",
        ),
        ({"status_id": 15}, "The field 'status_id' is invalid."),
        ({"status_id": "2"}, "The field 'status_id' is invalid."),
    ],
)
def test_put_rejects_read_only_fields_and_unknown_statuses(bc: BC, body: dict[str, object], message: str) -> None:
    r = bc.client.put("v2/orders/10", json=body)
    assert r.status_code == 400
    assert r.json() == [{"status": 400, "message": message}]
    assert bc.client.get("v2/orders/10").json()["status_id"] == 11


def test_products_and_shipping_addresses_and_links(bc: BC) -> None:
    order = bc.client.get("v2/orders/1").json()
    assert order["products"]["resource"] == "/orders/1/products"
    assert order["shipping_addresses"]["url"].endswith(f"/stores/{STORE_HASH}/v2/orders/1/shippingaddresses")
    products = bc.client.get(order["products"]["url"]).json()
    assert [(p["id"], p["quantity"], p["quantity_shipped"]) for p in products] == [(5001, 3, 0), (5002, 2, 0)]
    assert MONEY4.match(products[0]["price_inc_tax"]) and products[0]["price_inc_tax"] == "2.2000"
    by_alias = bc.client.get(order["shipping_addresses"]["url"]).json()
    assert by_alias == bc.client.get("v2/orders/1/shipping_addresses").json()
    assert by_alias[0]["id"] == 1001 and by_alias[0]["items_total"] == 5
    assert bc.client.get("v2/orders/1/products/5002").json()["sku"] == "TEE-M"
    assert bc.client.get("v2/orders/1/products/5003").status_code == 404
    assert bc.client.get("v2/orders/1/shipping_addresses/1001").json()["city"] == "Austin"
    assert bc.client.get(order["coupons"]["url"]).status_code == 204


def test_field_sets_match_the_spec_schemas(bc: BC) -> None:
    order = bc.client.get("v2/orders/1", params={"include": "consignments,fees"}).json()
    assert set(order) == SPEC_ORDER | SPEC_ORDER_EXAMPLE_ONLY
    plain = bc.client.get("v2/orders/1").json()
    assert set(plain) == SPEC_ORDER - {"consignments", "fees"} | SPEC_ORDER_EXAMPLE_ONLY
    assert set(bc.client.get("v2/orders/1/products").json()[0]) == SPEC_ORDER_PRODUCT
    assert set(bc.client.get("v2/orders/1/shipping_addresses").json()[0]) == SPEC_SHIPPING_ADDRESS
