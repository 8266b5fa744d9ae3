"""Stock levels: product availability by ID set (100 products per call).

Incremental runs refresh the products that changed, or appear on order rows / goods-out rows that changed,
since the last stock sync (orders allocate stock, shipments consume it); reconciliation and the first run
refresh every product. `as_of` is the fetch time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from bp_pipelines.lib.brightpearl import (
    PRODUCT_AVAILABILITY_MAX_IDS,
    BrightpearlAuthError,
    BrightpearlClient,
    BrightpearlMalformedResponseError,
    BrightpearlNotFoundError,
    BrightpearlRequestError,
    to_id_set,
)
from bp_pipelines.lib.warehouse import DuckDBWarehouse
from bp_pipelines.lib.warehouse import bookkeeping as bk
from bp_pipelines.lib.warehouse.tables import STOCK_LEVELS
from bp_pipelines.lib.warehouse.upsert import Counts, upsert

from .stream_sync import SyncLog
from .streams import KnownReferences
from .transforms import RecordError, availability_rows

NAME = "stock_levels"
PATH = "warehouse-service/product-availability"

_CHANGED = """
    SELECT product_id FROM brightpearl.products WHERE _synced_at >= ?
    UNION SELECT product_id FROM brightpearl.order_rows WHERE _synced_at >= ? AND product_id IS NOT NULL
    UNION SELECT product_id FROM brightpearl.goods_out_note_rows WHERE _synced_at >= ?
"""


class StockSync:
    """One stock refresh: `run(full)` refreshes every product (full) or those touched since the last refresh."""

    def __init__(self, client: BrightpearlClient, warehouse: DuckDBWarehouse, log: SyncLog) -> None:
        self.client, self.warehouse, self.log = client, warehouse, log
        self.as_of = datetime.now(UTC)
        self.counts, self.quarantined, self.resolved = Counts(), 0, 0
        with warehouse.connect() as conn:
            self.known = KnownReferences.load(conn)
            self.since = bk.get_watermark(conn, NAME).watermark
            self.retry_ids = [int(r) for r, _ in bk.open_quarantine(conn, NAME) if r.isdigit()]

    def run(self, full: bool, run_id: str, mode: str) -> None:
        for chunk in self.product_chunks(full):
            self.refresh(chunk)
        with self.warehouse.connect() as conn:
            bk.set_watermark(
                conn,
                NAME,
                self.as_of,
                self.as_of,
                mode=mode,
                window=(self.since, self.as_of),
                run_id=run_id,
                reconciled=full,
            )

    @property
    def changed(self) -> bool:
        c = self.counts
        return bool(c.inserted or c.updated or c.deleted or self.quarantined or self.resolved)

    def product_chunks(self, full: bool) -> Iterator[list[int]]:
        """Keyset-paged product ids (never the whole table in memory): retries first, then changed or all."""
        for start in range(0, len(self.retry_ids), PRODUCT_AVAILABILITY_MAX_IDS):
            yield self.retry_ids[start : start + PRODUCT_AVAILABILITY_MAX_IDS]
        if full or self.since is None:
            sql, params = "SELECT product_id FROM brightpearl.products WHERE NOT is_deleted", []
        else:
            sql, params = _CHANGED, [self.since] * 3
        last = -1
        while True:
            with self.warehouse.connect() as conn:
                ids = [
                    r[0]
                    for r in conn.execute(
                        f"SELECT DISTINCT product_id FROM ({sql}) WHERE product_id > ? ORDER BY 1 LIMIT ?",
                        [*params, last, PRODUCT_AVAILABILITY_MAX_IDS],
                    ).fetchall()
                ]
            if not ids:
                return
            yield ids
            last = ids[-1]

    def refresh(self, ids: list[int]) -> None:
        try:
            response = self.client.get(f"{PATH}/{to_id_set(ids)}")
        except BrightpearlNotFoundError:
            response = {}  # none of these products exists any more
        except BrightpearlRequestError as exc:
            if isinstance(exc, BrightpearlAuthError):
                raise
            if len(ids) > 1:  # one unknown id refuses the whole set (peers: RSM): split to isolate it
                mid = len(ids) // 2
                self.refresh(ids[:mid])
                self.refresh(ids[mid:])
                return
            self._quarantine(str(ids[0]), f"product-availability refused: {exc}", None)
            return
        except BrightpearlMalformedResponseError as exc:
            for pid in ids:
                self._quarantine(str(pid), f"product-availability unusable after retries: {exc}", None)
            return
        if not isinstance(response, dict):
            for pid in ids:
                self._quarantine(
                    str(pid), f"product-availability is not an object: {type(response).__name__}", response
                )
            return
        rows, replaced = [], []
        for pid, raw in response.items():
            try:
                product_rows = availability_rows(pid, raw, self.as_of)
                for row in product_rows:
                    if self.known.warehouses and row["warehouse_id"] not in self.known.warehouses:
                        raise RecordError(
                            f"unknown warehouse_id {row['warehouse_id']}: refresh reference data "
                            "(materialize warehouses)"
                        )
            except RecordError as exc:
                self._quarantine(str(pid), str(exc), raw)
                continue
            rows.extend(product_rows)
            replaced.append(int(pid))
        # Products not returned have no availability any more: their rows go (parent replace semantics).
        replaced += [i for i in ids if str(i) not in response]
        with self.warehouse.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            self.counts.add(upsert(conn, STOCK_LEVELS, rows, self.as_of, parent_ids=replaced))
            self.resolved += bk.resolve(conn, NAME, [str(i) for i in replaced], self.as_of)
            conn.execute("COMMIT")

    def _quarantine(self, record_id: str, reason: str, payload: Any) -> None:
        self.quarantined += 1
        self.log.warning(f"stock_levels product {record_id} quarantined: {reason}. Retried on the next run.")
        with self.warehouse.connect() as conn:
            bk.quarantine(conn, NAME, record_id, reason, payload, self.as_of)
