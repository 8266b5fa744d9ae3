"""Transforms against the recorded real Brightpearl responses (../shared/reference/recorded/brightpearl)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from bp_pipelines.lib.sync import transforms as tf

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDED = Path(os.environ.get("BP_RECORDED_CASSETTES", REPO_ROOT / "tests/fixtures/recorded/brightpearl"))


def recorded(name: str) -> Any:
    path = RECORDED / f"{name}.yml"
    interaction = yaml.safe_load(path.read_text())["http_interactions"][0]
    return json.loads(interaction["response"]["body"]["string"])["response"]


def test_order_base_currency_totals_are_read_as_sent() -> None:
    order, _ = tf.order_rows(recorded("order_get_one")[0])  # USD account, USD order: base = order currency
    assert order["base_currency_code"] == "USD"
    assert (order["base_total_net"], order["base_total_tax"], order["base_total_value"]) == (
        Decimal("9.09"),
        Decimal("0.91"),
        Decimal("10.00"),
    )
    raw = recorded("order_get_one")[0]
    old = {**raw, "currency": {"orderCurrencyCode": "USD", "exchangeRate": "1.0"}, "totalValue": {"total": "10.00"}}
    order, _ = tf.order_rows(old)  # a payload without base amounts stores NULL, never a guess
    assert (order["base_currency_code"], order["base_total_value"]) == (None, None)


def test_customer_payment_search_row() -> None:
    from bp_pipelines.lib.sync.coerce import RecordError
    from bp_pipelines.lib.sync.payments import COLUMNS, customer_payment_row

    path = RECORDED / "customer_payment" / "search" / "simple_search.yml"
    body = json.loads(yaml.safe_load(path.read_text())["http_interactions"][0]["response"]["body"]["string"])
    meta, [cells] = body["response"]["metaData"], body["response"]["results"]
    assert tuple(c["name"] for c in meta["columns"]) == COLUMNS  # the columns the sync asks for, as recorded
    row = customer_payment_row(dict(zip(COLUMNS, cells, strict=True)))
    assert row == {
        "payment_id": 935253,
        "order_id": 1081505,
        "payment_type": "RECEIPT",
        "payment_method_code": "PUNTOS",
        "currency_id": 2,
        "currency_code": "CRC",
        "amount_authorized": Decimal("0.00"),
        "amount_paid": Decimal("100.00"),
        "expires": None,
        "payment_date": datetime(2026, 4, 17, 16, 0, tzinfo=UTC),
        "created_on": datetime(2026, 4, 17, 17, 32, 8, tzinfo=UTC),
        "journal_id": 3113824,
        "transaction_ref": "RUBY-BP-RECEIPT-REF-0001",
        "transaction_code": "RUBY-BP-RECEIPT-CODE-0001",
    }
    with pytest.raises(RecordError, match="amountPaid"):
        customer_payment_row({**dict(zip(COLUMNS, cells, strict=True)), "amountPaid": "lots"})


def test_order_with_rows_money_decimal_times_utc() -> None:
    order, rows = tf.order_rows(recorded("order_get_one")[0])
    assert order["order_id"] == 1 and order["order_type_code"] == "SO"
    assert (order["order_status_id"], order["order_status_name"]) == (4, "Invoiced")
    assert order["contact_id"] == 200 and order["warehouse_id"] == 2 and order["channel_id"] == 0
    assert order["total_value"] == Decimal("10.00") and isinstance(order["total_net"], Decimal)
    assert order["total_tax"] == Decimal("0.91") and order["exchange_rate"] == Decimal("1.000000")
    assert order["invoice_reference"] == "SI-1001" and order["payment_status"] == "UNPAID"
    assert order["shipping_status_code"] == "ASS" and order["currency_code"] == "USD"
    # -06:00 account offset -> UTC
    assert order["placed_on"] == datetime(2020, 3, 31, 21, 2, 44, tzinfo=UTC)
    assert order["closed_on"] == datetime(2020, 3, 31, 21, 57, 20, tzinfo=UTC)
    assert order["updated_on"].utcoffset().total_seconds() == 0
    assert len(rows) == 1
    row = rows[0]
    assert (row["order_id"], row["row_id"], row["product_id"], row["sku"]) == (1, 1, 1007, "TEST001")
    assert row["quantity"] == Decimal("1.0000") and row["unit_price"] == Decimal("10.0000")
    assert row["row_net"] == Decimal("9.0909") and row["row_tax"] == Decimal("0.91")


def test_purchase_order_takes_the_supplier_party() -> None:
    order, rows = tf.order_rows(recorded("order_get_one_po")[0])
    assert order["order_type_code"] == "PO" and order["contact_id"] == 418
    assert rows and all(r["order_id"] == order["order_id"] for r in rows)


def test_multiple_orders_and_records_of() -> None:
    orders = list(tf.records_of(recorded("order_get_multiple")))
    assert [rid for rid, _ in orders] == [raw["id"] for _, raw in orders] and len(orders) >= 2
    for _, raw in orders:
        order, _rows = tf.order_rows(raw)
        assert order["delivery_date"] is None or order["delivery_date"].tzinfo is not None


def test_products() -> None:
    products = [tf.product_row(raw) for _, raw in tf.records_of(recorded("product_get_multiple"))]
    first = products[0]
    assert (first["product_id"], first["sku"], first["name"]) == (1007, "TEST001", "Nice Shirt for Summer")
    assert first["brand_id"] == 74 and first["stock_tracked"] is True and first["is_bundle"] is False
    assert first["status"] == "LIVE" and first["updated_on"] == datetime(2020, 7, 6, 7, 48, 36, tzinfo=UTC)
    assert any(p["product_group_id"] == 212 for p in products)


def test_contact_from_get_and_search_row() -> None:
    raw = recorded("customer/get/simple_get")[0]
    row = tf.contact_row(raw, {"isCustomer": True})
    assert row["contact_id"] == 151499 and row["email"] == "test@gmail.com"
    assert row["is_customer"] is True and row["is_supplier"] is False and row["is_staff"] is False
    assert row["price_list_id"] == 2 and row["credit_limit"] == Decimal(0) and row["credit_term_days"] == 0
    # .970 millis and the -06:00 offset survive
    assert row["updated_on"] == datetime(2025, 8, 28, 20, 59, 22, 970000, tzinfo=UTC)
    assert tf.contact_row(raw)["is_customer"] is None  # GET alone cannot tell
    assert row["tag_ids"] == [9]  # recorded "contactTags":"9"


@pytest.mark.parametrize(
    ("value", "ids"),
    [("9", [9]), ("23,16", [16, 23]), (" 16 , 9 ,9", [9, 16]), ("", []), (None, []), ([23, "16"], [16, 23]), (7, [7])],
)
def test_contact_tags_shapes_accepted(value: Any, ids: list[int]) -> None:
    assert tf.tag_ids(value, "contactTags") == ids


@pytest.mark.parametrize("value", ["9,", "VIP", "9;16", True, {"9": "VIP"}, [9.5], "-3", "99999999999999999999"])
def test_contact_tags_other_shapes_are_record_errors(value: Any) -> None:
    with pytest.raises(tf.RecordError, match="contactTags is not a list of tag ids"):
        tf.tag_ids(value, "contactTags")


def test_contact_tag_list() -> None:
    tags = [tf.contact_tag_row(raw) for raw in recorded("contact_tag_get").values()]
    assert tags == [
        {"tag_id": 16, "tag_name": "VIP", "parent_tag_id": 0, "color": "#ff0000"},
        {"tag_id": 23, "tag_name": "Wholesale", "parent_tag_id": 0, "color": "#0000ff"},
    ]


def test_goods_out_note_and_rows() -> None:
    response = recorded("goods_out_note/get/by_gon_id")
    [(note_id, raw)] = list(tf.records_of(response))
    note, rows = tf.goods_out_rows(note_id, raw)
    assert note["goods_out_note_id"] == 12447605 and note["order_id"] == 988116
    assert note["shipped"] is True and note["shipping_method_id"] == 49 and note["tracking_reference"] == ""
    assert note["shipped_on"] == datetime(2025, 11, 4, 16, 41, 38, tzinfo=UTC)
    assert {(r["order_row_id"], r["product_id"], r["quantity"]) for r in rows} >= {(2975385, 489065, 1)}


def test_goods_out_quantities_summed_over_locations() -> None:
    raw = {
        "orderId": 1,
        "warehouseId": 2,
        "createdOn": "2024-01-01T00:00:00Z",
        "status": {"shipped": False},
        "orderRows": {
            "10": [{"productId": 5, "quantity": 2, "locationId": 1}, {"productId": 5, "quantity": 3, "locationId": 2}]
        },
    }
    _note, rows = tf.goods_out_rows("7", raw)
    assert rows == [{"goods_out_note_id": 7, "order_row_id": 10, "product_id": 5, "quantity": 5}]


def test_availability() -> None:
    response = recorded("product_availability_get")
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [r for pid, raw in response.items() for r in tf.availability_rows(pid, raw, as_of)]
    by_product = {r["product_id"]: r for r in rows}
    assert by_product[1532] == {
        "product_id": 1532,
        "warehouse_id": 2,
        "in_stock": 60,
        "on_hand": 48,
        "allocated": 12,
        "in_transit": 0,
        "as_of": as_of,
    }


def test_reference_rows() -> None:
    assert tf.order_status_row(recorded("order_status_get")[0])["order_status_id"] == 1
    assert [tf.channel_row(r)["name"] for r in recorded("channel_get")] == ["Default Channel", "Web Channel"]
    assert tf.warehouse_row(recorded("warehouse_get")[0])["warehouse_id"] == 1
    assert tf.shipping_method_row(recorded("shipping_method_get")[1])["name"] == "Express Shipping"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda o: o.pop("orderTypeCode"), "orderTypeCode"),
        (lambda o: o["totalValue"].update(total="ten"), "totalValue.total"),
        (lambda o: o.update(placedOn="yesterday"), "placedOn"),
        (lambda o: o.update(warehouseId="two"), "warehouseId"),
        (lambda o: o.update(orderRows=[1, 2]), "orderRows"),
    ],
)
def test_bad_orders_raise_record_error_naming_the_field(mutate: Any, reason: str) -> None:
    raw = json.loads(json.dumps(recorded("order_get_one")[0]))
    mutate(raw)
    with pytest.raises(tf.RecordError, match=reason):
        tf.order_rows(raw)
