"""Pure transforms: one Brightpearl payload -> warehouse rows (dicts keyed by column name).

Shapes follow docs `brightpearl-api.md` §5-§8 and the recorded exchanges. A payload that cannot be mapped
raises `RecordError` with a reason naming the field; the caller quarantines it with the raw payload.
Money and quantities stay `Decimal` (strings on the wire), timestamps become UTC-aware datetimes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from .coerce import RecordError, Row, obj, required, to_bool, to_int, to_money, to_str, to_ts

__all__ = [
    "RecordError",
    "Row",
    "availability_rows",
    "channel_row",
    "contact_row",
    "contact_tag_row",
    "goods_out_rows",
    "order_rows",
    "order_status_row",
    "product_row",
    "records_of",
    "shipping_method_row",
    "warehouse_row",
]


# ------------------------------------------------------------------ products and contacts
def product_row(raw: Mapping[str, Any]) -> Row:
    identity = obj(raw.get("identity"), "identity")
    stock, composition = obj(raw.get("stock"), "stock"), obj(raw.get("composition"), "composition")
    channels = raw.get("salesChannels") or []
    if not isinstance(channels, list):
        raise RecordError("salesChannels is not a list")
    # The name lives per sales channel; the "Brightpearl" channel is the master name.
    master = next(
        (c for c in channels if isinstance(c, Mapping) and c.get("salesChannelName") == "Brightpearl"),
        channels[0] if channels else {},
    )
    return {
        "product_id": to_int(required(raw, "id"), "id"),
        "sku": to_str(identity.get("sku"), "identity.sku"),
        "name": to_str(obj(master, "salesChannels[0]").get("productName"), "productName"),
        "ean": to_str(identity.get("ean"), "identity.ean"),
        "upc": to_str(identity.get("upc"), "identity.upc"),
        "barcode": to_str(identity.get("barcode"), "identity.barcode"),
        "isbn": to_str(identity.get("isbn"), "identity.isbn"),
        "mpn": to_str(identity.get("mpn"), "identity.mpn"),
        "brand_id": to_int(raw.get("brandId"), "brandId"),
        "product_type_id": to_int(raw.get("productTypeId"), "productTypeId"),
        "product_group_id": to_int(raw.get("productGroupId"), "productGroupId"),
        "status": to_str(raw.get("status"), "status"),
        "stock_tracked": to_bool(stock.get("stockTracked"), "stock.stockTracked"),
        "is_bundle": to_bool(composition.get("bundle"), "composition.bundle"),
        "created_on": to_ts(raw.get("createdOn"), "createdOn"),
        "updated_on": to_ts(raw.get("updatedOn"), "updatedOn"),
        "version": to_int(raw.get("version"), "version"),
    }


def contact_row(raw: Mapping[str, Any], search_row: Mapping[str, Any] | None = None) -> Row:
    """Contact GET has no isCustomer (a contact-search column): it comes from the search row when there is one."""
    comms = obj(raw.get("communication"), "communication")
    emails, phones = obj(comms.get("emails"), "emails"), obj(comms.get("telephones"), "telephones")
    relation = obj(raw.get("relationshipToAccount"), "relationshipToAccount")
    finance = obj(raw.get("financialDetails"), "financialDetails")
    organisation = obj(raw.get("organisation"), "organisation")
    search_row = search_row or {}
    return {
        "contact_id": to_int(required(raw, "contactId"), "contactId"),
        "email": to_str(obj(emails.get("PRI"), "emails.PRI").get("email"), "emails.PRI.email"),
        "salutation": to_str(raw.get("salutation"), "salutation"),
        "first_name": to_str(raw.get("firstName"), "firstName"),
        "last_name": to_str(raw.get("lastName"), "lastName"),
        "company_name": to_str(organisation.get("name") or search_row.get("companyName"), "organisation.name"),
        "is_customer": to_bool(search_row.get("isCustomer"), "isCustomer"),
        "is_supplier": to_bool(relation.get("isSupplier"), "relationshipToAccount.isSupplier"),
        "is_staff": to_bool(relation.get("isStaff"), "relationshipToAccount.isStaff"),
        "price_list_id": to_int(finance.get("priceListId"), "financialDetails.priceListId"),
        "credit_limit": to_money(finance.get("creditLimit"), "financialDetails.creditLimit"),
        "credit_term_days": to_int(finance.get("creditTermDays"), "financialDetails.creditTermDays"),
        "currency_id": to_int(finance.get("currencyId"), "financialDetails.currencyId"),
        "telephone": to_str(phones.get("PRI"), "telephones.PRI"),
        "mobile": to_str(phones.get("MOB"), "telephones.MOB"),
        "created_on": to_ts(raw.get("createdOn"), "createdOn"),
        "updated_on": to_ts(raw.get("updatedOn"), "updatedOn"),
        "tag_ids": tag_ids(raw.get("contactTags"), "contactTags"),
    }


_BIGINT_MAX = 2**63 - 1


def tag_ids(value: Any, field: str) -> list[int]:
    """`contactTags`: recorded as a string of one tag id ("9"); a comma-separated list of ids is presumed for several
    (unconfirmed), and a JSON list of ids or a bare number is accepted too. Null or empty: no tag. Sorted, distinct."""
    if value is None:
        return []
    if isinstance(value, bool):
        raise RecordError(f"{field} is not a list of tag ids: {value!r}")
    if isinstance(value, int):
        parts: list[Any] = [value]
    elif isinstance(value, str):
        parts = [p.strip() for p in value.split(",")] if value.strip() else []
    elif isinstance(value, list):
        parts = [p.strip() if isinstance(p, str) else p for p in value]
    else:
        raise RecordError(f"{field} is not a list of tag ids: {value!r:.80}")
    ids = set()
    for part in parts:
        if type(part) is int and 0 <= part <= _BIGINT_MAX:
            ids.add(part)
        elif type(part) is str and part.isascii() and part.isdigit() and int(part) <= _BIGINT_MAX:
            ids.add(int(part))
        else:
            raise RecordError(f"{field} is not a list of tag ids: {value!r:.80}")
    return sorted(ids)


# ------------------------------------------------------------------ orders
def order_rows(raw: Mapping[str, Any]) -> tuple[Row, list[Row]]:
    order_id = to_int(required(raw, "id"), "id")
    status = obj(required(raw, "orderStatus"), "orderStatus")
    parties = obj(raw.get("parties"), "parties")
    # Sales orders/credits carry a customer party, purchase orders/credits a supplier party.
    party = obj(parties.get("customer") or parties.get("supplier"), "parties.customer")
    currency = obj(raw.get("currency"), "currency")
    totals = obj(required(raw, "totalValue"), "totalValue")
    assignment = obj(obj(raw.get("assignment"), "assignment").get("current"), "assignment.current")
    delivery = obj(raw.get("delivery"), "delivery")
    invoices = raw.get("invoices") or []
    invoice = obj(invoices[0] if isinstance(invoices, list) and invoices else {}, "invoices[0]")
    order = {
        "order_id": order_id,
        "order_type_code": to_str(required(raw, "orderTypeCode"), "orderTypeCode"),
        "order_status_id": to_int(required(status, "orderStatusId"), "orderStatus.orderStatusId"),
        "order_status_name": to_str(status.get("name"), "orderStatus.name"),
        "contact_id": to_int(party.get("contactId"), "parties.customer.contactId"),
        "channel_id": to_int(assignment.get("channelId"), "assignment.current.channelId"),
        "warehouse_id": to_int(raw.get("warehouseId"), "warehouseId"),
        "external_ref": to_str(raw.get("externalRef"), "externalRef"),
        "customer_ref": to_str(raw.get("reference"), "reference"),
        "currency_code": to_str(currency.get("orderCurrencyCode"), "currency.orderCurrencyCode"),
        "exchange_rate": to_money(currency.get("exchangeRate"), "currency.exchangeRate"),
        "total_net": to_money(totals.get("net"), "totalValue.net"),
        "total_tax": to_money(totals.get("taxAmount"), "totalValue.taxAmount"),
        "total_value": to_money(required(totals, "total"), "totalValue.total"),
        "payment_status": to_str(raw.get("orderPaymentStatus"), "orderPaymentStatus"),
        "shipping_status_code": to_str(raw.get("shippingStatusCode"), "shippingStatusCode"),
        "stock_status_code": to_str(raw.get("stockStatusCode"), "stockStatusCode"),
        "allocation_status_code": to_str(raw.get("allocationStatusCode"), "allocationStatusCode"),
        "invoice_reference": to_str(invoice.get("invoiceReference"), "invoices[0].invoiceReference"),
        "parent_order_id": to_int(raw.get("parentOrderId"), "parentOrderId"),
        "price_list_id": to_int(raw.get("priceListId"), "priceListId"),
        "price_mode_code": to_str(raw.get("priceModeCode"), "priceModeCode"),
        "staff_owner_id": to_int(assignment.get("staffOwnerContactId"), "assignment.current.staffOwnerContactId"),
        "shipping_method_id": to_int(delivery.get("shippingMethodId"), "delivery.shippingMethodId"),
        "delivery_date": to_ts(delivery.get("deliveryDate"), "delivery.deliveryDate"),
        "tax_date": to_ts(invoice.get("taxDate"), "invoices[0].taxDate"),
        "due_date": to_ts(invoice.get("dueDate"), "invoices[0].dueDate"),
        "placed_on": to_ts(raw.get("placedOn"), "placedOn"),
        "created_on": to_ts(required(raw, "createdOn"), "createdOn"),
        "updated_on": to_ts(raw.get("updatedOn"), "updatedOn"),
        "closed_on": to_ts(raw.get("closedOn"), "closedOn"),
        "version": to_int(raw.get("version"), "version"),
        # Brightpearl's conversion into the accounting currency (absent on old payloads: NULL, never guessed)
        "base_currency_code": to_str(currency.get("accountingCurrencyCode"), "currency.accountingCurrencyCode"),
        "base_total_net": to_money(totals.get("baseNet"), "totalValue.baseNet"),
        "base_total_tax": to_money(totals.get("baseTaxAmount"), "totalValue.baseTaxAmount"),
        "base_total_value": to_money(totals.get("baseTotal"), "totalValue.baseTotal"),
    }
    rows_raw = raw.get("orderRows") or {}
    if not isinstance(rows_raw, Mapping):
        raise RecordError("orderRows is not an object keyed by row id")
    return order, [_order_row(order_id, row_id, row) for row_id, row in rows_raw.items()]


def _order_row(order_id: int, row_id: str, raw: Any) -> Row:
    try:
        return _order_row_fields(order_id, row_id, raw)
    except RecordError as exc:
        # The fields below are named relative to the row (formatting `orderRows[id].field` for every value of
        # every row cost more than reading it); the reason gets the row prefix only when there is one to give.
        raise RecordError(f"orderRows[{row_id}]{exc}") from None


def _order_row_fields(order_id: int, row_id: str, raw: Any) -> Row:
    raw = obj(raw, "")
    value = obj(raw.get("rowValue"), ".rowValue")
    composition = obj(raw.get("composition"), ".composition")
    return {
        "order_id": order_id,
        "row_id": to_int(row_id, " key"),
        "row_sequence": to_int(raw.get("orderRowSequence"), ".orderRowSequence"),
        "product_id": to_int(raw.get("productId"), ".productId"),
        "sku": to_str(raw.get("productSku"), ".productSku"),
        "product_name": to_str(raw.get("productName"), ".productName"),
        "quantity": to_money(obj(raw.get("quantity"), ".quantity").get("magnitude"), ".quantity"),
        "unit_price": to_money(obj(raw.get("productPrice"), ".productPrice").get("value"), ".productPrice"),
        "item_cost": to_money(obj(raw.get("itemCost"), ".itemCost").get("value"), ".itemCost"),
        "discount_percentage": to_money(raw.get("discountPercentage"), ".discountPercentage"),
        "row_net": to_money(obj(value.get("rowNet"), ".rowNet").get("value"), ".rowNet"),
        "row_tax": to_money(obj(value.get("rowTax"), ".rowTax").get("value"), ".rowTax"),
        "tax_rate": to_money(value.get("taxRate"), ".taxRate"),
        "tax_code": to_str(value.get("taxCode"), ".taxCode"),
        "nominal_code": to_str(raw.get("nominalCode"), ".nominalCode"),
        "is_bundle_parent": to_bool(composition.get("bundleParent"), ".bundleParent"),
        "is_bundle_child": to_bool(composition.get("bundleChild"), ".bundleChild"),
        "parent_order_row_id": to_int(composition.get("parentOrderRowId"), ".parentOrderRowId"),
    }


# ------------------------------------------------------------------ goods-out notes
def goods_out_rows(note_id: Any, raw: Any) -> tuple[Row, list[Row]]:
    gon_id = to_int(note_id, "goods-out note id")
    raw = obj(raw, f"goods-out note {note_id}")
    status, shipping = obj(raw.get("status"), "status"), obj(raw.get("shipping"), "shipping")
    note = {
        "goods_out_note_id": gon_id,
        "order_id": to_int(required(raw, "orderId"), "orderId"),
        "warehouse_id": to_int(required(raw, "warehouseId"), "warehouseId"),
        "target_warehouse_id": to_int(raw.get("targetWarehouseId"), "targetWarehouseId"),
        "is_transfer": to_bool(raw.get("transfer"), "transfer"),
        "priority": to_bool(raw.get("priority"), "priority"),
        "printed": to_bool(status.get("printed"), "status.printed"),
        "picked": to_bool(status.get("picked"), "status.picked"),
        "packed": to_bool(status.get("packed"), "status.packed"),
        "shipped": to_bool(required(status, "shipped"), "status.shipped"),
        "printed_on": to_ts(status.get("printedOn"), "status.printedOn"),
        "picked_on": to_ts(status.get("pickedOn"), "status.pickedOn"),
        "packed_on": to_ts(status.get("packedOn"), "status.packedOn"),
        "shipped_on": to_ts(status.get("shippedOn"), "status.shippedOn"),
        "shipping_method_id": to_int(shipping.get("shippingMethodId"), "shipping.shippingMethodId"),
        "tracking_reference": to_str(shipping.get("reference"), "shipping.reference"),
        "boxes": to_int(shipping.get("boxes"), "shipping.boxes"),
        "weight": to_money(shipping.get("weight"), "shipping.weight"),
        "release_date": to_ts(raw.get("releaseDate"), "releaseDate"),
        "created_on": to_ts(required(raw, "createdOn"), "createdOn"),
        "created_by": to_int(raw.get("createdBy"), "createdBy"),
        "note_sequence": to_int(raw.get("sequence"), "sequence"),
        "last_event_version": to_int(raw.get("lastEventVersion"), "lastEventVersion"),
    }
    # orderRows: {orderRowId: [{productId, quantity, locationId}, ...]}; summed per product over locations.
    # Field names with the row id are only formatted for an error (`type(x) is ...` passes the usual values
    # straight through, exactly what obj/to_int return for them).
    quantities: dict[tuple[int, int], int] = {}
    for row_id, lines in obj(raw.get("orderRows"), "orderRows").items():
        if not isinstance(lines, list):
            raise RecordError(f"orderRows[{row_id}] is not a list")
        for line in lines:
            if type(line) is not dict:
                line = obj(line, f"orderRows[{row_id}][]")
            key = (to_int(row_id, "orderRows key"), to_int(required(line, "productId"), "productId"))
            qty = line.get("quantity")
            if type(qty) is not int:
                qty = to_int(qty, f"orderRows[{row_id}].quantity")
            quantities[key] = quantities.get(key, 0) + (qty or 0)  # type: ignore[index]
    rows = [
        {"goods_out_note_id": gon_id, "order_row_id": r, "product_id": p, "quantity": q}
        for (r, p), q in quantities.items()
    ]
    return note, rows


# ------------------------------------------------------------------ stock
def availability_rows(product_id: Any, raw: Any, as_of: datetime) -> list[Row]:
    """One product's availability -> one row per warehouse listing it (onHand = inStock - allocated)."""
    pid = to_int(product_id, "product id")
    warehouses = obj(obj(raw, f"availability {product_id}").get("warehouses"), "warehouses")
    rows = []
    for wid, figures in warehouses.items():
        figures = obj(figures, f"warehouses[{wid}]")
        rows.append(
            {
                "product_id": pid,
                "warehouse_id": to_int(wid, "warehouse id"),
                "in_stock": to_int(figures.get("inStock"), "inStock"),
                "on_hand": to_int(figures.get("onHand"), "onHand"),
                "allocated": to_int(figures.get("allocated"), "allocated"),
                "in_transit": to_int(figures.get("inTransit"), "inTransit"),
                "as_of": as_of,
            }
        )
    return rows


# ------------------------------------------------------------------ reference lists
def order_status_row(raw: Mapping[str, Any]) -> Row:
    return {
        "order_status_id": to_int(required(raw, "statusId"), "statusId"),
        "name": to_str(raw.get("name"), "name"),
        "order_type_code": to_str(raw.get("orderTypeCode"), "orderTypeCode"),
        "sort_order": to_int(raw.get("sortOrder", raw.get("sort")), "sortOrder"),
        "state": to_str(raw.get("state"), "state"),
        "color": to_str(raw.get("color"), "color"),
        "is_visible": to_bool(raw.get("visible"), "visible"),
        "is_disabled": to_bool(raw.get("disabled"), "disabled"),
    }


def warehouse_row(raw: Mapping[str, Any]) -> Row:
    address = raw.get("address")
    return {
        "warehouse_id": to_int(required(raw, "id"), "id"),
        "name": to_str(raw.get("name"), "name"),
        "address": json.dumps(address, sort_keys=True) if address is not None else None,
    }


def contact_tag_row(raw: Mapping[str, Any]) -> Row:
    """`GET contact-service/tag`: a map keyed by tag id of {tagId, tagName, tagParentId, tagColor}."""
    return {
        "tag_id": to_int(required(raw, "tagId"), "tagId"),
        "tag_name": to_str(raw.get("tagName"), "tagName"),
        "parent_tag_id": to_int(raw.get("tagParentId", raw.get("tagParentGroupId")), "tagParentId"),
        "color": to_str(raw.get("tagColor"), "tagColor"),
    }


def channel_row(raw: Mapping[str, Any]) -> Row:
    return {
        "channel_id": to_int(required(raw, "id"), "id"),
        "name": to_str(raw.get("name"), "name"),
        "channel_type_id": to_int(raw.get("channelTypeId"), "channelTypeId"),
        "warehouse_id": to_int(raw.get("warehouseId", raw.get("defaultWarehouseId")), "warehouseId"),
        "price_list_id": to_int(raw.get("priceListId", raw.get("defaultPriceListId")), "priceListId"),
    }


def shipping_method_row(raw: Mapping[str, Any]) -> Row:
    return {
        "shipping_method_id": to_int(required(raw, "id"), "id"),
        "code": to_str(raw.get("code"), "code"),
        "name": to_str(raw.get("name"), "name"),
        "method_type": to_str(raw.get("methodType"), "methodType"),
        "carrier": to_str(raw.get("carrier"), "carrier"),
    }


def records_of(response: Any) -> Iterator[tuple[Any, Any]]:
    """GET responses are lists (orders, products, contacts) or maps keyed by id (goods-out, availability)."""
    if isinstance(response, Mapping):
        yield from response.items()
    elif isinstance(response, list):
        for item in response:
            rid = item.get("id", item.get("contactId")) if isinstance(item, Mapping) else None
            yield rid, item
    elif response is not None:
        raise RecordError(f"response is neither a list nor an object: {type(response).__name__}")
