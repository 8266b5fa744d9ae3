"""Shared record types for order generation and the `orders` row builder (schema.sql column order)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .fulfil import ShipLine
from .storefront import TopLine

ORDER_COLUMNS: tuple[str, ...] = (
    "id",
    "order_type_code",
    "parent_order_id",
    "status_id",
    "contact_id",
    "channel_id",
    "warehouse_id",
    "external_ref",
    "customer_ref",
    "currency_code",
    "exchange_rate",
    "price_list_id",
    "price_mode_code",
    "total_net",
    "total_tax",
    "total_value",
    "payment_status",
    "shipping_status_code",
    "stock_status_code",
    "allocation_status_code",
    "invoice_reference",
    "tax_date_ms",
    "due_date_ms",
    "shipping_method_id",
    "delivery_date_ms",
    "placed_on_ms",
    "created_ms",
    "updated_ms",
    "closed_ms",
    "created_by_id",
    "staff_owner_contact_id",
    "installed_integration_instance_id",
    "version",
    "deleted",
    "billing_address_id",
    "delivery_address_id",
)
ORDER_DEFAULTS: dict[str, object] = {
    "parent_order_id": 0,
    "channel_id": 0,
    "warehouse_id": 1,
    "external_ref": None,
    "customer_ref": None,
    "currency_code": "USD",
    "exchange_rate": "1.000000",
    "price_mode_code": "EXC",
    "stock_status_code": "NON",
    "allocation_status_code": "ANR",
    "shipping_status_code": "NST",
    "invoice_reference": None,
    "tax_date_ms": None,
    "due_date_ms": None,
    "shipping_method_id": 0,
    "delivery_date_ms": None,
    "closed_ms": None,
    "staff_owner_contact_id": 0,
    "installed_integration_instance_id": None,
    "version": 1,
    "deleted": 0,
}


_INDEX = {c: i for i, c in enumerate(ORDER_COLUMNS)}
_MISSING = object()
_TEMPLATE = [ORDER_DEFAULTS.get(c, _MISSING) for c in ORDER_COLUMNS]


def order_row(**values: object) -> tuple[object, ...]:
    """Build an `orders` tuple; unknown or missing columns fail loudly so schema drift is caught in tests."""
    row = _TEMPLATE.copy()
    index = _INDEX
    for name, value in values.items():
        row[index[name]] = value  # KeyError on an unknown column
    if _MISSING in row:
        missing = [c for c, v in zip(ORDER_COLUMNS, row, strict=True) if v is _MISSING]
        raise KeyError(f"missing order columns: {missing}")
    return tuple(row)


@dataclass
class Priced:
    """Rows written for one order plus what fulfilment and the storefront side need."""

    top: list[TopLine] = field(default_factory=list)
    ship_lines: list[ShipLine] = field(default_factory=list)
    net: int = 0
    tax: int = 0


@dataclass(slots=True)
class Created:
    order_id: int
    kind: str
    bc_order_id: int | None = None
