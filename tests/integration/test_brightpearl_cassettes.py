"""Every recorded Brightpearl exchange, replayed by a real loopback server and parsed through the client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bp_pipelines.lib.brightpearl import (
    CONTACT_GET_MAX_IDS,
    GOODS_OUT_NOTE_GET_MAX_IDS,
    ORDER_GET_MAX_IDS,
    PRODUCT_AVAILABILITY_MAX_IDS,
    PRODUCT_GET_MAX_IDS,
    BrightpearlAuthError,
    BrightpearlClient,
    BrightpearlNotFoundError,
    BrightpearlRequestError,
    RetryPolicy,
    parse_bp_datetime,
    parse_money,
    parse_quantity,
)
from bp_pipelines.lib.sync import streams
from bp_pipelines.lib.sync.reference_sync import refresh_reference_list
from bp_pipelines.lib.warehouse import DuckDBWarehouse

from .cassette_server import CASSETTE_DIR, CassetteApp, LoopbackServer, load_cassette

assert CASSETTE_DIR.is_dir(), f"recorded cassettes not found at {CASSETTE_DIR}"

TOKEN = "cassette-Token+/abc="
FAST = RetryPolicy(max_attempts=3, backoff_base_seconds=0.01, backoff_max_seconds=0.05)
ALL_CASSETTES = (
    sorted(str(path.relative_to(CASSETTE_DIR).with_suffix("")) for path in CASSETTE_DIR.rglob("*.yml"))
    if CASSETTE_DIR.is_dir()
    else []
)


_APP = CassetteApp([])


@pytest.fixture(scope="module", autouse=True)
def _server() -> Iterator[LoopbackServer]:
    with LoopbackServer(_APP.asgi()) as server:
        yield server


@pytest.fixture
def replay(_server: LoopbackServer):
    """`with replay("order_search") as (bp, app):` -> a client against the cassettes, and the replaying app."""

    @contextmanager
    def start(*names: str, token: str = TOKEN) -> Iterator[tuple[BrightpearlClient, CassetteApp]]:
        app = _APP.use(*names)
        with BrightpearlClient(_server.url, "barulu", "barulu_app", token, retry=FAST) as client:
            yield client, app
        assert all(r.matched for r in app.received), [r.raw_path for r in app.received if not r.matched]

    return start


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- generic: every interaction of every cassette goes through the client and lands in the right outcome ----


@pytest.mark.parametrize("name", ALL_CASSETTES)
def test_every_cassette_replays_through_the_client(replay, name: str) -> None:
    interactions = load_cassette(name)
    with replay(name) as (bp, app):
        for interaction in interactions:
            params = dict(interaction.query)
            expected = interaction.response_json
            call = lambda i=interaction, p=params: bp.request(i.method, i.path, params=p, body=i.body)  # noqa: E731
            if 200 <= interaction.status < 300:
                assert call() == expected
            elif interaction.status == 401:
                with pytest.raises(BrightpearlAuthError):
                    call()
            elif interaction.status == 404:
                with pytest.raises(BrightpearlNotFoundError) as info:
                    call()
                assert info.value.code == "CMNC-404"
            else:  # recorded 400s and the 500s that report bad input (CMNC-018, CMNC-044)
                with pytest.raises(BrightpearlRequestError) as info:
                    call()
                assert info.value.status == interaction.status
                assert info.value.code == expected["errors"][0]["code"]
        # No recorded error was retried: one request per interaction.
        assert len(app.received) == len(interactions)
        assert all(request.headers["brightpearl-account-token"] == TOKEN for request in app.received)
        assert all(request.headers["brightpearl-app-ref"] == "barulu_app" for request in app.received)


# --- searches ----------------------------------------------------------------------------------------------


def test_order_search_maps_columns_reference_and_utc_dates(replay) -> None:
    with replay("order_search") as (bp, app):
        pages = list(bp.search("order-service/order-search", {"customerRef": "#0001"}))
    assert app.received[0].query == "customerRef=%230001&pageSize=500&firstResult=1"
    [page] = pages
    assert (page.first_result, page.last_result, page.results_available, page.more_pages_available) == (1, 4, 4, False)
    assert [row["orderId"] for row in page.rows] == [322, 323, 324, 325]
    assert page.columns[0] == "orderId" and len(page.columns) == 19
    first, second = page.rows[0], page.rows[1]
    assert first["orderTypeId"] == 1 and first["contactId"] == 200 and first["customerRef"] == "#0001"
    assert parse_bp_datetime(first["createdOn"]) == utc(2022, 1, 26, 16, 39, 46)
    assert parse_bp_datetime(first["taxDate"]) == utc(2022, 1, 26)  # 18:00 -06:00 the day before
    assert first["deliveryDate"] is None and parse_bp_datetime(first["deliveryDate"]) is None
    assert parse_bp_datetime(second["deliveryDate"]) == utc(2022, 2, 2, 16, 46, 31)
    assert page.reference["orderStatusNames"]["3"] == "New phone order"
    assert page.reference["orderTypeNames"] == {
        "1": "SALES_ORDER",
        "2": "PURCHASE_ORDER",
        "3": "SALES_CREDIT",
        "4": "PURCHASE_CREDIT",
    }


def test_product_search_keeps_category_reference(replay) -> None:
    with replay("product_search") as (bp, app):
        [page] = bp.search("product-service/product-search", {"productName": "Test Product"})
    assert app.received[0].query.startswith("productName=Test%20Product&")
    assert page.results_available == 44 and len(page.rows) == 44
    row = page.rows[0]
    assert (row["productId"], row["SKU"], row["stockTracked"], row["productStatus"]) == (
        1494,
        "ANTHONY123-BL-3",
        True,
        "LIVE",
    )
    assert parse_bp_datetime(row["updatedOn"]) == utc(2020, 4, 22, 15, 31, 39)
    assert page.reference["productCategoryMembership"]["1494"] == [300, 301]


def test_contact_search_rows(replay) -> None:
    with replay("customer/search/simple_search") as (bp, app):
        [page] = bp.search("contact-service/contact-search", {"primaryEmail": "foo@business.com"})
    assert app.received[0].query.startswith("primaryEmail=foo@business.com&")
    assert [row["contactId"] for row in page.rows] == [72433, 72435]
    row = page.rows[0]
    assert row["isCustomer"] is True and row["isSupplier"] is False and row["companyName"] == "TEST COMPANY"
    assert parse_bp_datetime(row["createdOn"]) == utc(2022, 5, 17, 22, 34, 7)
    assert page.reference == {}


def test_payment_searches_money_and_an_empty_result(replay) -> None:
    with replay("customer_payment/search/simple_search") as (bp, _):
        [page] = bp.search("accounting-service/customer-payment-search", {"orderId": "1081505"})
    [row] = page.rows
    assert row["paymentId"] == 935253 and parse_money(row["amountPaid"]) == Decimal("100.00")
    with replay("customer_payment/delete/success") as (bp, _):
        assert bp.delete("accounting-service/customer-payment/935253") is None
        [empty] = bp.search("accounting-service/customer-payment-search", {"orderId": "1081505"})
    assert empty.rows == [] and empty.results_available == 0 and empty.more_pages_available is False


def test_currency_search_exchange_rates_are_decimals(replay) -> None:
    with replay("currency_search") as (bp, _):
        [page] = bp.search("accounting-service/currency-search")
    assert [(row["code"], parse_money(row["exchangeRate"])) for row in page.rows] == [
        ("USD", Decimal("1.000000")),
        ("EUR", Decimal("1.234567")),
    ]


@pytest.mark.parametrize(
    ("name", "path", "filters", "code"),
    [
        ("order_search_bad_param", "order-service/order-search", {"orderStatusId": "BAD PARAM"}, "CMNC-018"),
        ("product_search_bad_param", "product-service/product-search", {"productId": "BAD PARAM"}, "CMNC-018"),
    ],
)
def test_bad_filter_500_is_a_request_error_not_retried(replay, name: str, path: str, filters: dict, code: str) -> None:
    with replay(name) as (bp, app), pytest.raises(BrightpearlRequestError) as info:
        list(bp.search(path, filters))
    error = info.value
    assert (error.status, error.code, error.method, error.path) == (500, code, "GET", path)
    assert "cannot be parsed" in str(error) and "BAD%20PARAM" in str(error)
    assert len(app.received) == 1


# --- GET by ID set -------------------------------------------------------------------------------------------


def test_order_get_one_money_quantities_and_dates(replay) -> None:
    with replay("order_get_one") as (bp, app):
        [batch] = bp.get_by_ids("order-service/order", [1], batch_size=ORDER_GET_MAX_IDS)
    assert app.received[0].raw_path == "/public-api/barulu/order-service/order/1"
    [order] = batch
    assert (order["id"], order["orderTypeCode"], order["orderStatus"]["orderStatusId"]) == (1, "SO", 4)
    assert parse_bp_datetime(order["placedOn"]) == utc(2020, 3, 31, 21, 2, 44)
    assert parse_bp_datetime(order["closedOn"]) == utc(2020, 3, 31, 21, 57, 20)
    assert parse_money(order["totalValue"]["total"]) == Decimal("10.00")
    assert parse_money(order["totalValue"]["taxAmount"]) == Decimal("0.91")
    row = order["orderRows"]["1"]
    assert parse_quantity(row["quantity"]["magnitude"]) == Decimal("1.0000")
    assert parse_money(row["rowValue"]["rowNet"]["value"]) == Decimal("9.0909")
    assert parse_money(order["currency"]["exchangeRate"]) == Decimal("1.000000")


def test_order_get_multiple_batches_ids_into_one_sorted_id_set(replay) -> None:
    with replay("order_get_multiple") as (bp, app):
        batches = list(bp.get_by_ids("order-service/order", [321, 1, 320, 320], batch_size=ORDER_GET_MAX_IDS))
    assert [r.raw_path for r in app.received] == ["/public-api/barulu/order-service/order/1,320,321"]
    assert sorted(order["id"] for order in batches[0]) == [1, 320, 321]
    assert bp.stats.calls_by_endpoint == {"GET order-service/order/{ids}": 1}


def test_order_get_po_custom_fields_and_empty(replay) -> None:
    with replay("order_get_one_po", "order_get_one_with_custom_fields", "order_get_empty_not_found") as (bp, app):
        [[po]] = bp.get_by_ids("order-service/order", [312], batch_size=ORDER_GET_MAX_IDS)
        [[with_fields]] = bp.get_by_ids(
            "order-service/order", [1], batch_size=ORDER_GET_MAX_IDS, params={"includeOptional": "customFields"}
        )
        assert list(bp.get_by_ids("order-service/order", [999], batch_size=ORDER_GET_MAX_IDS)) == [[]]
    assert po["orderTypeCode"] == "PO" and po["reference"] == "#T75"
    assert "customFields" in with_fields
    assert app.received[1].query == "includeOptional=customFields"


def test_product_get_one_and_multiple(replay) -> None:
    names = ("product_get_one", "product_get_multiple", "product_get_one_with_custom_fields")
    with replay(*names) as (bp, _):
        [[product]] = bp.get_by_ids("product-service/product", [1007], batch_size=PRODUCT_GET_MAX_IDS)
        [several] = bp.get_by_ids("product-service/product", [1569, 1532, 1007], batch_size=PRODUCT_GET_MAX_IDS)
        [[custom]] = bp.get_by_ids(
            "product-service/product",
            [1007],
            batch_size=PRODUCT_GET_MAX_IDS,
            params={"includeOptional": "customFields"},
        )
    assert (product["id"], product["identity"]["sku"], product["status"]) == (1007, "TEST001", "LIVE")
    assert parse_bp_datetime(product["updatedOn"]) == utc(2020, 7, 6, 7, 48, 36)
    assert product["salesChannels"][0]["productName"] == "Nice Shirt for Summer"
    assert sorted(p["id"] for p in several) == [1007, 1532, 1569]
    assert "customFields" in custom


def test_contact_get_single_multiple_and_404(replay) -> None:
    names = ("customer/get/simple_get", "customer/get/multiple_get", "customer/get/empty_not_found")
    with replay(*names) as (bp, app):
        [[john]] = bp.get_by_ids("contact-service/contact", [151499], batch_size=CONTACT_GET_MAX_IDS)
        [pair] = bp.get_by_ids("contact-service/contact", [151499, 81011], batch_size=CONTACT_GET_MAX_IDS)
        # 404 CMNC-404 = none of the ids exist: skipped by get_by_ids, raised by get().
        assert list(bp.get_by_ids("contact-service/contact", [1], batch_size=CONTACT_GET_MAX_IDS)) == []
        with pytest.raises(BrightpearlNotFoundError) as info:
            bp.get("contact-service/contact/1")
        with pytest.raises(BrightpearlNotFoundError):
            list(bp.get_by_ids("contact-service/contact", [1], batch_size=CONTACT_GET_MAX_IDS, missing_ok=False))
    assert app.received[1].raw_path.endswith("/contact/81011,151499")
    assert john["communication"]["emails"]["PRI"]["email"] == "test@gmail.com"
    assert parse_bp_datetime(john["updatedOn"]) == utc(2025, 8, 28, 20, 59, 22, 970000)
    assert [c["firstName"] for c in pair] == ["Víctor", "john"]  # UTF-8 body recorded as !binary
    assert (info.value.status, info.value.code, info.value.bp_message) == (404, "CMNC-404", "No Contact Found")


def test_goods_out_notes_by_id_and_for_an_order(replay) -> None:
    with replay("goods_out_note/get/by_gon_id", "goods_out_note/get/all_for_order") as (bp, app):
        [notes] = bp.get_by_ids(
            "warehouse-service/order/*/goods-note/goods-out", [12447605], batch_size=GOODS_OUT_NOTE_GET_MAX_IDS
        )
        for_order = bp.get("warehouse-service/order/988116/goods-note/goods-out/")
    assert app.received[0].raw_path.endswith("/warehouse-service/order/*/goods-note/goods-out/12447605")
    note = notes["12447605"]
    assert for_order["12447605"]["orderId"] == note["orderId"] == 988116
    assert note["status"]["shipped"] is True
    assert parse_bp_datetime(note["status"]["shippedOn"]) == utc(2025, 11, 4, 16, 41, 38)
    assert parse_quantity(note["orderRows"]["2975385"][0]["quantity"]) == Decimal(1)
    assert [event["eventCode"] for event in note["events"]][:2] == ["PLA", "SHW"]
    assert bp.stats.calls_by_endpoint == {
        "GET warehouse-service/order/{ids}/goods-note/goods-out/{ids}": 1,
        "GET warehouse-service/order/{ids}/goods-note/goods-out": 1,
    }


def test_product_availability(replay) -> None:
    with replay("product_availability_get") as (bp, app):
        [availability] = bp.get_by_ids(
            "warehouse-service/product-availability", [1532, 1007], batch_size=PRODUCT_AVAILABILITY_MAX_IDS
        )
    assert app.received[0].raw_path.endswith("/product-availability/1007,1532")
    assert availability["1532"]["total"] == {"inStock": 60, "onHand": 48, "allocated": 12, "inTransit": 0}
    assert availability["1007"]["warehouses"]["2"]["onHand"] == 4


@pytest.mark.parametrize(
    ("name", "path", "first"),
    [
        ("warehouse_get", "warehouse-service/warehouse/", {"id": 1, "name": "Default Warehouse"}),
        ("warehouse_get_by_id", "warehouse-service/warehouse/1", {"id": 1, "name": "Default Warehouse"}),
        ("order_status_get", "order-service/order-status/1", {"statusId": 1, "name": "Draft / Quote"}),
        ("order_shipping_status_get", "order-service/order-shipping-status", {"id": 1, "code": "NST"}),
        ("channel_get", "product-service/channel/", {"id": 1, "name": "Default Channel"}),
        ("shipping_method_get", "warehouse-service/shipping-method/", {"id": 1, "name": "Standard Shipping"}),
        ("order_type_get", "order-service/order-type/", {"id": 1, "name": "Sales Order"}),
        ("tax_code_get", "accounting-service/tax-code/", {"id": 1, "code": "Z"}),
        ("price_list_get", "product-service/price-list/1", {"id": 1, "currencySymbol": "₡"}),
    ],
)
def test_lookup_lists(replay, name: str, path: str, first: dict) -> None:
    with replay(name) as (bp, _):
        response = bp.get(path)
    assert isinstance(response, list) and response
    assert {key: response[0][key] for key in first} == first


def test_contact_tag_list_lands_in_the_warehouse(replay, tmp_path: Path) -> None:
    """The recorded tag list (a map keyed by tag id, not a list) refreshes `brightpearl.contact_tags`."""
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    with replay("contact_tag_get") as (bp, _):
        run = refresh_reference_list(
            streams.CONTACT_TAGS, bp, wh, logging.getLogger("test"), skip_if_fresh=None, run_id="cassette"
        )
    assert (run.counts.inserted, run.quarantined) == (2, 0)
    with wh.connect() as conn:
        rows = conn.execute("SELECT tag_id, tag_name, parent_tag_id, color FROM brightpearl.contact_tags ORDER BY 1")
        assert rows.fetchall() == [(16, "VIP", 0, "#ff0000"), (23, "Wholesale", 0, "#0000ff")]


def test_exchange_rates_offset_without_colon_and_float_rates(replay) -> None:
    with replay("exchange_rate_get") as (bp, _):
        rates = bp.get("accounting-service/exchange-rate/")
    assert parse_bp_datetime(rates[0]["rateActiveFrom"]) == utc(2026, 1, 1)
    assert [parse_money(rate["rate"]) for rate in rates] == [Decimal("1.234567"), Decimal("0.876543")]


def test_options_returns_get_uris(replay) -> None:
    with replay("order_options", "product_options", "customer/options/simple_options") as (bp, _):
        assert bp.options("order-service/order/1-100,320,321") == {
            "getUris": ["/order/1-2,5,8,10-41,43-44,46-100,320-321"]
        }
        assert bp.options("product-service/product/1-100,320,321") == {"getUris": []}
        assert bp.options("contact-service/contact/81011,151499") == {"getUris": ["/contact/81011,151499"]}


# --- writes and their recorded errors ----------------------------------------------------------------------

SO = {"reference": "#0001", "orderTypeCode": "SO", "parties": {"customer": {"contactId": 200}}}
ROW = {
    "productName": "Brightpearl Product",
    "quantity": {"magnitude": 5},
    "rowValue": {"taxCode": "13", "rowNet": {"value": 100}, "rowTax": {"value": 13}},
}


def test_order_post_and_status_put(replay) -> None:
    with replay("order_status_update_put") as (bp, app):
        order_id = bp.post("order-service/order", SO)
        assert order_id == 339
        assert bp.put(f"order-service/order/{order_id}/status", {"orderStatusId": 2}) is None
    assert app.received[1].headers["content-type"] == "application/json"
    assert app.received[1].body == b'{"orderStatusId":2}'


def test_order_and_row_posts_patch_and_delete(replay) -> None:
    with replay("order_row_post") as (bp, _):
        order_id = bp.post("order-service/order", SO)
        assert bp.post(f"order-service/order/{order_id}/row", ROW) == 398
    with replay("order_row_patch") as (bp, _):
        bp.post("order-service/order", SO)
        bp.post("order-service/order/333/row", ROW)
        row = bp.patch(
            "order-service/order/333/row/399", [{"op": "replace", "path": "/rowValue/rowNet/value", "value": 200}]
        )
        assert parse_quantity(row["quantity"]["magnitude"]) == Decimal("5.0000")
    with replay("order_row_delete") as (bp, _):
        bp.post("order-service/order", SO)
        bp.post("order-service/order/336/row", ROW)
        assert bp.delete("order-service/order/336/row/402") is None
    with replay("order_patch") as (bp, _):
        assert bp.post("order-service/order", SO) == 329
        patched = bp.patch(
            "order-service/order/329",
            [
                {"op": "replace", "path": "/delivery/deliveryDate", "value": "2022-01-20"},
                {"op": "replace", "path": "/reference", "value": "#XYZ"},
            ],
        )
    # A date-only input is UTC midnight: Brightpearl returns it at 18:00 -06:00 the day before.
    assert patched["reference"] == "#XYZ"
    assert parse_bp_datetime(patched["delivery"]["deliveryDate"]) == utc(2022, 1, 20)


@pytest.mark.parametrize(
    ("name", "body", "status", "code", "text"),
    [
        ("order_post_error_missing_required", {"reference": "#0001"}, 400, "ORDC-005", "order type code"),
        (
            "order_post_error_unknown",
            {"reference": "#0001", "orderTypeCode": "UK", "parties": {"customer": {"contactId": 200}}},
            400,
            "ORDC-006",
            "invalid order type code",
        ),
        (
            "order_post_error_wrong_party",
            {"reference": "#0001", "orderTypeCode": "PO", "parties": {"customer": {"contactId": 200}}},
            400,
            "ORDC-022",
            "Suppllier ID Required",
        ),
    ],
)
def test_order_post_errors(replay, name: str, body: dict, status: int, code: str, text: str) -> None:
    with replay(name) as (bp, app), pytest.raises(BrightpearlRequestError) as info:
        bp.post("order-service/order", body)
    error = info.value
    assert (error.status, error.code, error.method, error.path) == (status, code, "POST", "order-service/order")
    assert text in error.bp_message and text in str(error) and code in str(error)
    assert len(app.received) == 1


def test_patch_invalid_operation_500_is_not_retried(replay) -> None:
    with replay("order_patch_error_operation") as (bp, app):
        bp.post("order-service/order", SO)
        with pytest.raises(BrightpearlRequestError) as info:
            bp.patch("order-service/order/330", [{"op": "add", "path": "/reference", "value": "#XYZ"}], idempotent=True)
    assert (info.value.status, info.value.code) == (500, "CMNC-044")
    assert len(app.received) == 2


# --- 401 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [("client_error_expired", "Authorization token expired"), ("client_error_invalid", "Invalid instance token")],
)
def test_401_raises_auth_error_naming_the_settings(replay, name: str, text: str) -> None:
    with replay(name) as (bp, app):
        for path in ("order-service/order/1", "product-service/product/1"):
            with pytest.raises(BrightpearlAuthError) as info:
                bp.get(path)
            message = str(info.value)
            assert text in message and f"GET {path}" in message and "HTTP 401" in message
            assert "BRIGHTPEARL_APP_REF" in message and "BRIGHTPEARL_ACCOUNT_TOKEN" in message
    assert len(app.received) == 2  # never retried


def test_401_echoing_the_token_is_scrubbed(replay) -> None:
    # Brightpearl echoes a rejected token back, JSON-escaped ("=" as \u003d); it must not reach the message.
    token = "ueHd8764HcvzKsSIjo28RZna6+91EDDuYnF47kP1DCE="
    with replay("client/search_error", token=token) as (bp, _), pytest.raises(BrightpearlAuthError) as info:
        list(bp.search("product-service/product-search", {"SKU": "XXX"}))
    error = info.value
    for text in (str(error), repr(error), error.bp_message or "", repr(error.args)):
        assert token not in text and "ueHd8764" not in text
    assert "Invalid instance token: ***" in str(error)
