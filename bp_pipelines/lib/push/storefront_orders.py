"""Where the order import reads storefront orders: the BigCommerce API, for now.

Kept to this one module on purpose: once the storefront extraction (schema `storefront`) is in the warehouse, only
`importable_orders` changes (a query instead of API calls); the import engine only sees `StorefrontOrder`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class StorefrontOrderApi(Protocol):
    """The BigCommerce calls the import makes (`bp_pipelines.lib.bigcommerce.BigCommerceClient`)."""

    def list_orders(self, **filters: Any) -> Iterator[dict[str, Any]]: ...
    def order_products(self, order_id: int) -> list[dict[str, Any]]: ...
    def order_shipping_addresses(self, order_id: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class StorefrontOrder:
    order: dict[str, Any]  # GET /v2/orders/{id}, as the storefront answered
    products: list[dict[str, Any]]
    shipping_addresses: list[dict[str, Any]]

    @property
    def id(self) -> int:
        return int(self.order["id"])


def importable_orders(
    client: StorefrontOrderApi,
    statuses: tuple[int, ...],
    *,
    modified_from: datetime | None,
    modified_to: datetime | None,
    known: Callable[[int], bool],
) -> Iterator[StorefrontOrder]:
    """Storefront orders in one of `statuses` (optionally modified in [from, to)), skipping those `known` says the
    ledger already holds: lines and addresses (2 calls) are fetched only for orders not seen before."""
    for status in statuses:
        filters: dict[str, Any] = {"status_id": status, "sort": "date_modified:asc"}
        if modified_from is not None:
            filters["min_date_modified"] = modified_from
        if modified_to is not None:
            filters["max_date_modified"] = modified_to
        for order in client.list_orders(**filters):
            order_id = int(order["id"])
            if known(order_id):
                continue
            yield StorefrontOrder(order, client.order_products(order_id), client.order_shipping_addresses(order_id))
