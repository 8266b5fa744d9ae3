"""Shipments V2 and order statuses on the BigCommerce emulator."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from bc_helpers import BC, CLOCK, SPEC_SHIPMENT, Server, loopback_server

READ_ONLY = "The field '{}' cannot be written to. Please remove it from your request before trying again."


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with loopback_server() as running:
        yield running


@pytest.fixture()
def bc(server: Server, tmp_path: Path) -> Iterator[BC]:
    with server.emulator(tmp_path / "world.db") as emulator:
        yield emulator


def ship(bc: BC, items: list[dict[str, Any]], **extra: Any) -> Any:
    return bc.client.post("v2/orders/1/shipments", json={"order_address_id": 1001, "items": items, **extra})


def test_no_shipments_is_204_then_partial_shipment_moves_order_to_3(bc: BC) -> None:
    empty = bc.client.get("v2/orders/1/shipments")
    assert empty.status_code == 204 and empty.content == b""
    r = ship(
        bc,
        [{"order_product_id": 5001, "quantity": 2}],
        tracking_number="1Z999",
        shipping_provider="ups",
        shipping_method="Ground",
        comments="GON 77",
    )
    assert r.status_code == 201
    shipment = r.json()
    assert shipment["items"] == [{"order_product_id": 5001, "product_id": 101, "quantity": 2}]
    assert shipment["shipping_provider_display_name"] == "UPS" and shipment["tracking_link"] == ""
    assert shipment["generated_tracking_link"].endswith("/ups/1Z999")
    assert shipment["billing_address"]["email"] == "Ann@Example.com"
    order = bc.client.get("v2/orders/1").json()
    assert (order["status_id"], order["status"], order["items_shipped"], order["date_shipped"]) == (
        3,
        "Partially Shipped",
        2,
        "",
    )
    lines = {p["id"]: p["quantity_shipped"] for p in bc.client.get("v2/orders/1/products").json()}
    assert lines == {5001: 2, 5002: 0}
    assert bc.client.get("v2/orders/1/shipping_addresses/1001").json()["items_shipped"] == 2
    assert bc.client.get("v2/orders/1/shipments/count").json() == {"count": 1}


def test_shipping_the_rest_moves_order_to_shipped_with_date_shipped(bc: BC) -> None:
    assert ship(bc, [{"order_product_id": 5001, "quantity": 1}]).status_code == 201
    r = ship(bc, [{"order_product_id": 5001, "quantity": 2}, {"order_product_id": 5002, "quantity": 2}])
    assert r.status_code == 201
    order = bc.client.get("v2/orders/1").json()
    assert (order["status_id"], order["items_shipped"]) == (2, 5)
    assert parsedate_to_datetime(order["date_shipped"]) == CLOCK
    listed = bc.client.get("v2/orders/1/shipments").json()
    assert [s["id"] for s in listed] == [1, 2] and set(listed[0]) == SPEC_SHIPMENT
    state = bc.state("orders/1").json()
    assert state["order"]["status_id"] == 2 and len(state["shipments"]) == 2
    assert [s["order_id"] for s in bc.state("shipments", order_id=1).json()] == [1, 1]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            [{"order_product_id": 5001, "quantity": 4}],
            "Quantity 4 for order product 5001 exceeds the unshipped quantity 3.",
        ),
        (
            [{"order_product_id": 5001, "quantity": 2}, {"order_product_id": 5001, "quantity": 2}],
            "Quantity 4 for order product 5001 exceeds the unshipped quantity 3.",
        ),
        (
            [{"order_product_id": 5001, "quantity": 0}],
            "Invalid quantity 0 for order product 5001: it must be a positive integer.",
        ),
        ([{"order_product_id": 9999, "quantity": 1}], "Order product 9999 does not exist on order 1."),
        ([{"order_product_id": 5001, "product_id": 101, "quantity": 1}], READ_ONLY.format("product_id")),
    ],
)
def test_invalid_items_are_400_naming_the_item_and_change_nothing(bc: BC, items: list[Any], message: str) -> None:
    r = ship(bc, items)
    assert r.status_code == 400
    assert r.json() == [{"status": 400, "message": message}]
    assert bc.client.get("v2/orders/1").json()["status_id"] == 11
    assert bc.client.get("v2/orders/1/shipments").status_code == 204


def test_required_fields_and_unknown_address(bc: BC) -> None:
    r = bc.client.post("v2/orders/1/shipments", json={"tracking_number": "x"})
    assert r.json() == [{"status": 400, "message": "Required fields missing [order_address_id, items]"}]
    r = bc.client.post(
        "v2/orders/1/shipments", json={"order_address_id": 1002, "items": [{"order_product_id": 5001, "quantity": 1}]}
    )
    assert r.status_code == 400 and r.json()[0]["message"] == "Order address 1002 does not exist on order 1."
    assert bc.client.post("v2/orders/99999/shipments", json={"order_address_id": 1, "items": []}).status_code == 404


def test_over_shipping_after_a_full_shipment_is_rejected(bc: BC) -> None:
    assert ship(bc, [{"order_product_id": 5001, "quantity": 3}]).status_code == 201
    r = ship(bc, [{"order_product_id": 5001, "quantity": 1}])
    assert r.status_code == 400 and "exceeds the unshipped quantity 0" in r.json()[0]["message"]


def test_put_updates_tracking_but_never_items(bc: BC) -> None:
    sid = ship(bc, [{"order_product_id": 5001, "quantity": 1}]).json()["id"]
    r = bc.client.put(f"v2/orders/1/shipments/{sid}", json={"items": [{"order_product_id": 5001, "quantity": 3}]})
    assert r.status_code == 400 and r.json() == [{"status": 400, "message": READ_ONLY.format("items")}]
    r = bc.client.put(
        f"v2/orders/1/shipments/{sid}",
        json={"tracking_number": "TRK-2", "tracking_link": "https://t.example/TRK-2", "merchant_shipping_cost": 4.5},
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["tracking_number"], body["tracking_link"], body["generated_tracking_link"]) == (
        "TRK-2",
        "https://t.example/TRK-2",
        "",
    )
    assert body["merchant_shipping_cost"] == "4.5000" and body["items"][0]["quantity"] == 1
    assert bc.client.get(f"v2/orders/1/shipments/{sid}").json()["tracking_number"] == "TRK-2"


def test_delete_gives_quantities_back_but_keeps_status(bc: BC) -> None:
    sid = ship(bc, [{"order_product_id": 5001, "quantity": 3}, {"order_product_id": 5002, "quantity": 2}]).json()["id"]
    assert bc.client.delete(f"v2/orders/1/shipments/{sid}").status_code == 204
    order = bc.client.get("v2/orders/1").json()
    assert (order["status_id"], order["items_shipped"]) == (2, 0)
    assert bc.client.get(f"v2/orders/1/shipments/{sid}").status_code == 404
    assert ship(bc, [{"order_product_id": 5001, "quantity": 3}]).status_code == 201


def test_order_statuses_are_the_15_documented_ones(bc: BC) -> None:
    statuses = bc.client.get("v2/order_statuses").json()
    assert [(s["id"], s["name"]) for s in statuses] == [
        (0, "Incomplete"),
        (1, "Pending"),
        (2, "Shipped"),
        (3, "Partially Shipped"),
        (4, "Refunded"),
        (5, "Cancelled"),
        (6, "Declined"),
        (7, "Awaiting Payment"),
        (8, "Awaiting Pickup"),
        (9, "Awaiting Shipment"),
        (10, "Completed"),
        (11, "Awaiting Fulfillment"),
        (12, "Manual Verification Required"),
        (13, "Disputed"),
        (14, "Partially Refunded"),
    ]
    assert [s["order"] for s in statuses] == [0, 1, 8, 6, 11, 9, 10, 2, 5, 4, 7, 3, 13, 12, 14]
    assert {"system_label", "custom_label", "system_description"} <= set(statuses[0])
    assert bc.client.get("v2/order_statuses/14").json()["name"] == "Partially Refunded"
    assert bc.client.get("v2/order_statuses/15").status_code == 404
