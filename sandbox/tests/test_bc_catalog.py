"""Catalog V3 (products, variants) and Inventory V3 (absolute adjustments, items, locations)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bc_helpers import BC, CLOCK, SPEC_PRODUCT_BASE, SPEC_VARIANT, Server, loopback_server
from bp_sandbox.bigcommerce.errors import STATUS_TYPE


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with loopback_server() as running:
        yield running


@pytest.fixture()
def bc(server: Server, tmp_path: Path) -> Iterator[BC]:
    with server.emulator(tmp_path / "world.db") as emulator:
        yield emulator


def adjust(bc: BC, *items: dict[str, Any]) -> Any:
    return bc.client.put("v3/inventory/adjustments/absolute", json={"reason": "BP sync", "items": list(items)})


def test_products_envelope_paging_and_filters(bc: BC) -> None:
    r = bc.client.get("v3/catalog/products", params={"limit": 2})
    body = r.json()
    assert [p["id"] for p in body["data"]] == [101, 102]
    assert body["meta"]["pagination"] == {
        "total": 3,
        "count": 2,
        "per_page": 2,
        "current_page": 1,
        "total_pages": 2,
        "links": {"current": "?page=1&limit=2", "next": "?page=2&limit=2"},
    }
    page2 = bc.client.get("v3/catalog/products", params={"limit": 2, "page": 2}).json()
    assert [p["id"] for p in page2["data"]] == [103] and "next" not in page2["meta"]["pagination"]["links"]
    past = bc.client.get("v3/catalog/products", params={"limit": 2, "page": 5})
    assert past.status_code == 200 and past.json()["data"] == []  # V3 lists never answer 204
    assert bc.client.get("v3/catalog/products", params={"limit": 500}).json()["meta"]["pagination"]["per_page"] == 250
    assert [p["id"] for p in bc.client.get("v3/catalog/products", params={"sku": "TEE"}).json()["data"]] == [102]
    by_in = bc.client.get("v3/catalog/products", params={"sku:in": "GIFT,MUG-1,NOPE"}).json()["data"]
    assert [p["id"] for p in by_in] == [101, 103]
    assert [p["id"] for p in bc.client.get("v3/catalog/products", params={"id:in": "103,102"}).json()["data"]] == [
        102,
        103,
    ]
    assert bc.client.get("v3/catalog/products", params={"sku": "TEE-S"}).json()["data"] == []  # main SKU only


def test_product_shape_include_variants_and_404(bc: BC) -> None:
    product = bc.client.get("v3/catalog/products/102", params={"include": "variants"}).json()
    assert product["meta"] == {}
    data = product["data"]
    assert set(data) == SPEC_PRODUCT_BASE | {"variants"}
    assert (data["price"], data["inventory_tracking"], data["inventory_level"]) == (20.0, "variant", 6)
    assert data["date_modified"] == "2024-01-01T00:01:00+00:00"
    assert [v["sku"] for v in data["variants"]] == ["TEE-S", "TEE-M", "TEE-L"]
    missing = bc.client.get("v3/catalog/products/999")
    assert missing.status_code == 404
    assert missing.json() == {
        "status": 404,
        "title": "The requested resource was not found.",
        "type": STATUS_TYPE,
        "errors": {},
    }


def test_variants_by_sku_sku_in_and_product(bc: BC) -> None:
    by_sku = bc.client.get("v3/catalog/variants", params={"sku": "TEE-M"}).json()
    assert len(by_sku["data"]) == 1
    variant = by_sku["data"][0]
    assert set(variant) == SPEC_VARIANT
    assert (variant["id"], variant["product_id"], variant["price"]) == (212, 102, 22.0)
    assert variant["calculated_price"] == 22.0
    assert variant["sku_id"] == 212
    base = bc.client.get("v3/catalog/variants", params={"sku": "MUG-1"}).json()["data"][0]
    assert base["sku_id"] is None and base["price"] is None and base["calculated_price"] == 12.5
    many = bc.client.get("v3/catalog/variants", params={"sku:in": "TEE-S,TEE-L,MUG-1"}).json()
    assert [v["id"] for v in many["data"]] == [201, 211, 213] and many["meta"]["pagination"]["total"] == 3
    by_product = bc.client.get("v3/catalog/variants", params={"product_id:in": "102", "limit": 2}).json()
    assert [v["id"] for v in by_product["data"]] == [211, 212] and by_product["meta"]["pagination"]["total_pages"] == 2
    nested = bc.client.get("v3/catalog/products/102/variants").json()["data"]
    assert [v["id"] for v in nested] == [211, 212, 213]
    assert bc.client.get("v3/catalog/products/999/variants").status_code == 404


def test_absolute_adjustment_sets_stock_and_catalog_levels(bc: BC) -> None:
    r = adjust(
        bc,
        {"location_id": 1, "sku": "TEE-S", "quantity": 10},
        {"location_id": 1, "variant_id": 213, "quantity": 0},
        {"location_id": 1, "product_id": 101, "quantity": 42},
        {"location_id": 2, "sku": "MUG-1", "quantity": 8},
    )
    assert r.status_code == 200 and len(r.json()["transaction_id"]) == 36
    tee = bc.client.get("v3/catalog/products/102", params={"include": "variants"}).json()["data"]
    assert {v["sku"]: v["inventory_level"] for v in tee["variants"]} == {"TEE-S": 10, "TEE-M": 2, "TEE-L": 0}
    assert tee["inventory_level"] == 12 and tee["date_modified"] == CLOCK.isoformat()
    mug = bc.state("inventory", sku="MUG-1").json()
    assert mug["product_inventory_level"] == 42 and mug["variant_inventory_level"] == 42
    assert mug["locations"] == [{"location_id": 1, "quantity": 42}, {"location_id": 2, "quantity": 8}]


def test_adjustment_errors_are_422_problem_json_and_atomic(bc: BC) -> None:
    r = adjust(bc, {"location_id": 1, "sku": "TEE-S", "quantity": 99}, {"location_id": 1, "sku": "NOPE", "quantity": 1})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "Items with identity: [sku NOPE] not found"
    assert r.json()["errors"] == {"items.1": "Items with identity: [sku NOPE] not found"}
    assert bc.state("inventory", sku="TEE-S").json()["variant_inventory_level"] == 1  # nothing applied
    tracked_by_product = adjust(bc, {"location_id": 1, "variant_id": 201, "quantity": 3})
    assert (
        tracked_by_product.json()["title"]
        == "[Item with variant_id 201 is tracked by product, please update stock by product id]"
    )
    tracked_by_variant = adjust(bc, {"location_id": 1, "product_id": 102, "quantity": 3})
    assert (
        tracked_by_variant.json()["title"]
        == "[Item with product_id 102 is tracked by variant, please update stock by variant id]"
    )
    assert adjust(bc, {"location_id": 1, "sku": "GIFT", "quantity": 3}).status_code == 422  # tracking none
    assert (
        adjust(bc, {"location_id": 9, "sku": "TEE-S", "quantity": 3}).json()["title"]
        == "[Location with id 9 not found]"
    )
    assert adjust(bc, {"location_id": 1, "sku": "TEE-S", "quantity": -1}).status_code == 422


def test_adjustment_over_2000_items_is_413(bc: BC) -> None:
    items = [{"location_id": 1, "sku": "TEE-S", "quantity": n} for n in range(2001)]
    r = adjust(bc, *items)
    assert r.status_code == 413 and r.json()["status"] == 413
    assert adjust(bc, *items[:2000]).status_code == 200
    assert bc.state("inventory", sku="TEE-S").json()["variant_inventory_level"] == 1999


def test_inventory_items_locations_and_location_items(bc: BC) -> None:
    items = bc.client.get("v3/inventory/items").json()
    assert [i["identity"]["sku"] for i in items["data"]] == ["MUG-1", "TEE-S", "TEE-M", "TEE-L"]  # GIFT untracked
    mug = items["data"][0]
    assert mug["identity"] == {"sku": "MUG-1", "variant_id": 201, "product_id": 101, "sku_id": None}
    assert [(loc["location_id"], loc["total_inventory_onhand"]) for loc in mug["locations"]] == [(1, 5), (2, 7)]
    assert set(mug["locations"][0]) == {
        "location_id",
        "location_code",
        "location_name",
        "available_to_sell",
        "total_inventory_onhand",
        "location_enabled",
        "settings",
    }
    only = bc.client.get("v3/inventory/items", params={"sku:in": "TEE-M", "location_id:in": "1"}).json()["data"]
    assert len(only) == 1 and [loc["location_id"] for loc in only[0]["locations"]] == [1]
    at2 = bc.client.get("v3/inventory/locations/2/items").json()["data"]
    assert [(i["identity"]["sku"], i["available_to_sell"]) for i in at2][:2] == [("MUG-1", 7), ("TEE-S", 0)]
    assert bc.client.get("v3/inventory/locations/9/items").status_code == 404
    locations = bc.client.get("v3/inventory/locations").json()["data"]
    assert [(loc["id"], loc["code"], loc["label"]) for loc in locations] == [
        (1, "BC-LOCATION-1", "Default location"),
        (2, "WH-2", "Warehouse 2"),
    ]
