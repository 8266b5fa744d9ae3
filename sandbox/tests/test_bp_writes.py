"""Write endpoints: order POST (+ recorded errors), rows, status PUT rules, sales-order, contacts, GON events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from bp_sandbox.testing import http_client


@pytest.fixture(scope="module")
def sbx(module_sandbox: Any) -> Any:
    return module_sandbox(seed=21, orders=400)


_HTTP = http_client()  # one client (and TLS context) for the module's many raw calls


def _post(sbx: Any, path: str, body: Any, method: str = "POST", **headers: str) -> httpx.Response:
    return _HTTP.request(method, f"{sbx.brightpearl_api}/{path}", json=body, headers={**sbx.bp_headers(), **headers})


def _order(sbx: Any, order_id: int) -> dict[str, Any]:
    return sbx.bp_get(f"order-service/order/{order_id}").json()["response"][0]


def _ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"reference": "#0001"}, {"code": "ORDC-005", "message": "You have not supplied an order type code"}),
        (
            {"reference": "#0001", "orderTypeCode": "UK", "parties": {"customer": {"contactId": 250}}},
            {"code": "ORDC-006", "message": "You have supplied an invalid order type code"},
        ),
        (
            {"reference": "#0001", "orderTypeCode": "PO", "parties": {"customer": {"contactId": 250}}},
            {"code": "ORDC-022", "message": "Suppllier ID Required."},
        ),
    ],
)
def test_order_post_errors_as_recorded(sbx: Any, body: dict[str, Any], error: dict[str, str]) -> None:
    resp = _post(sbx, "order-service/order", body)
    assert (resp.status_code, resp.json()) == (400, {"errors": [error]})
    assert resp.headers["message-type"] == "post-order"


def test_order_post_then_row_post_as_recorded(sbx: Any) -> None:
    contact = sbx.bp_get("contact-service/contact-search", isCustomer="true", pageSize=1).json()
    contact_id = contact["response"]["results"][0][0]
    resp = _post(
        sbx,
        "order-service/order",
        {"reference": "#0001", "orderTypeCode": "SO", "parties": {"customer": {"contactId": contact_id}}},
    )
    assert resp.status_code == 200
    order_id = resp.json()["response"]
    assert isinstance(order_id, int) and order_id > 400
    order = _order(sbx, order_id)
    assert (order["orderStatus"]["orderStatusId"], order["reference"], order["orderRows"]) == (3, "#0001", {})
    assert (order["shippingStatusCode"], order["orderPaymentStatus"], order["totalValue"]["total"]) == (
        "NST",
        "NOT_APPLICABLE",
        "0.00",
    )
    row = _post(
        sbx,
        f"order-service/order/{order_id}/row",
        {
            "productName": "Brightpearl Product",
            "quantity": {"magnitude": 5},
            "rowValue": {"taxCode": "13", "rowNet": {"value": 100}, "rowTax": {"value": 13}},
        },
    )
    assert row.status_code == 200 and row.headers["message-type"] == "post-order-row"
    doc = _order(sbx, order_id)["orderRows"][str(row.json()["response"])]
    assert doc["quantity"]["magnitude"] == "5.0000" and doc["rowValue"]["rowNet"]["value"] == "100.0000"
    assert doc["rowValue"]["rowTax"]["value"] == "13.00" and doc["rowValue"]["taxRate"] == "13.0000"
    assert _order(sbx, order_id)["totalValue"] == {
        "net": "100.00",
        "taxAmount": "13.00",
        "baseNet": "100.00",
        "baseTaxAmount": "13.00",
        "baseTotal": "113.00",
        "total": "113.00",
    }
    bad = _post(sbx, f"order-service/order/{order_id}/row", {"quantity": {"magnitude": 1}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "ORDC-040"
    assert _post(sbx, "order-service/order/99999999/row", {"productName": "x"}).status_code == 404


def test_bundle_row_expands_into_children(sbx: Any) -> None:
    bundle = sbx.bp_get("product-service/product-search", productTypeId=2, pageSize=1).json()
    bundle_id = bundle["response"]["results"][0][0]
    order_id = _post(
        sbx, "order-service/order", {"orderTypeCode": "SO", "parties": {"customer": {"contactId": 250}}}
    ).json()["response"]
    parent_id = _post(
        sbx, f"order-service/order/{order_id}/row", {"productId": bundle_id, "quantity": {"magnitude": 2}}
    ).json()["response"]
    rows = _order(sbx, order_id)["orderRows"]
    children = [r for r in rows.values() if r["composition"]["parentOrderRowId"] == parent_id]
    assert rows[str(parent_id)]["composition"]["bundleParent"] is True and len(children) >= 2
    assert all(c["composition"]["bundleChild"] and c["rowValue"]["rowNet"]["value"] == "0.0000" for c in children)
    assert _order(sbx, order_id)["shippingStatusCode"] == "SNS"


def test_status_put_rules_and_updated_on(sbx: Any) -> None:
    order_id = _post(
        sbx, "order-service/order", {"orderTypeCode": "SO", "parties": {"customer": {"contactId": 250}}}
    ).json()["response"]
    clock = sbx.advance_clock(90)
    ok = _post(sbx, f"order-service/order/{order_id}/status", {"orderStatusId": 2}, method="PUT")
    assert (ok.status_code, ok.text, ok.headers["message-type"]) == (200, "{}", "put-order-status")
    after = _order(sbx, order_id)
    assert after["orderStatus"] == {"orderStatusId": 2, "name": "Quote sent"} and _ms(after["updatedOn"]) == clock
    for status, code in ((999, "ORDC-030"), (6, "ORDC-031"), (17, "ORDC-032")):
        resp = _post(sbx, f"order-service/order/{order_id}/status", {"orderStatusId": status}, method="PUT")
        assert (resp.status_code, resp.json()["errors"][0]["code"]) == (400, code)
    assert _post(sbx, f"order-service/order/{order_id}/status", {"orderStatusId": 5}, method="PUT").status_code == 200
    assert _post(sbx, "order-service/order/99999999/status", {"orderStatusId": 2}, method="PUT").status_code == 404


def test_cancelling_a_shipped_order_is_refused(sbx: Any) -> None:
    note = sbx.bp_get("warehouse-service/goods-note/goods-out-search", columns="orderId", pageSize=1).json()
    order_id = note["response"]["results"][0][0]
    resp = _post(sbx, f"order-service/order/{order_id}/status", {"orderStatusId": 5}, method="PUT")
    assert (resp.status_code, resp.json()["errors"][0]["code"]) == (400, "ORDC-033")


def test_sales_order_post_is_idempotent_on_external_ref(sbx: Any) -> None:
    body = {
        "customer": {"id": 250},
        "ref": "WEB-1",
        "externalRef": "bc-9001",
        "installedIntegrationInstanceId": 7,
        "channelId": 2,
        "placedOn": "2026-11-19T10:00:00Z",
        "delivery": {
            "shippingMethodId": 2,
            "address": {
                "addressLine1": "1 Rue de la Paix",
                "addressLine3": "Lyon",
                "postalCode": "69002",
                "countryIsoCode": "FRA",
            },
        },
        "rows": [
            {"productId": 1001, "quantity": 2, "taxCode": "T", "net": 20.5, "tax": 1.69},
            {"name": "Gift note", "quantity": 1, "net": 0, "tax": 0},
        ],
    }
    resp = _post(sbx, "order-service/sales-order", body)
    assert resp.status_code == 200
    order = _order(sbx, resp.json()["response"])
    assert (order["externalRef"], order["installedIntegrationInstanceId"]) == ("bc-9001", 7)
    assert order["reference"] == "WEB-1"
    assert order["totalValue"]["net"] == "20.50" and len(order["orderRows"]) == 2
    assert order["parties"]["delivery"]["addressLine1"] == "1 Rue de la Paix"
    assert order["parties"]["delivery"]["countryIsoCode"] == "FR"
    dup = _post(sbx, "order-service/sales-order", body)
    assert (dup.status_code, dup.json()["errors"][0]["code"]) == (400, "ORDC-050")
    found = sbx.bp_get("order-service/order-search", externalRef="bc-9001").json()["response"]["results"]
    assert len(found) == 1
    bad = _post(
        sbx,
        "order-service/sales-order",
        {**body, "externalRef": "bc-9002", "rows": [{"productId": 1001, "quantity": 1, "net": 1.234}]},
    )
    assert (bad.status_code, bad.json()["errors"][0]["code"]) == (400, "ORDC-042")


def test_postal_address_and_contact_post(sbx: Any) -> None:
    addr = _post(
        sbx,
        "contact-service/postal-address",
        {"addressLine1": "12 Elm Street", "addressLine3": "Madison", "postalCode": "53703", "countryIsoCode": "USA"},
    )
    assert addr.status_code == 200 and isinstance(addr.json()["response"], int)
    address_id = addr.json()["response"]
    contact = _post(
        sbx,
        "contact-service/contact",
        {
            "firstName": "Zoë",
            "lastName": "Núñez",
            "postAddressIds": {"DEF": address_id, "BIL": address_id, "DEL": address_id},
            "communication": {"emails": {"PRI": {"email": "zoe.nunez@example.com"}}},
            "organisation": {"name": "Café Müller GmbH"},
            "financialDetails": {"priceListId": 3},
        },
    )
    assert contact.status_code == 200
    doc = sbx.bp_get(f"contact-service/contact/{contact.json()['response']}").json()["response"][0]
    assert (doc["firstName"], doc["lastName"], doc["postAddressIds"]["DEF"]) == ("Zoë", "Núñez", address_id)
    assert doc["communication"]["emails"]["PRI"]["email"] == "zoe.nunez@example.com"
    assert doc["organisation"]["name"] == "Café Müller GmbH" and doc["tradeStatus"] == "TRADE"
    found = sbx.bp_get("contact-service/contact-search", primaryEmail="zoe.nunez@example.com").json()
    assert [r[0] for r in found["response"]["results"]] == [doc["contactId"]]
    assert _post(sbx, "contact-service/postal-address", {"addressLine2": "x"}).status_code == 400
    assert _post(sbx, "contact-service/contact", {"firstName": "x" * 33}).status_code == 400
    assert _post(sbx, "contact-service/contact", {"lastName": "A", "postAddressIds": {"DEF": 10**9}}).status_code == 400


def test_goods_out_ship_event_updates_note_and_order(sbx: Any) -> None:
    search = sbx.bp_get(
        "warehouse-service/goods-note/goods-out-search", shipped="false", columns="goodsOutNoteId,orderId"
    ).json()["response"]["results"]
    assert search, "the generated world has unshipped notes"
    note_id, order_id = search[0]
    note = sbx.bp_get(f"warehouse-service/order/*/goods-note/goods-out/{note_id}").json()["response"][str(note_id)]
    stale = _post(
        sbx,
        f"warehouse-service/goods-note/goods-out/{note_id}/event",
        [{"eventCode": "SHW", "occured": "2026-11-20T11:00:00Z", "eventOwnerId": 4}],
        **{"If-Match": str(note["lastEventVersion"] - 1)},
    )
    assert stale.status_code == 409
    clock = sbx.advance_clock(30)
    shipped = _post(
        sbx,
        f"warehouse-service/goods-note/goods-out/{note_id}/event",
        [{"eventCode": "SHW", "occured": "2026-11-20T11:00:00Z", "eventOwnerId": 4}],
        **{"If-Match": str(note["lastEventVersion"])},
    )
    assert (shipped.status_code, shipped.text) == (200, "{}")
    after = sbx.bp_get(f"warehouse-service/order/*/goods-note/goods-out/{note_id}").json()["response"][str(note_id)]
    assert after["status"]["shipped"] and after["status"]["shippedOn"] == "2026-11-20T05:00:00.000-06:00"
    assert after["lastEventVersion"] > note["lastEventVersion"]
    order = _order(sbx, order_id)
    assert order["shippingStatusCode"] in ("SPS", "ASS") and _ms(order["updatedOn"]) == clock
    again = _post(sbx, f"warehouse-service/goods-note/goods-out/{note_id}/event", [{"eventCode": "SHW"}])
    assert (again.status_code, again.json()["errors"][0]["code"]) == (400, "WHSC-101")
    assert (
        _post(sbx, f"warehouse-service/goods-note/goods-out/{note_id}/event", [{"eventCode": "ZZZ"}]).status_code == 400
    )


def test_contact_patch_replaces_names_and_phone_like_the_recording(sbx: Any) -> None:
    # The recorded request (customer/patch/simple_patch.yml): replace /firstName and /lastName; answer = the contact.
    before = sbx.bp_get("contact-service/contact/250").json()["response"][0]
    ops = [
        {"op": "replace", "path": "/firstName", "value": "Jane"},
        {"op": "replace", "path": "/lastName", "value": "Smith"},
        {"op": "replace", "path": "/communication/telephones/PRI", "value": "+506 8569 8589"},
    ]
    resp = _post(sbx, "contact-service/contact/250", ops, method="PATCH")
    assert resp.status_code == 200
    contact = resp.json()["response"]
    assert (contact["contactId"], contact["firstName"], contact["lastName"]) == (250, "Jane", "Smith")
    assert contact["communication"]["telephones"]["PRI"] == "+506 8569 8589"
    assert _ms(contact["updatedOn"]) >= _ms(before["updatedOn"])
    assert sbx.bp_get("contact-service/contact/250").json()["response"][0]["firstName"] == "Jane"
    bad = _post(sbx, "contact-service/contact/250", [{"op": "add", "path": "/firstName", "value": "X"}], method="PATCH")
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "CMNC-400"
    missing = _post(sbx, "contact-service/contact/999999", ops[:1], method="PATCH")
    assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "CONC-015"


def test_order_note_post_and_list(sbx: Any) -> None:
    resp = _post(sbx, "order-service/order/10/note", {"text": "Storefront comment", "isPublic": True})
    assert resp.status_code == 200 and isinstance(resp.json()["response"], int)
    notes = sbx.bp_get("order-service/order/10/note").json()["response"]
    assert {
        "noteId": resp.json()["response"],
        "orderId": 10,
        "text": "Storefront comment",
        "isPublic": True,
    }.items() <= (notes[-1].items())
    assert _post(sbx, "order-service/order/10/note", {"text": " "}).status_code == 400


def test_contact_tags_on_the_contact_and_the_tag_list(sbx: Any) -> None:
    tags = sbx.bp_get("contact-service/tag").json()["response"]
    assert tags["16"] == {"tagId": 16, "tagName": "VIP", "tagParentId": 0, "tagColor": "#ff0000"}
    docs = sbx.bp_get("contact-service/contact/200-400").json()["response"]
    assert all(isinstance(d["contactTags"], str) for d in docs)
    assert any("23" in d["contactTags"].split(",") for d in docs)  # B2B buyers are tagged Wholesale


def test_a_two_letter_country_code_is_refused_as_documented(sbx: Any) -> None:
    """countryIsoCode is the country's 3 character ISO code (AD:contact/postal-address/post.html): "US" is refused
    with the field named, wherever an address is written; three letters or a countryId are taken."""
    us = {"addressLine1": "12 Elm Street", "postalCode": "53703", "countryIsoCode": "US"}
    refused = {
        "POST contact-service/postal-address": _post(sbx, "contact-service/postal-address", us),
        "PUT contact-service/postal-address/{id}": _post(sbx, "contact-service/postal-address/1", us, method="PUT"),
    }
    for call, resp in refused.items():
        assert resp.status_code == 400, call
        assert resp.json() == {
            "errors": [
                {
                    "code": "CONC-011",
                    "message": "countryIsoCode must be the country's 3 character ISO code (e.g. GBR), not 'US'",
                }
            ]
        }, call
    order = {"customer": {"id": 250}, "rows": [{"name": "Gift note", "quantity": 1, "net": 0, "tax": 0}]}
    for part in ("customer", "billing", "delivery"):
        body = {**order, part: {**order.get(part, {}), "address": us}}
        resp = _post(sbx, "order-service/sales-order", body)
        assert resp.status_code == 400, part
        assert resp.json()["errors"][0] == {
            "code": "CONC-011",
            "message": f"{part}.address.countryIsoCode must be the country's 3 character ISO code (e.g. GBR), not 'US'",
        }
    unknown = _post(sbx, "contact-service/postal-address", {**us, "countryIsoCode": "XXX"})
    assert (unknown.status_code, unknown.json()["errors"][0]["code"]) == (400, "CONC-011")
    by_id = _post(sbx, "contact-service/postal-address", {"addressLine1": "1 Rue X", "countryId": 73})
    address_id = _post(sbx, "contact-service/postal-address", {**us, "countryIsoCode": "usa"}).json()["response"]
    answered = sbx.bp_get(f"contact-service/postal-address/{by_id.json()['response']},{address_id}").json()["response"]
    assert [(a["countryIsoCode"], a["countryIsoCode2"]) for a in answered] == [("FRA", "FR"), ("USA", "US")]


def test_postal_address_get_and_put_keep_old_orders_addresses(sbx: Any) -> None:
    order = _order(sbx, 30)
    contact_id = order["parties"]["customer"]["contactId"]
    ids = sbx.bp_get(f"contact-service/contact/{contact_id}").json()["response"][0]["postAddressIds"]
    (address,) = sbx.bp_get(f"contact-service/postal-address/{ids['BIL']}").json()["response"]
    assert address["addressId"] == ids["BIL"] and address["contactId"] == contact_id
    assert len(address["countryIsoCode"]) == 3 and len(address["countryIsoCode2"]) == 2
    body = {"addressLine1": "1 New Street", "postalCode": "BS1 4GH", "countryIsoCode": "GBR"}
    resp = _post(sbx, f"contact-service/postal-address/{ids['BIL']}", body, method="PUT")
    assert resp.status_code == 200 and resp.json() == {"response": {}}
    (changed,) = sbx.bp_get(f"contact-service/postal-address/{ids['BIL']}").json()["response"]
    assert {k: changed.get(k) for k in ("addressLine1", "addressLine3", "postalCode", "countryIsoCode2")} == {
        "addressLine1": "1 New Street",
        "addressLine3": None,  # the PUT replaces every line
        "postalCode": "BS1 4GH",
        "countryIsoCode2": "GB",
    }
    assert _order(sbx, 30)["parties"]["billing"]["addressLine1"] == order["parties"]["billing"]["addressLine1"]
    assert _post(sbx, "contact-service/postal-address/999999", body, method="PUT").status_code == 400


def test_contact_postal_address_put_and_company_post(sbx: Any) -> None:
    new_id = _post(sbx, "contact-service/postal-address", {"addressLine1": "9 Dock Rd", "countryIsoCode": "USA"})
    address_id = new_id.json()["response"]
    resp = _post(
        sbx, "contact-service/contact/260/postal-address", [{"postalAddressId": address_id, "type": "DEL"}], "PUT"
    )
    assert resp.status_code == 200
    assert sbx.bp_get("contact-service/contact/260").json()["response"][0]["postAddressIds"]["DEL"] == address_id
    taken = _post(sbx, "contact-service/contact/261/postal-address", [{"postalAddressId": address_id}], "PUT")
    assert taken.status_code == 400 and taken.json()["errors"][0]["code"] == "CONC-019"
    company = _post(sbx, "contact-service/company", {"name": "Fantastic Company, Inc."}).json()["response"]
    patched = _post(
        sbx, "contact-service/contact/260", [{"op": "replace", "path": "/companyId", "value": company}], "PATCH"
    )
    doc = patched.json()["response"]
    assert doc["companyId"] == company and doc["organisation"]["name"] == "Fantastic Company, Inc."
    assert _post(sbx, "contact-service/company", {"name": ""}).status_code == 400
    unknown = _post(sbx, "contact-service/contact/260", [{"op": "replace", "path": "/companyId", "value": 1}], "PATCH")
    assert unknown.status_code == 400
