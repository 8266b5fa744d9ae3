"""Pure helpers: timestamp/money parsers, ID sets, query encoding, header reading, endpoint templates, scrubbing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bp_pipelines.lib.brightpearl import (
    batch_id_sets,
    parse_bp_datetime,
    parse_money,
    parse_quantity,
    to_id_set,
)
from bp_pipelines.lib.brightpearl.errors import scrub
from bp_pipelines.lib.brightpearl.governor import read_throttle_headers
from bp_pipelines.lib.brightpearl.stats import endpoint_template
from bp_pipelines.lib.brightpearl.wire import api_url, encode_body, encode_query


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-01-26T10:39:46.000-06:00", datetime(2022, 1, 26, 16, 39, 46, tzinfo=UTC)),
        ("2025-08-28T14:59:22.970-06:00", datetime(2025, 8, 28, 20, 59, 22, 970000, tzinfo=UTC)),
        ("2013-05-23T22:14:06.000Z", datetime(2013, 5, 23, 22, 14, 6, tzinfo=UTC)),
        ("2026-01-01T00:00:00.000+0000", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2024-03-01T01:30:00+02:00", datetime(2024, 2, 29, 23, 30, tzinfo=UTC)),
        ("2021-01-01T00:00:00", datetime(2021, 1, 1, tzinfo=UTC)),  # no offset: UTC, Brightpearl's storage zone
        ("2022-01-20", datetime(2022, 1, 20, tzinfo=UTC)),  # date-only: UTC midnight
        ("2023-03-06 17:22:26 -0600", datetime(2023, 3, 6, 23, 22, 26, tzinfo=UTC)),  # custom-field text form
        (" 2022-01-20 ", datetime(2022, 1, 20, tzinfo=UTC)),
    ],
)
def test_parse_bp_datetime(text: str, expected: datetime) -> None:
    parsed = parse_bp_datetime(text)
    assert parsed == expected and parsed.tzinfo is UTC


def test_parse_bp_datetime_edge_values() -> None:
    assert parse_bp_datetime(None) is None and parse_bp_datetime("") is None
    aware = datetime(2024, 1, 1, 6, tzinfo=timezone(timedelta(hours=6)))
    assert parse_bp_datetime(aware) == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_bp_datetime(date(2024, 5, 6)) == datetime(2024, 5, 6, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a Brightpearl timestamp: '2023-03-06 15:00:44 -0600 \\(GN"):
        parse_bp_datetime("2023-03-06 15:00:44 -0600 (GN#516491/01)")
    with pytest.raises(TypeError):
        parse_bp_datetime(1700000000)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0000", Decimal("10.0000")),
        ("9.0909", Decimal("9.0909")),
        ("-0.91", Decimal("-0.91")),
        (10, Decimal(10)),
        (0.1, Decimal("0.1")),  # via str(), not the binary expansion
        (1.234567, Decimal("1.234567")),
        (Decimal("2.50"), Decimal("2.50")),
        (None, None),
        ("", None),
    ],
)
def test_parse_money(value: object, expected: Decimal | None) -> None:
    result = parse_money(value)  # type: ignore[arg-type]
    assert result == expected
    if expected is not None:
        assert str(result) == str(expected)  # scale kept


def test_parse_money_rejects_non_amounts() -> None:
    for bad in ("ten", "1,000.00", "NaN", "Infinity"):
        with pytest.raises(ValueError, match="money amount"):
            parse_money(bad)
    with pytest.raises(TypeError):
        parse_money(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_money({"value": "1.00"})  # type: ignore[arg-type]
    assert parse_quantity("5.0000") == Decimal("5.0000") and parse_quantity(1) == Decimal(1)
    with pytest.raises(ValueError, match="quantity"):
        parse_quantity("five")


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([1, 2, 3, 7], "1-3,7"),
        ([7, 3, 2, 1, 3], "1-3,7"),
        ([5], "5"),
        ([5, 6], "5,6"),
        ([1, 2, 5, 8, *range(10, 42), 43, 44, *range(46, 101), 320, 321], "1,2,5,8,10-41,43,44,46-100,320,321"),
        (range(1, 201), "1-200"),
    ],
)
def test_to_id_set(ids: list[int], expected: str) -> None:
    assert to_id_set(ids) == expected


def test_to_id_set_rejects_bad_input() -> None:
    for bad in ([], [-1], ["1"], [True], [1.5]):
        with pytest.raises(ValueError):
            to_id_set(bad)  # type: ignore[arg-type]


def test_batch_id_sets_limits_ids_and_characters() -> None:
    assert list(batch_id_sets(range(1, 451), 200)) == ["1-200", "201-400", "401-450"]
    assert list(batch_id_sets([], 200)) == []
    sparse = range(100_000_000, 100_000_000 + 2 * 500, 2)
    batches = list(batch_id_sets(sparse, 500, max_chars=1000))
    assert all(len(batch) <= 1000 for batch in batches) and len(batches) == 5
    with pytest.raises(ValueError):
        list(batch_id_sets([1], 0))


def test_query_encoding_keeps_period_slashes_and_encodes_the_rest() -> None:
    query = encode_query(
        {
            "updatedOn": "2026-07-01T00:00:00.000Z/",
            "createdOn": "2026-07-01T00:00:00+02:00/2026-07-02",
            "customerRef": "#0001 & co=1",
            "columns": "orderId,updatedOn",
            "shipped": False,
            "skip": None,
            "pageSize": 500,
        }
    )
    assert query == (
        "updatedOn=2026-07-01T00:00:00.000Z/&createdOn=2026-07-01T00:00:00%2B02:00/2026-07-02"
        "&customerRef=%230001%20%26%20co%3D1&columns=orderId,updatedOn&shipped=false&pageSize=500"
    )
    assert encode_query(None) == "" and encode_query({}) == ""


def test_api_url() -> None:
    assert (
        api_url("https://euw1.brightpearlconnect.com/", "acme", "/warehouse-service/order/*/goods-note/goods-out/1-3,7")
        == "https://euw1.brightpearlconnect.com/public-api/acme/warehouse-service/order/*/goods-note/goods-out/1-3,7"
    )
    assert api_url("http://127.0.0.1:9", "a b", "x y") == "http://127.0.0.1:9/public-api/a%20b/x%20y"


def test_encode_body_writes_exact_decimals_as_numbers() -> None:
    assert encode_body({"value": Decimal("9.09"), "qty": Decimal("5.0000"), "name": "Víctor"}) == (
        '{"value":9.09,"qty":5,"name":"Víctor"}'.encode()
    )
    with pytest.raises(ValueError, match="exact JSON number"):
        encode_body({"value": Decimal("0.12345678901234567890")})
    with pytest.raises(TypeError):
        encode_body({"when": datetime(2024, 1, 1)})


def test_throttle_headers_are_read_case_insensitively() -> None:
    upper = read_throttle_headers({"Brightpearl-Requests-Remaining": "12", "BRIGHTPEARL-NEXT-THROTTLE-PERIOD": "56565"})
    assert (upper.remaining, upper.period_seconds) == (12, 56.565)
    missing = read_throttle_headers({"brightpearl-requests-remaining": "soon"})
    assert (missing.remaining, missing.period_seconds) == (None, None)
    capped = read_throttle_headers({"brightpearl-next-throttle-period": "99999999"})
    assert capped.period_seconds == 120.0


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "order-service/order/1-3,7", "GET order-service/order/{ids}"),
        ("GET", "/warehouse-service/order/*/goods-note/goods-out/12447605", None),
        ("PUT", "order-service/order/339/status", "PUT order-service/order/{ids}/status"),
        ("GET", "order-service/order-search", "GET order-service/order-search"),
    ],
)
def test_endpoint_template(method: str, path: str, expected: str | None) -> None:
    expected = expected or "GET warehouse-service/order/{ids}/goods-note/goods-out/{ids}"
    assert endpoint_template(method, path) == expected


def test_scrub_covers_encoded_spellings() -> None:
    token = "ab+c/d=="
    text = f"raw {token} url ab%2Bc%2Fd%3D%3D gson ab+c/d\\u003d\\u003d"
    assert scrub(text, [token]) == "raw *** url *** gson ***"
    assert scrub("nothing", [""]) == "nothing"
