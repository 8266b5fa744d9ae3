"""Status code <-> id tables. Ids not present in the recordings are sandbox choices (docs/sandbox.md)."""

from __future__ import annotations

ORDER_TYPES: dict[str, tuple[int, str, str]] = {  # code -> (orderTypeId, reference name, display name)
    "SO": (1, "SALES_ORDER", "Sales Order"),
    "PO": (2, "PURCHASE_ORDER", "Purchase Order"),
    "SC": (3, "SALES_CREDIT", "Sales Credit"),
    "PC": (4, "PURCHASE_CREDIT", "Purchase Credit"),
}
PAYMENT_STATUS_IDS: dict[str, int] = {"PAID": 1, "UNPAID": 2, "PARTIALLY_PAID": 3, "NOT_APPLICABLE": 5}
# stock status code -> orderStockStatusId; names as in order-stock-status (13 "Unset" as recorded)
STOCK_STATUS_IDS: dict[str, int] = {"SON": 1, "PON": 1, "SOP": 2, "PPR": 2, "SOA": 3, "PAR": 3, "NON": 13}
STOCK_STATUS_NAMES: dict[int, str] = {1: "None", 2: "Partial", 3: "All", 13: "Unset"}
SHIPPING_STATUSES: tuple[tuple[int, str, str], ...] = (
    (1, "NST", "No stock tracked products on order"),
    (2, "SNS", "Stock not shipped"),
    (3, "SPS", "Stock part shipped"),
    (4, "ASS", "All stock shipped"),
)
SHIPPING_STATUS_IDS: dict[str, int] = {code: i for i, code, _ in SHIPPING_STATUSES}
SHIPPING_STATUS_NAMES: dict[int, str] = {i: d for i, _, d in SHIPPING_STATUSES}
