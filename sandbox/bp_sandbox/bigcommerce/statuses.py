"""Order statuses 0-14 exactly as the orders.v2 spec lists them (`order` = sort position in its example)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from bp_sandbox.bigcommerce.errors import not_found
from bp_sandbox.bigcommerce.gateway import Ctx, json_response


@dataclass(frozen=True)
class OrderStatus:
    id: int
    name: str
    order: int
    description: str

    def to_json(self) -> dict[str, Any]:
        # The sandbox store never renames statuses, so custom_label == system_label == name.
        return {
            "id": self.id,
            "name": self.name,
            "system_label": self.name,
            "custom_label": self.name,
            "system_description": self.description,
            "order": self.order,
        }


STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus(
        0,
        "Incomplete",
        0,
        "An incomplete order happens when a shopper reached the payment page, but did not complete the transaction.",
    ),
    OrderStatus(1, "Pending", 1, "Customer started the checkout process, but did not complete it."),
    OrderStatus(
        2,
        "Shipped",
        8,
        "Order has been shipped, but receipt has not been confirmed; seller has used the Ship Items action.",
    ),
    OrderStatus(
        3,
        "Partially Shipped",
        6,
        "Only some items in the order have been shipped, due to some products being pre-order only or other reasons.",
    ),
    OrderStatus(4, "Refunded", 11, "Seller has used the Refund action."),
    OrderStatus(5, "Cancelled", 9, "Seller has cancelled an order, due to a stock inconsistency or other reasons."),
    OrderStatus(
        6, "Declined", 10, "Seller has marked the order as declined for lack of manual payment, or other reasons."
    ),
    OrderStatus(
        7, "Awaiting Payment", 2, "Customer has completed checkout process, but payment has yet to be confirmed."
    ),
    OrderStatus(
        8,
        "Awaiting Pickup",
        5,
        "Order has been pulled, and is awaiting customer pickup from a seller-specified location.",
    ),
    OrderStatus(
        9,
        "Awaiting Shipment",
        4,
        "Order has been pulled and packaged, and is awaiting collection from a shipping provider.",
    ),
    OrderStatus(
        10, "Completed", 7, "Client has paid for their digital product and their file(s) are available for download."
    ),
    OrderStatus(
        11, "Awaiting Fulfillment", 3, "Customer has completed the checkout process and payment has been confirmed."
    ),
    OrderStatus(
        12, "Manual Verification Required", 13, "Order is on hold while some aspect needs to be manually confirmed."
    ),
    OrderStatus(
        13,
        "Disputed",
        12,
        "Customer has initiated a dispute resolution process for the PayPal transaction that paid for the order.",
    ),
    OrderStatus(14, "Partially Refunded", 14, "Seller has partially refunded the order."),
)
BY_ID: dict[int, OrderStatus] = {s.id: s for s in STATUSES}
SHIPPED = 2
PARTIALLY_SHIPPED = 3


def status_name(status_id: int) -> str:
    status = BY_ID.get(status_id)
    return status.name if status else ""


def list_statuses(ctx: Ctx) -> Response:
    return json_response([s.to_json() for s in STATUSES])


def get_status(ctx: Ctx) -> Response:
    status = BY_ID.get(int(ctx.path_params["status_id"]))
    if status is None:
        raise not_found()
    return json_response(status.to_json())
