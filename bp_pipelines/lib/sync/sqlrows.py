"""Warehouse rows built by DuckDB from the raw GET bodies: Python never decodes a record that SQL can convert.

Each ID-set GET body goes straight from the HTTP response into DuckDB (`json_transform` into a STRUCT of the
fields the stream reads, every leaf as text: one parse, in C). At write time one SQL statement per table turns
those texts into the contract types: `TRY_CAST` to BIGINT / DECIMAL (money never passes through float),
Brightpearl's offset timestamps converted to UTC instants, booleans only from JSON true/false.

SQL accepts only what it converts exactly as the Python transforms do (`transforms.py`); everything else flags
its record: a text that does not convert (wrong type, bad date or amount), a missing required field, a
container that is not an object (`json_transform` reads it as an object with only NULL fields), or an unknown
reference. Only flagged records are decoded in Python and run through the Python transform, which either gives
the row (a shape SQL leaves to Python, e.g. `" 10 "` as an amount) or the `RecordError` whose reason goes to the
quarantine with the raw record -- exactly the reasons and payloads the Python path always recorded.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson

from .streams import KnownReferences

# The writer's memory limit (96 MB) holds the parse of a 10 MiB write batch in one build (tested: orders of
# 2,800 rows; 128 MB held about 12 MiB). A body above BODY_BYTES_MAX (200 orders of ~100 rows) is decoded in
# Python instead, and a write batch is written once its bodies reach BATCH_BYTES (StreamSync), whatever its
# record count.
BODY_BYTES_MAX = 4 * 2**20
BATCH_BYTES = 8 * 2**20

# JSON leaves are read as text; json_transform turns numbers into their shortest text (1.50 -> "1.5", as Python's
# str(float)), booleans into true/false and objects/arrays into their JSON text.
V = "VARCHAR"

# ------------------------------------------------------------------ typed readers (SQL expression builders)
_INT = r"-?[0-9]+"
_MONEY = r"-?[0-9]+(\.[0-9]+)?"
# ISO 8601 as Brightpearl sends it: offset (+hh:mm, +hhmm) or Z, up to microseconds; naive values are UTC.
_TS_OFFSET = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([+-][0-9]{2}:?[0-9]{2}|Z)"
_TS_NAIVE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)?"


def to_int(v: str, sql_type: str = "BIGINT") -> str:
    return f"TRY_CAST(CASE WHEN regexp_full_match({v}, '{_INT}') THEN {v} END AS {sql_type})"


def to_money(v: str, sql_type: str) -> str:
    return f"TRY_CAST(CASE WHEN regexp_full_match({v}, '{_MONEY}') THEN {v} END AS {sql_type})"


def to_ts(v: str) -> str:
    # Explicit UTC: an offset timestamp is cast as an instant; a naive one is read as UTC wall time.
    return (
        f"CASE WHEN regexp_full_match({v}, '{_TS_OFFSET}') THEN TRY_CAST({v} AS TIMESTAMPTZ) "
        f"WHEN regexp_full_match({v}, '{_TS_NAIVE}') THEN timezone('UTC', TRY_CAST({v} AS TIMESTAMP)) END"
    )


# contactTags: "9" or "9,16" (spaces around commas allowed; up to 18 digits, so every id fits a BIGINT). Anything
# else (a JSON list, tabs, longer ids, junk) goes to Python (`transforms.tag_ids`), which accepts or refuses it.
_IDS = r" *[0-9]{1,18}( *, *[0-9]{1,18})* *"


def to_ids(v: str) -> str:
    return (
        f"CASE WHEN {v} IS NULL OR trim({v}) = '' THEN []::BIGINT[] WHEN regexp_full_match({v}, '{_IDS}') THEN "
        f"list_sort(list_distinct(list_transform(string_split({v}, ','), lambda x: CAST(trim(x) AS BIGINT)))) END"
    )


def to_bool(v: str) -> str:
    return f"CASE {v} WHEN 'true' THEN true WHEN 'false' THEN false END"


@dataclass(frozen=True)
class Col:
    """One warehouse column: its source text expression, how it is typed, and whether it is required."""

    name: str
    src: str  # SQL expression of the JSON text (VARCHAR)
    kind: str  # int | money | ts | bool | str | ids
    sql_type: str = ""
    required: bool = False

    def typed(self) -> str:
        if self.kind == "int":
            return to_int(self.src, self.sql_type or "BIGINT")
        if self.kind == "money":
            return to_money(self.src, self.sql_type)
        if self.kind == "ts":
            return to_ts(self.src)
        if self.kind == "bool":
            return to_bool(self.src)
        if self.kind == "ids":
            return to_ids(self.src)
        return self.src

    def problem(self) -> str:
        """True when SQL cannot vouch for the value: the record goes to Python."""
        if self.kind == "str":
            # JSON objects/arrays/booleans read as text here; Python rejects (or spells) them differently.
            bad = f"({self.src} IN ('true', 'false') OR left({self.src}, 1) IN ('{{', '['))"
        elif self.kind == "bool":
            bad = f"({self.src} IS NOT NULL AND {self.name} IS NULL)"
        else:  # "" is None in Python for numbers and timestamps
            bad = f"({self.src} IS NOT NULL AND {self.src} <> '' AND {self.name} IS NULL)"
        if self.required:
            bad = f"({self.src} IS NULL OR {bad})"
        return f"coalesce({bad}, false)"


def _odd(container: str, fields: Sequence[str]) -> str:
    """A container that is present but has none of its fields: not an object (json_transform gives an object of
    NULLs for a string, number or list), or an object Python has to look at (e.g. an empty one)."""
    nulls = " AND ".join(f"{container}.{f} IS NULL" for f in fields)
    return f"({container} IS NOT NULL AND {nulls})"


def _unknown(value: str, param: str) -> str:
    # Mirrors streams._is_unknown: NULL and 0 ("none") are fine; an empty known list means not loaded: no check.
    return f"({value} IS NOT NULL AND {value} <> 0 AND len({param}) > 0 AND NOT list_contains({param}, {value}))"


def struct_type(fields: Mapping[str, Any]) -> str:
    parts = []
    for key, value in fields.items():
        inner = value if isinstance(value, str) else struct_type(value)
        parts.append(f'"{key}" {inner}')
    return "STRUCT(" + ", ".join(parts) + ")"


@dataclass(frozen=True)
class Spec:
    """How one stream's GET bodies become rows in SQL."""

    response_type: str  # DuckDB type of `response` (a LIST of records, or a MAP keyed by record id)
    keyed: bool  # response is a map keyed by record id (goods-out notes) rather than a list
    id_expr: str  # record id text, from `k` (map key) / `r` (record)
    columns: tuple[Col, ...]
    odd: tuple[str, ...]  # further conditions that send a record to Python
    references: tuple[tuple[str, str], ...] = ()  # (column, KnownReferences attribute)
    child_columns: tuple[Col, ...] = ()
    child_from: str = ""  # FROM clause of the child rows over the parent record `r` (aliases c, ck)
    child_odd: tuple[str, ...] = ()
    child_group: tuple[str, ...] = ()  # child rows summed per these columns (goods-out lines per product)
    search_columns: tuple[str, ...] = ()  # search-row values the transform reads (contacts)


# ------------------------------------------------------------------ the streams
_ROW = {
    "orderRowSequence": V,
    "productId": V,
    "productSku": V,
    "productName": V,
    "quantity": {"magnitude": V},
    "productPrice": {"value": V},
    "itemCost": {"value": V},
    "discountPercentage": V,
    "rowValue": {"rowNet": {"value": V}, "rowTax": {"value": V}, "taxRate": V, "taxCode": V},
    "nominalCode": V,
    "composition": {"bundleParent": V, "bundleChild": V, "parentOrderRowId": V},
}
_ORDER = {
    "id": V,
    "orderTypeCode": V,
    "orderStatus": {"orderStatusId": V, "name": V},
    "parties": {"customer": {"contactId": V}, "supplier": {"contactId": V}},
    "currency": {"orderCurrencyCode": V, "exchangeRate": V, "accountingCurrencyCode": V},
    "totalValue": {"net": V, "taxAmount": V, "total": V, "baseNet": V, "baseTaxAmount": V, "baseTotal": V},
    "assignment": {"current": {"channelId": V, "staffOwnerContactId": V}},
    "warehouseId": V,
    "externalRef": V,
    "reference": V,
    "orderPaymentStatus": V,
    "shippingStatusCode": V,
    "stockStatusCode": V,
    "allocationStatusCode": V,
    "invoices": struct_type({"invoiceReference": V, "taxDate": V, "dueDate": V}) + "[]",
    "parentOrderId": V,
    "priceListId": V,
    "priceModeCode": V,
    "delivery": {"shippingMethodId": V, "deliveryDate": V},
    "placedOn": V,
    "createdOn": V,
    "updatedOn": V,
    "closedOn": V,
    "version": V,
    "orderRows": f"MAP(VARCHAR, {struct_type(_ROW)})",
}
_M4, _M6 = "DECIMAL(18,4)", "DECIMAL(18,6)"
_INV = "r.invoices[1]"
_PARTY = "coalesce(r.parties.customer, r.parties.supplier)"

ORDERS = Spec(
    response_type=struct_type(_ORDER) + "[]",
    keyed=False,
    id_expr="r.id",
    columns=(
        Col("order_id", "r.id", "int", required=True),
        Col("order_type_code", "r.orderTypeCode", "str", required=True),
        Col("order_status_id", "r.orderStatus.orderStatusId", "int", required=True),
        Col("order_status_name", "r.orderStatus.name", "str"),
        Col("contact_id", f"{_PARTY}.contactId", "int"),
        Col("channel_id", "r.assignment.current.channelId", "int"),
        Col("warehouse_id", "r.warehouseId", "int"),
        Col("external_ref", "r.externalRef", "str"),
        Col("customer_ref", "r.reference", "str"),
        Col("currency_code", "r.currency.orderCurrencyCode", "str"),
        Col("exchange_rate", "r.currency.exchangeRate", "money", _M6),
        Col("total_net", "r.totalValue.net", "money", _M4),
        Col("total_tax", "r.totalValue.taxAmount", "money", _M4),
        Col("total_value", "r.totalValue.total", "money", _M4, required=True),
        Col("payment_status", "r.orderPaymentStatus", "str"),
        Col("shipping_status_code", "r.shippingStatusCode", "str"),
        Col("stock_status_code", "r.stockStatusCode", "str"),
        Col("allocation_status_code", "r.allocationStatusCode", "str"),
        Col("invoice_reference", f"{_INV}.invoiceReference", "str"),
        Col("parent_order_id", "r.parentOrderId", "int"),
        Col("price_list_id", "r.priceListId", "int"),
        Col("price_mode_code", "r.priceModeCode", "str"),
        Col("staff_owner_id", "r.assignment.current.staffOwnerContactId", "int"),
        Col("shipping_method_id", "r.delivery.shippingMethodId", "int"),
        Col("delivery_date", "r.delivery.deliveryDate", "ts"),
        Col("tax_date", f"{_INV}.taxDate", "ts"),
        Col("due_date", f"{_INV}.dueDate", "ts"),
        Col("placed_on", "r.placedOn", "ts"),
        Col("created_on", "r.createdOn", "ts", required=True),
        Col("updated_on", "r.updatedOn", "ts"),
        Col("closed_on", "r.closedOn", "ts"),
        Col("version", "r.version", "int"),
        # Brightpearl's base (accounting) currency beside the order currency: what marts add across currencies.
        Col("base_currency_code", "r.currency.accountingCurrencyCode", "str"),
        Col("base_total_net", "r.totalValue.baseNet", "money", _M4),
        Col("base_total_tax", "r.totalValue.baseTaxAmount", "money", _M4),
        Col("base_total_value", "r.totalValue.baseTotal", "money", _M4),
    ),
    odd=(
        "r.orderRows IS NULL",  # null, missing, [] or not an object: Python tells which
        _odd("r.orderStatus", ["orderStatusId", "name"]),
        _odd("r.parties", ["customer", "supplier"]),
        _odd("r.parties.customer", ["contactId"]),
        "(r.parties.customer IS NULL AND " + _odd("r.parties.supplier", ["contactId"]) + ")",
        _odd("r.currency", ["orderCurrencyCode", "exchangeRate", "accountingCurrencyCode"]),
        _odd("r.totalValue", ["net", "taxAmount", "total", "baseNet", "baseTaxAmount", "baseTotal"]),
        _odd("r.assignment", ["current"]),
        _odd("r.assignment.current", ["channelId", "staffOwnerContactId"]),
        _odd("r.delivery", ["shippingMethodId", "deliveryDate"]),
        _odd(_INV, ["invoiceReference", "taxDate", "dueDate"]),
    ),
    references=(
        ("order_status_id", "order_statuses"),
        ("warehouse_id", "warehouses"),
        ("channel_id", "channels"),
    ),
    child_columns=(
        Col("row_id", "ck", "int"),
        Col("row_sequence", "c.orderRowSequence", "int", "INTEGER"),
        Col("product_id", "c.productId", "int"),
        Col("sku", "c.productSku", "str"),
        Col("product_name", "c.productName", "str"),
        Col("quantity", "c.quantity.magnitude", "money", _M4),
        Col("unit_price", "c.productPrice.value", "money", _M4),
        Col("item_cost", "c.itemCost.value", "money", _M4),
        Col("discount_percentage", "c.discountPercentage", "money", "DECIMAL(9,4)"),
        Col("row_net", "c.rowValue.rowNet.value", "money", _M4),
        Col("row_tax", "c.rowValue.rowTax.value", "money", _M4),
        Col("tax_rate", "c.rowValue.taxRate", "money", "DECIMAL(9,4)"),
        Col("tax_code", "c.rowValue.taxCode", "str"),
        Col("nominal_code", "c.nominalCode", "str"),
        Col("is_bundle_parent", "c.composition.bundleParent", "bool"),
        Col("is_bundle_child", "c.composition.bundleChild", "bool"),
        Col("parent_order_row_id", "c.composition.parentOrderRowId", "int"),
    ),
    child_from="(SELECT unnest(map_keys(r.orderRows)) AS ck, unnest(map_values(r.orderRows)) AS c)",
    child_odd=(
        "c IS NULL",  # a row that is null or not an object
        "ck IS NULL OR NOT regexp_full_match(ck, '[0-9]+')",
        _odd("c.quantity", ["magnitude"]),
        _odd("c.productPrice", ["value"]),
        _odd("c.itemCost", ["value"]),
        _odd("c.rowValue", ["rowNet", "rowTax", "taxRate", "taxCode"]),
        _odd("c.rowValue.rowNet", ["value"]),
        _odd("c.rowValue.rowTax", ["value"]),
        _odd("c.composition", ["bundleParent", "bundleChild", "parentOrderRowId"]),
    ),
)

_NOTE = {
    "orderId": V,
    "warehouseId": V,
    "targetWarehouseId": V,
    "transfer": V,
    "priority": V,
    "status": {
        "printed": V,
        "picked": V,
        "packed": V,
        "shipped": V,
        "printedOn": V,
        "pickedOn": V,
        "packedOn": V,
        "shippedOn": V,
    },
    "shipping": {"shippingMethodId": V, "reference": V, "boxes": V, "weight": V},
    "releaseDate": V,
    "createdOn": V,
    "createdBy": V,
    "sequence": V,
    "lastEventVersion": V,
    "orderRows": "MAP(VARCHAR, " + struct_type({"productId": V, "quantity": V}) + "[])",
}

GOODS_OUT_NOTES = Spec(
    response_type=f"MAP(VARCHAR, {struct_type(_NOTE)})",
    keyed=True,
    id_expr="k",
    columns=(
        Col("goods_out_note_id", "k", "int", required=True),
        Col("order_id", "r.orderId", "int", required=True),
        Col("warehouse_id", "r.warehouseId", "int", required=True),
        Col("target_warehouse_id", "r.targetWarehouseId", "int"),
        Col("is_transfer", "r.transfer", "bool"),
        Col("priority", "r.priority", "bool"),
        Col("printed", "r.status.printed", "bool"),
        Col("picked", "r.status.picked", "bool"),
        Col("packed", "r.status.packed", "bool"),
        Col("shipped", "r.status.shipped", "bool", required=True),
        Col("printed_on", "r.status.printedOn", "ts"),
        Col("picked_on", "r.status.pickedOn", "ts"),
        Col("packed_on", "r.status.packedOn", "ts"),
        Col("shipped_on", "r.status.shippedOn", "ts"),
        Col("shipping_method_id", "r.shipping.shippingMethodId", "int"),
        Col("tracking_reference", "r.shipping.reference", "str"),
        Col("boxes", "r.shipping.boxes", "int", "INTEGER"),
        Col("weight", "r.shipping.weight", "money", _M4),
        Col("release_date", "r.releaseDate", "ts"),
        Col("created_on", "r.createdOn", "ts", required=True),
        Col("created_by", "r.createdBy", "int"),
        Col("note_sequence", "r.sequence", "int", "INTEGER"),
        Col("last_event_version", "r.lastEventVersion", "int"),
    ),
    odd=(
        "r IS NULL",
        "r.orderRows IS NULL",
        "len(list_filter(map_values(r.orderRows), lambda x: x IS NULL)) > 0",  # lines that are not a list
        _odd("r.status", list(_NOTE["status"])),  # type: ignore[arg-type]
        _odd("r.shipping", list(_NOTE["shipping"])),  # type: ignore[arg-type]
    ),
    references=(("warehouse_id", "warehouses"), ("shipping_method_id", "shipping_methods")),
    child_columns=(
        Col("order_row_id", "ck", "int", required=True),
        Col("product_id", "c.productId", "int", required=True),
        Col("quantity", "c.quantity", "int", "INTEGER"),
    ),
    child_from=(
        "(SELECT ck, unnest(lines) AS c FROM (SELECT unnest(map_keys(r.orderRows)) AS ck, "
        "unnest(map_values(r.orderRows)) AS lines))"
    ),
    child_odd=("c IS NULL",),
    child_group=("order_row_id", "product_id"),
)

_CONTACT = {
    "contactId": V,
    "communication": {"emails": {"PRI": {"email": V}}, "telephones": {"PRI": V, "MOB": V}},
    "relationshipToAccount": {"isSupplier": V, "isStaff": V},
    "financialDetails": {"priceListId": V, "creditLimit": V, "creditTermDays": V, "currencyId": V},
    "organisation": {"name": V, "organisationId": V},  # the id: an organisation without a name is no oddity
    "salutation": V,
    "firstName": V,
    "lastName": V,
    "createdOn": V,
    "updatedOn": V,
    "contactTags": V,
}

CONTACTS = Spec(
    response_type=struct_type(_CONTACT) + "[]",
    keyed=False,
    id_expr="r.contactId",
    columns=(
        Col("contact_id", "r.contactId", "int", required=True),
        Col("email", "r.communication.emails.PRI.email", "str"),
        Col("salutation", "r.salutation", "str"),
        Col("first_name", "r.firstName", "str"),
        Col("last_name", "r.lastName", "str"),
        # Python: `organisation.name or search companyName` -- an empty name falls back to the search row.
        Col("company_name", "coalesce(nullif(r.organisation.name, ''), s.company_text)", "str"),
        Col("is_customer", "s.customer_text", "bool"),
        Col("is_supplier", "r.relationshipToAccount.isSupplier", "bool"),
        Col("is_staff", "r.relationshipToAccount.isStaff", "bool"),
        Col("price_list_id", "r.financialDetails.priceListId", "int"),
        Col("credit_limit", "r.financialDetails.creditLimit", "money", _M4),
        Col("credit_term_days", "r.financialDetails.creditTermDays", "int", "INTEGER"),
        Col("currency_id", "r.financialDetails.currencyId", "int"),
        Col("telephone", "r.communication.telephones.PRI", "str"),
        Col("mobile", "r.communication.telephones.MOB", "str"),
        Col("created_on", "r.createdOn", "ts"),
        Col("updated_on", "r.updatedOn", "ts"),
        Col("tag_ids", "r.contactTags", "ids"),
    ),
    odd=(
        _odd("r.communication", ["emails", "telephones"]),
        _odd("r.communication.emails", ["PRI"]),
        _odd("r.communication.emails.PRI", ["email"]),
        _odd("r.communication.telephones", ["PRI", "MOB"]),
        _odd("r.relationshipToAccount", ["isSupplier", "isStaff"]),
        _odd("r.financialDetails", ["priceListId", "creditLimit", "creditTermDays", "currencyId"]),
        _odd("r.organisation", ["name", "organisationId"]),
        "coalesce(s.odd, false)",
    ),
    search_columns=("isCustomer", "companyName"),
)

_PRODUCT = {
    "id": V,
    "identity": {"sku": V, "ean": V, "upc": V, "barcode": V, "isbn": V, "mpn": V},
    "salesChannels": struct_type({"salesChannelName": V, "productName": V}) + "[]",
    "brandId": V,
    "productTypeId": V,
    "productGroupId": V,
    "status": V,
    "stock": {"stockTracked": V},
    "composition": {"bundle": V},
    "createdOn": V,
    "updatedOn": V,
    "version": V,
}
# The name lives per sales channel; the "Brightpearl" channel is the master name, else the first channel.
_MASTER = "coalesce(list_filter(r.salesChannels, lambda x: x.salesChannelName = 'Brightpearl')[1], r.salesChannels[1])"

PRODUCTS = Spec(
    response_type=struct_type(_PRODUCT) + "[]",
    keyed=False,
    id_expr="r.id",
    columns=(
        Col("product_id", "r.id", "int", required=True),
        Col("sku", "r.identity.sku", "str"),
        Col("name", f"{_MASTER}.productName", "str"),
        Col("ean", "r.identity.ean", "str"),
        Col("upc", "r.identity.upc", "str"),
        Col("barcode", "r.identity.barcode", "str"),
        Col("isbn", "r.identity.isbn", "str"),
        Col("mpn", "r.identity.mpn", "str"),
        Col("brand_id", "r.brandId", "int"),
        Col("product_type_id", "r.productTypeId", "int"),
        Col("product_group_id", "r.productGroupId", "int"),
        Col("status", "r.status", "str"),
        Col("stock_tracked", "r.stock.stockTracked", "bool"),
        Col("is_bundle", "r.composition.bundle", "bool"),
        Col("created_on", "r.createdOn", "ts"),
        Col("updated_on", "r.updatedOn", "ts"),
        Col("version", "r.version", "int"),
    ),
    odd=(
        "r.salesChannels IS NULL",  # null, missing or not a list: Python tells which
        f"(len(r.salesChannels) > 0 AND {_odd(_MASTER, ['salesChannelName', 'productName'])})",
        _odd("r.identity", ["sku", "ean", "upc", "barcode", "isbn", "mpn"]),
        _odd("r.stock", ["stockTracked"]),
        _odd("r.composition", ["bundle"]),
    ),
)

SPECS: dict[str, Spec] = {
    "orders": ORDERS,
    "goods_out_notes": GOODS_OUT_NOTES,
    "contacts": CONTACTS,
    "products": PRODUCTS,
}


# ------------------------------------------------------------------ search rows (customer payments)
# A customer payment is its search row (no GET): the rows of the search pages are handed to DuckDB as JSON (the
# page's `results` cells keyed by column name) and typed here with the same readers as the GET bodies.
PAYMENT_COLUMNS: tuple[Col, ...] = (
    Col("payment_id", "r.paymentId", "int", required=True),
    Col("order_id", "r.orderId", "int"),
    Col("payment_type", "r.paymentType", "str"),
    Col("payment_method_code", "r.paymentMethodCode", "str"),
    Col("currency_id", "r.currencyId", "int"),
    Col("currency_code", "r.currencyCode", "str"),
    Col("amount_authorized", "r.amountAuthorized", "money", _M4),
    Col("amount_paid", "r.amountPaid", "money", _M4),
    Col("expires", "r.expires", "ts"),
    Col("payment_date", "r.paymentDate", "ts"),
    Col("created_on", "r.createdOn", "ts"),
    Col("journal_id", "r.journalId", "int"),
    Col("transaction_ref", "r.transactionRef", "str"),
    Col("transaction_code", "r.transactionCode", "str"),
)


def build_search_rows(
    conn: duckdb.DuckDBPyConnection,
    columns: Sequence[Col],
    fields: Sequence[str],
    pages: Sequence[bytes],
    stg: str,
) -> list[tuple[int, int]]:
    """Insert the typed rows of `pages` (each a JSON list of search rows keyed by the column names `fields`) into
    `stg`; return (page index, row index) of the rows SQL cannot vouch for, left to the Python transform. A key
    twice keeps its last copy."""
    schema = json.dumps([{f: V for f in fields}]).replace("'", "''")
    typed = ", ".join(f"{c.typed()} AS {c.name}" for c in columns)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _srow AS SELECT p, i, r, {typed} FROM (SELECT p, generate_subscripts(j, 1) - 1 "
        "AS i, unnest(j) AS r FROM (SELECT generate_subscripts($1::BLOB[], 1) - 1 AS p, "
        f"json_transform(decode(unnest($1::BLOB[])), '{schema}') AS j))",
        [list(pages)],
    )
    problems = " OR ".join(c.problem() for c in columns)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE _sflag AS SELECT p, i, ({problems}) AS bad FROM _srow")
    key, names = columns[0].name, ", ".join(c.name for c in columns)
    conn.execute(
        f"INSERT INTO {stg} ({names}) SELECT {names} FROM _srow JOIN _sflag USING (p, i) WHERE NOT bad "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY p DESC, i DESC) = 1"
    )
    flagged = conn.execute("SELECT p, i FROM _sflag WHERE bad ORDER BY p, i").fetchall()
    conn.execute("DROP TABLE _srow")
    conn.execute("DROP TABLE _sflag")
    return [(int(p), int(i)) for p, i in flagged]


# ------------------------------------------------------------------ staging and building
@dataclass
class Staged:
    """A GET body held in DuckDB: what the client hands back as `response` instead of decoded JSON."""

    body_no: int
    ids: list[Any] | None  # record ids as sent (text), for "which ids came back"; None: staged unread (`stage`)


class SqlRows:
    """The SQL row builder of one stream on one connection: `decode` stages GET bodies, `build` makes the rows.

    Temp tables (on the run's connection): `_raw_bodies` (the body texts of the write batch), `_search_vals`
    (contacts: search-row values), and the working tables of `build`."""

    def __init__(self, spec: Spec, conn: duckdb.DuckDBPyConnection) -> None:
        self.spec, self.conn = spec, conn
        self.bodies = 0
        self.records = 0
        self.bytes = 0  # of the staged bodies
        self.unchecked: list[int] = []  # bodies staged unread (`stage`): read first by `check_staged`
        self._sizes: dict[int, tuple[int, int]] = {}  # body_no -> (records counted, bytes)
        self._rec_ready = False  # `_rec` holds the typed records of the staged bodies
        # Contacts: the search-row values join as `s` (typing reads them, and so do the checks of `build`).
        self._join = (
            f" LEFT JOIN _search_vals s ON s.id = TRY_CAST({spec.id_expr} AS BIGINT)" if spec.search_columns else ""
        )
        self._schema = json.dumps({"errors": "JSON", "response": spec.response_type}).replace("'", "''")
        self._new_bodies_table()
        if spec.search_columns:
            conn.execute(
                "CREATE OR REPLACE TEMP TABLE _search_vals (id BIGINT, customer_text VARCHAR, company_text VARCHAR, "
                "odd BOOLEAN)"
            )
        # Only the body text is kept here; one cheap parse checks it and lists the ids (the fields are read once, at
        # write time, for the whole write batch). An `errors` member, or a `response` that is null or of another
        # shape (then NULL here), sends the body to the Python path.
        if spec.keyed:
            check = json.dumps({"errors": "JSON", "response": "MAP(VARCHAR, STRUCT(orderId VARCHAR))"})
            ids = "map_keys(t.response)"
        else:
            check = json.dumps({"errors": "JSON", "response": [{spec.id_expr.removeprefix("r."): V}]})
            ids = f"list_transform(t.response, lambda x: x.{spec.id_expr.removeprefix('r.')})"
        # The body travels once, as BLOB, and becomes text in DuckDB (`decode` checks the UTF-8: a Python str parameter
        # with one non-ASCII character is converted character by character, ~5 ms per 700 KB body); the check then
        # reads the staged text (passing the body a second time cost ~1 ms per 700 KB body).
        self._check = (
            f"SELECT t.errors IS NOT NULL OR t.response IS NULL, {ids} "
            f"FROM (SELECT json_transform(body, '{check}') AS t FROM _raw_bodies WHERE body_no = $1)"
        )

    # -------------------------------------------------------------- decode (inside the client's attempt)
    def decode(self, body: bytes) -> Any:
        """Stage one body; return the envelope the client checks. Bodies SQL cannot read as a whole (an `errors`
        envelope, a `response` of another shape or null) are decoded in Python and take the Python path."""
        if len(body) > BODY_BYTES_MAX:  # too big to parse within the writer's memory: the Python path
            return orjson.loads(body)
        body_no, conn = self._insert(body), self.conn
        try:
            other, ids = conn.execute(self._check, [body_no]).fetchone()  # type: ignore[misc]
        except duckdb.InvalidInputException as exc:
            conn.execute("DELETE FROM _raw_bodies WHERE body_no = ?", [body_no])
            raise ValueError(str(exc).split("\n", 1)[0][:200]) from None
        if other:
            conn.execute("DELETE FROM _raw_bodies WHERE body_no = ?", [body_no])
            return orjson.loads(body)
        self.bodies = body_no
        self.records += len(ids)
        self.bytes += len(body)
        self._sizes[body_no] = (len(ids), len(body))
        return {"response": Staged(body_no, ids)}

    def stage(self, body: bytes) -> Any:
        """Stage one body unread: it is parsed once, at write time, where `check_staged` finds the bodies that are
        not usable as a whole. For the bulk of a sync, which does not need to know which ids came back: the
        check `decode` makes costs a second parse of every body (~1.3 CPU-s per 100k orders). The caller counts
        the records it expects (`expect`)."""
        if len(body) > BODY_BYTES_MAX:
            return orjson.loads(body)
        body_no = self._insert(body)
        self.bodies = body_no
        self.bytes += len(body)
        self._sizes[body_no] = (0, len(body))
        self.unchecked.append(body_no)
        return {"response": Staged(body_no, None)}

    def expect(self, records: int) -> None:
        """Count records staged unread (they size the write batch)."""
        self.records += records

    def _insert(self, body: bytes) -> int:
        body_no, conn = self.bodies + 1, self.conn
        try:
            conn.execute("INSERT INTO _raw_bodies VALUES (?, decode(?::BLOB))", [body_no, body])
        except duckdb.ConversionException:  # not UTF-8: replaced, as Python's decode would (rare; slow path)
            conn.execute("INSERT INTO _raw_bodies VALUES (?, ?)", [body_no, body.decode("utf-8", errors="replace")])
        return body_no

    def check_staged(self) -> list[int]:
        """Read the staged bodies (into the typed records `build` writes) and return those not usable as a whole --
        not JSON, an `errors` envelope, a `response` that is null or of another shape -- dropped from staging: the
        caller GETs them again through the client, which retries or refuses them as `decode` would have made it do.
        Bodies checked on arrival are looked at again only when the batch cannot be read at all."""
        unchecked, self.unchecked = self.unchecked, []
        if not unchecked:
            return []
        try:
            self._records()
        except (duckdb.InvalidInputException, duckdb.OutOfMemoryException) as exc:
            # A body DuckDB cannot read (found one body at a time, among all the staged ones), or a batch beyond the
            # writer's memory (then `build` meets that too and writes the batch through Python, which needs JSON).
            bad = [b for b in self._sizes if self._unusable(b)]
            self._drop(bad)
            if isinstance(exc, duckdb.InvalidInputException):
                with contextlib.suppress(duckdb.OutOfMemoryException):
                    self._records()
            return bad
        # A body is usable when it gave a record that is not from an `errors` envelope; one that gave none is
        # looked at alone (an empty `response` is fine; null or another shape is not).
        quiet = self.conn.execute(
            "SELECT b FROM unnest($1::INTEGER[]) t(b) WHERE b NOT IN (SELECT body_no FROM _rec WHERE NOT _err)",
            [unchecked],
        ).fetchall()
        bad = [b for (b,) in quiet if self._unusable(b)]
        self._drop(bad)
        return bad

    def _unusable(self, body_no: int) -> bool:
        """Whether one staged body cannot be read as a whole: not readable into the stream's STRUCT (not JSON), an
        `errors` envelope, or a `response` that is null or of another shape."""
        try:
            (other,) = self.conn.execute(  # type: ignore[misc]
                "SELECT j.errors IS NOT NULL OR j.response IS NULL FROM (SELECT json_transform(body, "
                f"'{self._schema}') AS j FROM _raw_bodies WHERE body_no = $1)",
                [body_no],
            ).fetchone()
        except duckdb.InvalidInputException:
            return True
        return bool(other)

    def _drop(self, bodies: Sequence[int]) -> None:
        if not bodies:
            return
        self.conn.execute("DELETE FROM _raw_bodies WHERE list_contains($1::INTEGER[], body_no)", [list(bodies)])
        if self._rec_ready:
            self.conn.execute("DELETE FROM _rec WHERE list_contains($1::INTEGER[], body_no)", [list(bodies)])
        for body_no in bodies:
            records, size = self._sizes.pop(body_no)
            self.records -= records
            self.bytes -= size

    def _records(self) -> None:
        """`_rec`: one row per staged record, its parsed JSON (`r`, for child rows and checks) and typed columns."""
        spec = self.spec
        if spec.keyed:
            records = (
                "SELECT body_no, e.key AS k, e.value AS r, _err FROM (SELECT body_no, "
                "unnest(map_entries(j.response)) AS e, j.errors IS NOT NULL AS _err "
                f"FROM (SELECT body_no, json_transform(body, '{self._schema}') AS j FROM _raw_bodies))"
            )
        else:
            records = (
                "SELECT body_no, CAST(generate_subscripts(j.response, 1) AS VARCHAR) AS k, unnest(j.response) AS r, "
                "j.errors IS NOT NULL AS _err "
                f"FROM (SELECT body_no, json_transform(body, '{self._schema}') AS j FROM _raw_bodies)"
            )
        typed = ", ".join(f"{c.typed()} AS {c.name}" for c in spec.columns)
        self.conn.execute(
            f"CREATE OR REPLACE TEMP TABLE _rec AS SELECT body_no, k, r, _err, {typed} FROM ({records}) rr{self._join}"
        )
        self._rec_ready = True

    def add_search_rows(self, rows: Mapping[int, Mapping[str, Any] | None]) -> None:
        """Search-row values the transform reads (contacts: isCustomer, companyName), as SQL sees them."""
        if not self.spec.search_columns or not rows:
            return
        ids: list[int] = []
        customer: list[str | None] = []
        company: list[str | None] = []
        odd: list[bool] = []
        for record_id, row in rows.items():
            row = row or {}
            c, n = row.get("isCustomer"), row.get("companyName")
            ids.append(record_id)
            customer.append(None if c is None else ("true" if c is True else "false" if c is False else "?"))
            company.append(n if n is None or type(n) is str else None)
            odd.append(not (c is None or type(c) is bool) or not (n is None or type(n) is str))
        self.conn.execute("DELETE FROM _search_vals WHERE list_contains($1::BIGINT[], id)", [ids])
        self.conn.execute(
            "INSERT INTO _search_vals SELECT unnest($1::BIGINT[]), unnest($2::VARCHAR[]), unnest($3::VARCHAR[]), "
            "unnest($4::BOOLEAN[])",
            [ids, customer, company, odd],
        )

    # -------------------------------------------------------------- build (inside the write transaction)
    def build(
        self, known: KnownReferences, stg: str, child_stg: str | None, skip_ids: Sequence[int]
    ) -> list[tuple[int, str]]:
        """Insert the rows SQL converts into `stg` / `child_stg`; return (body_no, record key) of the records left
        to Python. A record id twice in the batch keeps its last copy; ids in `skip_ids` were handled in Python."""
        spec, conn, join = self.spec, self.conn, self._join
        if self.unchecked:
            raise RuntimeError("bodies staged unread: check_staged() first")
        if not self._rec_ready:
            self._records()
        self._rec_ready = False  # the next batch's bodies are read anew
        problems = [c.problem() for c in spec.columns] + [f"coalesce({o}, false)" for o in spec.odd]
        params: list[Any] = []
        for column, attr in spec.references:
            params.append(sorted(getattr(known, attr)))
            problems.append(_unknown(column, f"${len(params)}::BIGINT[]"))
        key = spec.columns[0].name
        child_bad = ""
        if spec.child_columns:
            ctyped = ", ".join(f"{c.typed()} AS {c.name}" for c in spec.child_columns)
            conn.execute(
                f"CREATE OR REPLACE TEMP TABLE _child AS SELECT body_no, k, {key} AS _parent, {ctyped}, c, ck "
                f"FROM _rec, LATERAL {spec.child_from}"
            )
            cproblems = [c.problem() for c in spec.child_columns] + [f"coalesce({o}, false)" for o in spec.child_odd]
            conn.execute(
                "CREATE OR REPLACE TEMP TABLE _child_bad AS SELECT DISTINCT body_no, k FROM _child WHERE "
                + " OR ".join(cproblems)
            )
            child_bad = " OR (body_no, k) IN (SELECT (body_no, k) FROM _child_bad)"
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE _flag AS SELECT body_no, k, {key}, "
            f"({' OR '.join(problems)}{child_bad}) AS bad FROM _rec{join}",
            params,
        )
        # Good records: the last copy of each id, unless Python handled that id in this batch.
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE _good AS SELECT body_no, k FROM _flag WHERE NOT bad "
            f"AND NOT list_contains($1::BIGINT[], {key}) "
            f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY body_no DESC, k DESC) = 1",
            [list(skip_ids)],
        )
        names = ", ".join(c.name for c in spec.columns)
        conn.execute(f"INSERT INTO {stg} ({names}) SELECT {names} FROM _rec SEMI JOIN _good USING (body_no, k)")
        if child_stg is not None and spec.child_columns:
            cnames = [c.name for c in spec.child_columns]
            if spec.child_group:  # goods-out lines: quantities summed per (row, product) over pick locations
                rest = [n for n in cnames if n not in spec.child_group]
                select = ", ".join(
                    [*spec.child_group, *(f"CAST(sum(coalesce({n}, 0)) AS INTEGER) AS {n}" for n in rest)]
                )
                group = " GROUP BY ALL"
            else:
                select, group = ", ".join(cnames), ""
            conn.execute(
                f"INSERT INTO {child_stg} ({key}, {', '.join(cnames)}) SELECT _parent, {select} "
                f"FROM _child SEMI JOIN _good USING (body_no, k){group}"
            )
        return conn.execute("SELECT body_no, k FROM _flag WHERE bad ORDER BY body_no, k").fetchall()

    def raw_records(self, flagged: Sequence[tuple[int, str]]) -> list[Any]:
        """The raw JSON of the flagged records, decoded (for the Python transform and the quarantine payload). Each
        body holding one is parsed once, into its records' JSON texts: a path lookup per record parsed the whole
        body for every record (contacts with an empty `emails` object, say, are flagged in numbers)."""
        if not flagged:
            return []
        if self.spec.keyed:
            schema, pick = '{"response": "MAP(VARCHAR, JSON)"}', "t.recs[f.k]"
        else:
            schema, pick = '{"response": "JSON[]"}', "t.recs[CAST(f.k AS INTEGER)]"
        body_nos = [b for b, _ in flagged]
        texts = self.conn.execute(
            f"SELECT {pick} FROM (SELECT unnest($1::INTEGER[]) AS body_no, unnest($2::VARCHAR[]) AS k, "
            "generate_subscripts($1::INTEGER[], 1) AS i) f "
            f"JOIN (SELECT body_no, json_transform(body, '{schema}').response AS recs FROM _raw_bodies "
            "WHERE list_contains($3::INTEGER[], body_no)) t USING (body_no) ORDER BY f.i",
            [body_nos, [k for _, k in flagged], sorted(set(body_nos))],
        ).fetchall()
        return [orjson.loads(t) if t is not None else None for (t,) in texts]

    def _new_bodies_table(self) -> None:
        # Made anew for each write batch: a DELETE leaves the bodies' blocks allocated until a checkpoint, so the
        # next batches pushed them out to DuckDB's temp files (a write and an unlink per body: ~1 CPU-s per 100k
        # orders, measured on 100 order bodies as 0.40-0.57 against 0.30-0.35 CPU-s).
        self.conn.execute("CREATE OR REPLACE TEMP TABLE _raw_bodies (body_no INTEGER, body VARCHAR)")

    def clear(self) -> None:
        """Forget the staged bodies (after their write)."""
        self._new_bodies_table()
        if self.spec.search_columns:
            self.conn.execute("DELETE FROM _search_vals")
        self.records = self.bytes = 0
        self.unchecked, self._sizes, self._rec_ready = [], {}, False

    def staged_bodies(self) -> list[tuple[int, str]]:
        """(body_no, text) of the staged bodies, for the Python path when SQL ran out of memory."""
        return self.conn.execute("SELECT body_no, body FROM _raw_bodies ORDER BY body_no").fetchall()

    def discard_after(self, body_no: int) -> None:
        """Drop the bodies staged after `body_no` (their GET batch was quarantined as a whole)."""
        self._drop([b for b in self._sizes if b > body_no])
        self.unchecked = [b for b in self.unchecked if b <= body_no]
