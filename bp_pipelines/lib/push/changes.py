"""What the storefront sensor asks Brightpearl: did any order change, or any goods-out note ship, since `since`?

Two one-row searches (their `resultsAvailable` is the answer), so polling costs two calls however much changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bp_pipelines.lib.brightpearl import BrightpearlClient

ORDER_SEARCH = "order-service/order-search"
GOODS_OUT_SEARCH = "warehouse-service/goods-note/goods-out-search"


@dataclass(frozen=True)
class Changes:
    orders_updated: int
    notes_shipped: int

    @property
    def any(self) -> bool:
        return bool(self.orders_updated or self.notes_shipped)


def _count(client: BrightpearlClient, path: str, column: str, since: datetime) -> int:
    stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    page = next(iter(client.search(path, {column: f"{stamp}/"}, page_size=1)))
    return page.results_available


def changes_since(client: BrightpearlClient, since: datetime) -> Changes:
    return Changes(
        orders_updated=_count(client, ORDER_SEARCH, "updatedOn", since),
        notes_shipped=_count(client, GOODS_OUT_SEARCH, "shippedOn", since),
    )
