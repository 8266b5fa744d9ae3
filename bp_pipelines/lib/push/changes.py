"""What the storefront sensor asks Brightpearl: did any order change, or any goods-out note ship, after what the
warehouse already holds?

"After" is the extraction's own watermarks (Brightpearl's clock, read from the published warehouse), so the
sensor needs no cursor of its own and a skewed local clock cannot make it miss or repeat a change. Two one-row
searches per poll (their `resultsAvailable` is the answer): the cost is flat however much changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from bp_pipelines.lib.brightpearl import BrightpearlClient
from bp_pipelines.lib.warehouse import SNAPSHOT_WATERMARKS

ORDER_SEARCH = "order-service/order-search"
GOODS_OUT_SEARCH = "warehouse-service/goods-note/goods-out-search"


@dataclass(frozen=True)
class Changes:
    orders_updated: int
    notes_shipped: int

    @property
    def any(self) -> bool:
        return bool(self.orders_updated or self.notes_shipped)


def watermarks(published: Path) -> tuple[datetime | None, datetime | None]:
    """(orders, goods_out_notes) watermarks of the published warehouse; None when not synced yet."""
    if not published.exists():
        return None, None
    try:
        with duckdb.connect(str(published), read_only=True) as conn:
            rows = dict(
                conn.execute(
                    "SELECT resource, watermark FROM _sync.watermarks WHERE list_contains(?, resource)",
                    [list(SNAPSHOT_WATERMARKS)],
                ).fetchall()
            )
    except duckdb.Error:
        return None, None
    return rows.get("orders"), rows.get("goods_out_notes")


def _after(moment: datetime) -> str:
    # Searches filter by whole seconds: start at the next one, so the record at the watermark itself does not
    # trigger a run on every poll (a change within that same second is caught by the incremental schedule).
    return (moment.replace(microsecond=0) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(client: BrightpearlClient, path: str, column: str, since: datetime) -> int:
    page = next(iter(client.search(path, {column: f"{_after(since)}/"}, page_size=1)))
    return page.results_available


def changes_after(client: BrightpearlClient, orders_since: datetime, notes_since: datetime) -> Changes:
    return Changes(
        orders_updated=_count(client, ORDER_SEARCH, "updatedOn", orders_since),
        notes_shipped=_count(client, GOODS_OUT_SEARCH, "shippedOn", notes_since),
    )
