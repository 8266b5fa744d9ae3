"""Stock levels: product availability by ID set (100 products per call).

Incremental runs refresh the products that changed, or appear on order rows / goods-out rows that changed,
since the last stock sync (orders allocate stock, shipments consume it); reconciliation and the first run
refresh every product. `as_of` is the fetch time.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from bp_pipelines.resources.brightpearl import (
    PRODUCT_AVAILABILITY_MAX_IDS,
    BrightpearlAuthError,
    BrightpearlClient,
    BrightpearlError,
    BrightpearlMalformedResponseError,
    BrightpearlNotFoundError,
    BrightpearlRequestError,
    BrightpearlResource,
    to_id_set,
)
from bp_pipelines.resources.warehouse import WarehouseResource

from . import bookkeeping as bk
from .config import SyncConfig, effective_mode
from .entities import RefData
from .execution import GROUP, POOL, api_failure, publish_if_changed
from .metadata import build_metadata, log_run
from .sql import Counts, upsert
from .tables import STOCK_LEVELS
from .transforms import RecordError, availability_rows

RESOURCE = "stock_levels"
PATH = "warehouse-service/product-availability"

_CHANGED = """
    SELECT product_id FROM brightpearl.products WHERE _synced_at >= ?
    UNION SELECT product_id FROM brightpearl.order_rows WHERE _synced_at >= ? AND product_id IS NOT NULL
    UNION SELECT product_id FROM brightpearl.goods_out_note_rows WHERE _synced_at >= ?
"""


class StockSync:
    def __init__(self, bp: BrightpearlClient, wh: WarehouseResource, log: Any) -> None:
        self.bp, self.wh, self.log = bp, wh, log
        self.as_of = datetime.now(UTC)
        self.counts, self.quarantined, self.resolved = Counts(), 0, 0
        with wh.connect() as conn:
            self.refs = RefData.load(conn)
            self.since = bk.get_watermark(conn, RESOURCE).watermark
            self.retry_ids = [int(r) for r, _ in bk.open_quarantine(conn, RESOURCE) if r.isdigit()]

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
            with self.wh.connect() as conn:
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
            response = self.bp.get(f"{PATH}/{to_id_set(ids)}")
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
                    if self.refs.warehouses and row["warehouse_id"] not in self.refs.warehouses:
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
        with self.wh.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            self.counts.add(upsert(conn, STOCK_LEVELS, rows, self.as_of, parent_ids=replaced))
            self.resolved += bk.resolve(conn, RESOURCE, [str(i) for i in replaced], self.as_of)
            conn.execute("COMMIT")

    def _quarantine(self, record_id: str, reason: str, payload: Any) -> None:
        self.quarantined += 1
        self.log.warning(f"stock_levels product {record_id} quarantined: {reason}. Retried on the next run.")
        with self.wh.connect() as conn:
            bk.quarantine(conn, RESOURCE, record_id, reason, payload, self.as_of)


@dg.asset(
    name="stock_levels",
    group_name=GROUP,
    deps=["products", "order_rows", "goods_out_note_rows", "warehouses"],
    pool=POOL,
    kinds={"duckdb", "brightpearl"},
    tags={"table": "brightpearl.stock_levels"},
)
def stock_levels(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    brightpearl: BrightpearlResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Stock on hand per product and warehouse (in stock, on hand = in stock - allocated, allocated, in transit)
    as of the fetch time. Refreshed for products touched by changed products, orders or shipments; every product
    in reconciliation runs."""
    mode = effective_mode(context, config)
    with warehouse.session():
        try:
            with brightpearl.get_client() as bp:
                sync = StockSync(bp, warehouse, context.log)
                full = mode == "reconciliation" or sync.since is None
                for chunk in sync.product_chunks(full):
                    sync.refresh(chunk)
                client_stats = bp.stats
        except BrightpearlError as exc:
            raise api_failure(RESOURCE, exc) from exc
        with warehouse.connect() as conn:
            bk.set_watermark(
                conn,
                RESOURCE,
                sync.as_of,
                sync.as_of,
                mode=mode,
                window=(sync.since, sync.as_of),
                run_id=context.run_id,
                reconciled=full,
            )
        meta = build_metadata(
            counts=sync.counts,
            quarantined=sync.quarantined,
            client=client_stats,
            mode=mode,
            window_from=sync.since,
            window_to=sync.as_of,
            watermark=sync.as_of,
            extra={
                "refresh": "all products" if full else "changed since last stock sync",
                "quarantine_resolved": sync.resolved,
            },
        )
        log_run(
            warehouse,
            run_id=context.run_id,
            asset=RESOURCE,
            partition_range=None,
            started=sync.as_of,
            meta=meta,
            window_from=sync.since,
            window_to=sync.as_of,
            watermark=sync.as_of,
        )
        c = sync.counts
        published = publish_if_changed(
            warehouse, bool(c.inserted or c.updated or c.deleted or sync.quarantined or sync.resolved)
        )
    return dg.MaterializeResult(metadata={**meta, "published": published})
