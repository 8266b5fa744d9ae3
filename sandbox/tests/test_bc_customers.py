"""Customers V3 and customer groups V2 on the BigCommerce emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bc_helpers import BC, CLOCK, SPEC_CUSTOMER, SPEC_CUSTOMER_GROUP, Server, loopback_server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with loopback_server() as running:
        yield running


@pytest.fixture()
def bc(server: Server, tmp_path: Path) -> Iterator[BC]:
    with server.emulator(tmp_path / "world.db") as emulator:
        yield emulator


def new(n: int, **extra: Any) -> dict[str, Any]:
    return {"email": f"new{n}@example.com", "first_name": f"N{n}", "last_name": "New", **extra}


def ids(response: Any) -> list[int]:
    return [c["id"] for c in response.json()["data"]]


def test_filters_email_in_case_insensitive_id_company_group_and_date(bc: BC) -> None:
    assert ids(bc.client.get("v3/customers", params={"email:in": "bob@example.COM,cy@example.com,x@y.z"})) == [2, 3]
    assert ids(bc.client.get("v3/customers", params={"id:in": "3,1"})) == [1, 3]
    assert ids(bc.client.get("v3/customers", params={"company:in": "acme"})) == [2, 3]
    assert ids(bc.client.get("v3/customers", params={"customer_group_id:in": "1"})) == [1]
    assert ids(bc.client.get("v3/customers", params={"date_modified:min": "2024-01-01T00:15:00Z"})) == [3]
    assert ids(bc.client.get("v3/customers", params={"sort": "date_modified:desc", "limit": 2})) == [3, 2]
    page = bc.client.get("v3/customers", params={"limit": 2, "page": 2}).json()
    assert [c["id"] for c in page["data"]] == [3] and page["meta"]["pagination"]["total"] == 3
    assert bc.client.get("v3/customers", params={"date_modified:min": "soon"}).status_code == 422


def test_customer_fields_match_the_spec_with_includes(bc: BC) -> None:
    include = "addresses,storecredit,attributes,formfields"
    full = bc.client.get("v3/customers", params={"id:in": "1", "include": include})
    assert set(full.json()["data"][0]) == SPEC_CUSTOMER
    plain = bc.client.get("v3/customers", params={"id:in": "1"}).json()["data"][0]
    assert set(plain) == SPEC_CUSTOMER - {"addresses", "attributes", "form_fields", "store_credit_amounts"}
    assert plain["date_created"] == "2024-01-01T00:00:00+00:00" and plain["authentication"] == {
        "force_password_reset": False
    }


def test_post_batch_of_10_is_200_and_11_is_413(bc: BC) -> None:
    r = bc.client.post("v3/customers", json=[new(n, company="B2B Co", customer_group_id=2) for n in range(10)])
    assert r.status_code == 200
    body = r.json()
    assert body["meta"] == {} and len(body["data"]) == 10
    assert body["data"][0]["date_created"] == CLOCK.isoformat() and body["data"][0]["customer_group_id"] == 2
    too_many = bc.client.post("v3/customers", json=[new(n) for n in range(20, 31)])
    assert too_many.status_code == 413
    assert too_many.json()["title"] == "The request payload is too large. The maximum items allowed in the array is 10."
    assert bc.client.get("v3/customers").json()["meta"]["pagination"]["total"] == 13


def test_post_with_addresses_keeps_them(bc: BC) -> None:
    address = {"first_name": "A", "last_name": "B", "address1": "1 Rd", "city": "Leeds", "country_code": "GB"}
    created = bc.client.post("v3/customers", json=[new(1, addresses=[address])]).json()["data"][0]
    assert created["address_count"] == 1 and created["addresses"][0]["city"] == "Leeds"
    state = bc.state("customers", email="NEW1@example.com").json()
    assert [c["id"] for c in state] == [created["id"]]


def test_missing_required_fields_are_422_naming_them(bc: BC) -> None:
    r = bc.client.post("v3/customers", json=[new(1), {"email": "x@example.com"}])
    assert r.status_code == 422
    assert r.json()["title"] == "Missing Required Fields"
    assert r.json()["errors"] == {"1.first_name": "first_name is required", "1.last_name": "last_name is required"}
    assert bc.state("customers", email="new1@example.com").json() == []  # the batch is all or nothing


@pytest.mark.parametrize(
    "batch",
    [
        [{"email": "ANN@example.com", "first_name": "A", "last_name": "L"}],
        [new(1), {"email": "New1@Example.com", "first_name": "N", "last_name": "N"}],
    ],
)
def test_duplicate_email_is_422(bc: BC, batch: list[dict[str, Any]]) -> None:
    r = bc.client.post("v3/customers", json=batch)
    assert r.status_code == 422
    ((field, message),) = r.json()["errors"].items()
    assert field.endswith(".email") and "is already in use by another customer" in message


def test_put_updates_and_rejects_read_only_fields(bc: BC) -> None:
    r = bc.client.put("v3/customers", json=[{"id": 2, "company": "Acme Ltd", "customer_group_id": 1}])
    assert r.status_code == 200
    assert (r.json()["data"][0]["company"], r.json()["data"][0]["date_modified"]) == ("Acme Ltd", CLOCK.isoformat())
    bad = bc.client.put("v3/customers", json=[{"id": 2, "date_created": "2020-01-01"}, {"company": "x"}])
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"0.date_created", "1.id"}
    assert bc.client.put("v3/customers", json=[{"id": 3, "email": "bob@example.com"}]).status_code == 422
    assert bc.client.put("v3/customers", json=[{"id": n} for n in range(11)]).status_code == 413


def test_delete_by_id_in(bc: BC) -> None:
    assert bc.client.delete("v3/customers", params={"id:in": "1,3"}).status_code == 204
    assert ids(bc.client.get("v3/customers")) == [2]
    assert bc.client.delete("v3/customers").status_code == 204
    assert ids(bc.client.get("v3/customers")) == [2]


def test_customer_groups_v2(bc: BC) -> None:
    groups = bc.client.get("v2/customer_groups").json()
    assert [(g["id"], g["name"], g["is_default"]) for g in groups] == [(1, "Retail", True), (2, "Wholesale", False)]
    assert set(groups[0]) == SPEC_CUSTOMER_GROUP
    assert bc.client.get("v2/customer_groups/count").json() == {"count": 2}
    created = bc.client.post("v2/customer_groups", json={"name": "Trade", "category_access": {"type": "all"}})
    assert created.status_code == 200
    group = created.json()
    assert group["date_created"] == CLOCK.strftime("%Y-%m-%d %H:%M:%S")
    assert bc.client.post("v2/customer_groups", json={"name": "trade"}).status_code == 409
    assert bc.client.post("v2/customer_groups", json={"is_default": True}).json() == [
        {"status": 400, "message": "Required fields missing [name]"}
    ]
    updated = bc.client.put(f"v2/customer_groups/{group['id']}", json={"is_default": True}).json()
    assert updated["is_default"] is True
    assert bc.client.get("v2/customer_groups/1").json()["is_default"] is False
    assert [g["name"] for g in bc.client.get("v2/customer_groups", params={"name:like": "ail"}).json()] == ["Retail"]
    assert bc.client.get("v2/customer_groups", params={"page": 2}).status_code == 204
    assert bc.client.get("v2/customer_groups/99").status_code == 404
