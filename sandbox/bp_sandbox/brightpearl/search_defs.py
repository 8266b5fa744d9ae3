"""Column lists of the four searches, in the recorded order (order, product, contact; goods-out per docs)."""

from __future__ import annotations

from typing import Any

from ..state import Store
from .codes import (
    ORDER_TYPES,
    PAYMENT_STATUS_IDS,
    SHIPPING_STATUS_IDS,
    SHIPPING_STATUS_NAMES,
    STOCK_STATUS_IDS,
    STOCK_STATUS_NAMES,
)
from .search import Column, SearchDef

ORDER_TYPE_IDS = {code: t[0] for code, t in ORDER_TYPES.items()}
INT, S, SS, B, P, IDS = "INTEGER", "STRING", "SEARCH_STRING", "BOOLEAN", "PERIOD", "IDSET"


def _order_references(store: Store, rows: list[list[Any]], cols: list[Column]) -> dict[str, Any]:
    names = {c.name: i for i, c in enumerate(cols)}
    out: dict[str, Any] = {}

    def present(column: str) -> list[int]:
        idx = names.get(column)
        return sorted({r[idx] for r in rows if r[idx] is not None}) if idx is not None else []

    if "orderTypeId" in names:
        by_id = {t[0]: t[1] for t in ORDER_TYPES.values()}
        out["orderTypeNames"] = {str(i): by_id[i] for i in present("orderTypeId")}
    if "orderStatusId" in names and (ids := present("orderStatusId")):
        marks = ",".join("?" * len(ids))
        status_names = dict(store.query(f"SELECT id, name FROM order_statuses WHERE id IN ({marks})", tuple(ids)))
        out["orderStatusNames"] = {str(i): status_names.get(i, "") for i in ids}
    if "orderPaymentStatusId" in names:
        by_id = {v: k for k, v in PAYMENT_STATUS_IDS.items()}
        out["orderPaymentStatusNames"] = {str(i): by_id[i] for i in present("orderPaymentStatusId")}
    if "orderStockStatusId" in names:
        out["orderStockStatusNames"] = {str(i): STOCK_STATUS_NAMES[i] for i in present("orderStockStatusId")}
    if "orderShippingStatusId" in names:
        out["orderShippingStatusNames"] = {str(i): SHIPPING_STATUS_NAMES[i] for i in present("orderShippingStatusId")}
    return out


def _product_references(store: Store, rows: list[list[Any]], cols: list[Column]) -> dict[str, Any]:
    idx = next((i for i, c in enumerate(cols) if c.name == "productId"), None)
    if idx is None or not rows:
        return {}
    ids = [r[idx] for r in rows]
    marks = ",".join("?" * len(ids))
    cats = store.query(f"SELECT id, category_codes FROM products WHERE id IN ({marks})", tuple(ids))
    membership = {str(pid): [int(c) for c in codes.split(",") if c] for pid, codes in cats}
    return {"productCategoryMembership": {str(pid): membership.get(str(pid), []) for pid in ids}}


ORDER_SEARCH = SearchDef(
    source="orders o",
    base_where="o.deleted = 0",
    columns=(
        Column("orderId", IDS, "o.id"),
        Column("orderTypeId", IDS, "o.order_type_code", reference="orderTypeNames", codes=ORDER_TYPE_IDS),
        Column("contactId", INT, "o.contact_id"),
        Column("orderStatusId", INT, "o.status_id", reference="orderStatusNames"),
        Column(
            "orderStockStatusId", INT, "o.stock_status_code", reference="orderStockStatusNames", codes=STOCK_STATUS_IDS
        ),
        Column("createdOn", P, "o.created_ms"),
        Column("createdById", INT, "o.created_by_id"),
        Column("customerRef", S, "o.customer_ref"),
        Column(
            "orderPaymentStatusId",
            INT,
            "o.payment_status",
            reference="orderPaymentStatusNames",
            codes=PAYMENT_STATUS_IDS,
        ),
        Column("updatedOn", P, "o.updated_ms"),
        Column("parentOrderId", IDS, "o.parent_order_id"),
        Column(
            "orderShippingStatusId",
            INT,
            "o.shipping_status_code",
            reference="orderShippingStatusNames",
            codes=SHIPPING_STATUS_IDS,
        ),
        Column("externalRef", S, "o.external_ref"),
        Column("installedIntegrationInstanceId", INT, "o.installed_integration_instance_id"),
        Column("warehouseId", IDS, "o.warehouse_id"),
        Column("staffOwnerContactId", INT, "o.staff_owner_contact_id"),
        Column("taxDate", P, "o.tax_date_ms"),
        Column("departmentId", INT, "0"),
        Column("deliveryDate", P, "o.delivery_date_ms"),
    ),
    references=_order_references,
    shift_table="orders",
    # not a column of the recorded search, but a documented filter used by integrations (brief: channel filter)
    extra_filters={"channelId": Column("channelId", INT, "o.channel_id", sortable=False)},
)

PRODUCT_SEARCH = SearchDef(
    source="products p",
    base_where="p.deleted = 0",
    columns=(
        Column("productId", IDS, "p.id", reference="productCategoryMembership"),
        Column("productName", SS, "p.name"),
        Column("SKU", S, "p.sku"),
        Column("barcode", S, "p.barcode"),
        Column("EAN", S, "p.ean"),
        Column("UPC", S, "p.upc"),
        Column("ISBN", S, "p.isbn"),
        Column("MPN", S, "p.mpn"),
        Column("stockTracked", B, "p.stock_tracked"),
        Column("salesChannelName", S, "'Brightpearl'", filterable=False),
        Column("createdOn", P, "p.created_ms"),
        Column("updatedOn", P, "p.updated_ms"),
        Column(
            "brightpearlCategoryCode",
            IDS,
            "CAST(CASE WHEN instr(p.category_codes, ',') > 0 THEN substr(p.category_codes, 1, "
            "instr(p.category_codes, ',') - 1) ELSE nullif(p.category_codes, '') END AS INTEGER)",
            sortable=False,
        ),
        Column("productGroupId", INT, "p.product_group_id"),
        Column("brandId", IDS, "p.brand_id"),
        Column("productTypeId", IDS, "p.product_type_id"),
        Column("productStatus", S, "p.status"),
        Column("primarySupplierId", IDS, "p.primary_supplier_id"),
    ),
    references=_product_references,
    shift_table="products",
)

CONTACT_SEARCH = SearchDef(
    source="contacts c",
    base_where="c.deleted = 0",
    columns=(
        Column("contactId", IDS, "c.id"),
        Column("primaryEmail", SS, "c.email"),
        Column("secondaryEmail", SS, "''"),
        Column("tertiaryEmail", SS, "''"),
        Column("firstName", SS, "c.first_name"),
        Column("lastName", SS, "c.last_name"),
        Column("isSupplier", B, "c.is_supplier", sortable=False),
        Column("companyName", SS, "c.company_name"),
        Column("isStaff", B, "c.is_staff", sortable=False),
        Column("isCustomer", B, "c.is_customer", sortable=False),
        Column("createdOn", P, "c.created_ms"),
        Column("updatedOn", P, "c.updated_ms"),
        Column("lastContactedOn", P, "NULL"),
        Column("lastOrderedOn", P, "c.last_ordered_ms"),
        Column("nominalCode", INT, "0"),
        Column("isPrimary", B, "1"),
        Column("pri", S, "coalesce(c.phone, '')", sortable=False),
        Column("sec", S, "''", sortable=False),
        Column("mob", S, "coalesce(c.mobile, '')", sortable=False),
        Column("exactCompanyName", S, "c.company_name"),
        Column("title", S, "nullif(c.salutation, '')"),
    ),
    shift_table="contacts",
)

# Documented columns up to createdBy; the rest are sandbox choices: labelUri (the truncated "labe…"),
# channelId at index 14 (as a PHP integration reads it) and transfer (read by name by a JS integration).
GOODS_OUT_SEARCH = SearchDef(
    source="goods_out_notes g JOIN orders o ON o.id = g.order_id",
    base_where="g.deleted = 0 AND o.deleted = 0",
    columns=(
        Column("goodsOutNoteId", INT, "g.id"),
        Column("printed", B, "g.printed"),
        Column("picked", B, "g.picked"),
        Column("packed", B, "g.packed"),
        Column("shipped", B, "g.shipped"),
        Column("shippedOn", P, "g.shipped_ms"),
        Column("orderId", INT, "g.order_id"),
        Column("shippingMethodId", IDS, "g.shipping_method_id"),
        Column("warehouseId", INT, "g.warehouse_id"),
        Column("priority", B, "g.priority"),
        Column("createdOn", P, "g.created_ms"),
        Column("releaseDate", P, "g.release_ms"),
        Column("createdBy", INT, "g.created_by"),
        Column("labelUri", S, "''", filterable=False, sortable=False),
        Column("channelId", INT, "o.channel_id"),
        Column("transfer", B, "g.transfer"),
    ),
)

# Columns, types and sortability exactly as recorded (customer_payment/search/simple_search.yml); amounts are
# STRING columns in the order currency. Deleted payments vanish from the search (recorded delete).
CUSTOMER_PAYMENT_SEARCH = SearchDef(
    source="customer_payments cp",
    base_where="cp.deleted = 0",
    columns=(
        Column("paymentId", IDS, "cp.id"),
        Column("transactionRef", S, "cp.transaction_ref", sortable=False),
        Column("transactionCode", S, "cp.transaction_code", sortable=False),
        Column("paymentMethodCode", S, "cp.payment_method_code", sortable=False),
        Column("paymentType", S, "cp.payment_type", sortable=False),
        Column("orderId", IDS, "cp.order_id", sortable=False),
        Column(
            "currencyId",
            IDS,
            "CASE cp.currency_code WHEN 'GBP' THEN 1 WHEN 'EUR' THEN 2 WHEN 'USD' THEN 3 END",
            sortable=False,
        ),
        Column("currencyCode", S, "cp.currency_code", sortable=False),
        Column("amountAuthorized", S, "cp.amount_authorized", sortable=False),
        Column("amountPaid", S, "cp.amount_paid", sortable=False),
        Column("expires", P, "cp.expires_ms", sortable=False),
        Column("paymentDate", P, "cp.payment_ms"),
        Column("createdOn", P, "cp.created_ms"),
        Column("journalId", IDS, "cp.journal_id"),
    ),
)
