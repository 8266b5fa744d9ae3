"""Customer payments: `accounting-service/customer-payment-search` -> `brightpearl.customer_payments`.

Unlike the other streams there is no GET by id: the search row is the whole record (columns as recorded in
`customer_payment/search/simple_search.yml`), so rows are typed and upserted straight from the pages: DuckDB
types them (`sqlrows.PAYMENT_COLUMNS`, the readers of the GET bodies) and only the rows it cannot vouch for go
through `customer_payment_row`, which gives their row or their quarantine reason.
`createdOn` (PERIOD, filterable and sortable) is the replication key: a payment is entered once and can be
deleted, and deletion is the only change the search can show -- so:

- incremental: `createdOn={watermark - overlap}/` (open upper bound, watermark capped at the search start);
- partition: `createdOn` within the partition window (UTC days of createdOn);
- sweep (first run, reconciliation, due or cheap like the other streams): every payment, then payments stored
  here but absent from the sweep are searched again by `paymentId` and marked `is_deleted` when still absent
  (behind the same safety valve). If Brightpearl ignored the `paymentId` filter (as it does on
  supplier-payment-search, unconfirmed here) the payment would be found and simply not marked: the safe side.

A row that cannot be read goes to `_sync.quarantine` under its paymentId (or the window, without a usable id);
open entries are retried first by searching their ids again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bp_pipelines.lib.brightpearl import BrightpearlClient, BrightpearlMalformedResponseError, to_id_set
from bp_pipelines.lib.warehouse import DuckDBWarehouse
from bp_pipelines.lib.warehouse import bookkeeping as bk
from bp_pipelines.lib.warehouse.tables import CUSTOMER_PAYMENTS
from bp_pipelines.lib.warehouse.upsert import Counts, create_stage, load_rows, mark_deleted, merge

from .coerce import RecordError, required, to_int, to_money, to_str, to_ts
from .config import Mode, SyncConfig
from .sqlrows import PAYMENT_COLUMNS, build_search_rows
from .stream_sync import (
    SweepPlan,
    SyncLog,
    as_id,
    capped_watermark,
    deletions_blocked,
    joins_history,
    plan_sweep,
    search_time,
)
from .transforms import Row

NAME = "customer_payments"
SEARCH_PATH = "accounting-service/customer-payment-search"
COLUMNS = (
    "paymentId",
    "transactionRef",
    "transactionCode",
    "paymentMethodCode",
    "paymentType",
    "orderId",
    "currencyId",
    "currencyCode",
    "amountAuthorized",
    "amountPaid",
    "expires",
    "paymentDate",
    "createdOn",
    "journalId",
)
WRITE_BATCH = 5000  # rows per upsert: each costs a fixed ~20 ms of SQL, rows are small
ID_FILTER_BATCH = 200  # ids per confirming `paymentId=` search (keeps the URL short)


def customer_payment_row(raw: Mapping[str, Any]) -> Row:
    """One customer-payment-search row (cells mapped by column name) -> a `customer_payments` row."""
    return {
        "payment_id": to_int(required(raw, "paymentId"), "paymentId"),
        "order_id": to_int(raw.get("orderId"), "orderId"),
        "payment_type": to_str(raw.get("paymentType"), "paymentType"),
        "payment_method_code": to_str(raw.get("paymentMethodCode"), "paymentMethodCode"),
        "currency_id": to_int(raw.get("currencyId"), "currencyId"),
        "currency_code": to_str(raw.get("currencyCode"), "currencyCode"),
        "amount_authorized": to_money(raw.get("amountAuthorized"), "amountAuthorized"),
        "amount_paid": to_money(raw.get("amountPaid"), "amountPaid"),
        "expires": to_ts(raw.get("expires"), "expires"),
        "payment_date": to_ts(raw.get("paymentDate"), "paymentDate"),
        "created_on": to_ts(raw.get("createdOn"), "createdOn"),
        "journal_id": to_int(raw.get("journalId"), "journalId"),
        "transaction_ref": to_str(raw.get("transactionRef"), "transactionRef"),
        "transaction_code": to_str(raw.get("transactionCode"), "transactionCode"),
    }


@dataclass
class PaymentRun:
    counts: Counts = field(default_factory=Counts)
    quarantined: int = 0
    resolved: int = 0
    fetched: int = 0
    search_complete: bool = True
    deletions_skipped: str | None = None
    sweep: SweepPlan | None = None
    window_from: datetime | None = None
    window_to: datetime | None = None
    watermark: datetime | None = None

    @property
    def changed(self) -> bool:
        c = self.counts
        return bool(c.inserted or c.updated or c.deleted or c.undeleted or self.quarantined or self.resolved)


class PaymentSync:
    """One run of the customer payments against one client and one warehouse."""

    def __init__(self, client: BrightpearlClient, warehouse: DuckDBWarehouse, log: SyncLog) -> None:
        self.client, self.warehouse, self.log = client, warehouse, log
        self.started = datetime.now(UTC)
        self.run_stats = PaymentRun()
        self.max_seen: datetime | None = None
        self.pages: list[list[Mapping[str, Any]]] = []  # search rows waiting for the next write, by page
        self.pending_rows = 0
        self.bad: list[tuple[str, str, Any]] = []
        # Ids the current search returned: for the confirming `paymentId=` searches (at most ID_FILTER_BATCH ids).
        # A sweep's ids go to `_sync.sweep_ids` in the warehouse instead, so memory stays flat in the table's size.
        self.seen: set[int] = set()
        self.sweeping = False
        with warehouse.connect() as conn:
            self.stored = bk.get_watermark(conn, NAME)
            self.open_quarantine = bk.open_quarantine(conn, NAME)
            self.stored_rows = conn.execute(f"SELECT count(*) FROM {CUSTOMER_PAYMENTS.qualified}").fetchone()[0]  # type: ignore[index]

    def run(self, mode: Mode, window: tuple[datetime, datetime] | None, config: SyncConfig, run_id: str) -> PaymentRun:
        out = self.run_stats
        self._retry_quarantine()
        if mode == "reconciliation":
            out.sweep = SweepPlan("reconciliation requested", True, True)
        elif mode == "incremental":
            out.sweep = plan_sweep(
                watermark=self.stored.watermark,
                last_reconciled_at=self.stored.last_reconciled_at,
                stored_rows=self.stored_rows,
                now=self.started,
                reconcile_every=timedelta(hours=config.reconcile_every_hours),
                max_pages=config.reconcile_max_pages,
            )
        if out.sweep is not None:
            with self.warehouse.connect() as conn:
                conn.execute("DELETE FROM _sync.sweep_ids WHERE resource = ?", [NAME])
            self.sweeping = True
            complete = self._search({})
            self._write()
            self.sweeping = False
            if complete:
                self._mark_vanished(config.max_delete_fraction)
            else:
                out.deletions_skipped = "the sweep was incomplete (a page was quarantined): nothing marked deleted"
        else:
            if mode == "partition" and window is not None:
                out.window_from, out.window_to = window
            else:
                overlap = timedelta(minutes=config.overlap_minutes)
                out.window_from = (self.stored.watermark or self.started) - overlap
            to = search_time(out.window_to) if out.window_to else ""
            self._search({"createdOn": f"{search_time(out.window_from)}/{to}"})
            self._write()
        joins = joins_history(mode, out.window_from, self.stored.watermark)
        with self.warehouse.connect() as conn:
            bk.set_watermark(
                conn,
                NAME,
                capped_watermark(self.max_seen, self.started, out.window_to) if joins else None,
                self.started,
                mode=mode,
                window=(out.window_from, out.window_to),
                run_id=run_id,
                reconciled=out.sweep is not None and out.sweep.reconciled,
            )
            out.watermark = bk.get_watermark(conn, NAME).watermark
        return out

    # ------------------------------------------------------------------ search and write
    def _search(self, filters: Mapping[str, str]) -> bool:
        """Read every page of one search into the write buffer; False when a page stayed malformed or a row had
        no usable paymentId (its window is then quarantined and retried)."""
        window = bk.WINDOW_PREFIX + "&".join(f"{k}={v}" for k, v in filters.items())
        clean = True
        try:
            for page in self.client.search(SEARCH_PATH, filters, columns=list(COLUMNS), sort="paymentId.ASC"):
                clean = self._on_page(page.rows, window) and clean
                if self.pending_rows >= WRITE_BATCH:
                    self._write()
        except BrightpearlMalformedResponseError as exc:
            self.bad.append((window, f"search page malformed after retries: {exc}", {"filters": dict(filters)}))
            clean = False
        if not clean:
            self.run_stats.search_complete = False
        return clean

    def _on_page(self, rows: list[dict[str, Any]], window: str) -> bool:
        """Queue a page's rows for the write; a row without a usable paymentId quarantines its window (False)."""
        clean, usable = True, rows
        ids = [as_id(raw.get("paymentId")) for raw in rows]
        if None in ids:
            usable = []
            for payment_id, raw in zip(ids, rows, strict=True):
                if payment_id is None:
                    clean = False
                    reason = f"search row without a usable paymentId: {raw.get('paymentId')!r:.40}"
                    self.bad.append((window, reason, raw))
                else:
                    usable.append(raw)
        self.seen.update(i for i in ids if i is not None)
        if usable:
            self.pages.append(usable)
            self.pending_rows += len(usable)
        return clean

    def _write(self, resolved: list[str] | None = None) -> None:
        pages, bad = self.pages, self.bad
        self.pages, self.bad, self.pending_rows = [], [], 0
        swept, self.seen = (sorted(self.seen), set()) if self.sweeping else ([], self.seen)
        if not (pages or bad or resolved or swept):
            return
        out = self.run_stats
        with self.warehouse.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            if swept:  # the sweep's ids live in the warehouse, not in memory
                conn.execute("INSERT INTO _sync.sweep_ids SELECT ?, unnest(?::BIGINT[])", [NAME, swept])
            stored: list[int] = []
            if pages:
                stored = self._upsert_pages(conn, pages, bad)
            for record_id, reason, raw in bad:
                self._quarantine(conn, record_id, reason, raw)
            out.resolved += bk.resolve(conn, NAME, [str(i) for i in stored] + (resolved or []), self.started)
            conn.execute("COMMIT")
        out.fetched += len(stored)

    def _upsert_pages(
        self, conn: Any, pages: list[list[Mapping[str, Any]]], bad: list[tuple[str, str, Any]]
    ) -> list[int]:
        """Rows typed in SQL (the pages go to DuckDB as JSON), the rest through `customer_payment_row` (its row, or
        its reason added to `bad`); returns the payment ids upserted."""
        table = CUSTOMER_PAYMENTS
        stg = create_stage(conn, table)
        python_rows: list[Row] = []
        texts = [orjson.dumps(rows) for rows in pages]
        for p, i in build_search_rows(conn, PAYMENT_COLUMNS, COLUMNS, texts, stg):
            raw = pages[p][i]
            try:
                python_rows.append(customer_payment_row(raw))
            except RecordError as exc:
                bad.append((str(as_id(raw.get("paymentId"))), str(exc), raw))
        if python_rows:  # a payment twice in the batch: the copy read in Python replaces the one typed in SQL
            ids = [row["payment_id"] for row in python_rows]
            conn.execute(f"DELETE FROM {stg} WHERE payment_id IN (SELECT unnest(?::BIGINT[]))", [ids])
            load_rows(conn, table, stg, python_rows)
        stored = [r[0] for r in conn.execute(f"SELECT payment_id FROM {stg}").fetchall()]
        latest = conn.execute(f"SELECT max(created_on) FROM {stg}").fetchone()[0]  # type: ignore[index]
        if latest is not None and (self.max_seen is None or latest > self.max_seen):
            self.max_seen = latest
        self.run_stats.counts.add(merge(conn, table, stg, self.started))
        return stored

    def _quarantine(self, conn: Any, record_id: str, reason: str, raw: Any) -> None:
        self.run_stats.quarantined += 1
        self.log.warning(
            f"{NAME} {record_id} quarantined: {reason}. It is retried first on the next run; fix the payment in "
            "Brightpearl if it keeps failing, see _sync.quarantine."
        )
        bk.quarantine(conn, NAME, record_id, reason, raw, self.started)

    def _search_ids(self, ids: list[int]) -> set[int] | None:
        """Which of `ids` the search still returns (None when a page stayed malformed)."""
        found: set[int] = set()
        for start in range(0, len(ids), ID_FILTER_BATCH):
            chunk = ids[start : start + ID_FILTER_BATCH]
            self.seen = set()
            if not self._search({"paymentId": to_id_set(chunk)}):
                return None
            found |= self.seen & set(chunk)
        return found

    # ------------------------------------------------------------------ dead letters and deletions
    def _retry_quarantine(self) -> None:
        """Open entries first: payments by id (searched again), windows by searching them again."""
        if not self.open_quarantine:
            return
        self.log.info(f"{NAME}: retrying {len(self.open_quarantine)} quarantined entries first")
        ids = [int(r) for r, _ in self.open_quarantine if r.isdigit()]
        for record_id, _ in self.open_quarantine:
            if record_id.startswith(bk.WINDOW_PREFIX):
                text = record_id[len(bk.WINDOW_PREFIX) :]
                filters = dict(p.split("=", 1) for p in text.split("&") if p)
                if self._search(filters):
                    self._write(resolved=[record_id])
        if ids:
            found = self._search_ids(sorted(ids))
            # a payment deleted meanwhile is resolved too (nothing left to load)
            self._write(resolved=[str(i) for i in ids if found is not None and i not in found])
        self.seen = set()

    def _mark_vanished(self, max_fraction: float) -> None:
        table = CUSTOMER_PAYMENTS
        with self.warehouse.connect() as conn:
            live, candidates = bk.unswept(conn, table.qualified, "payment_id", NAME)
            conn.execute("DELETE FROM _sync.sweep_ids WHERE resource = ?", [NAME])
        if not candidates:
            return
        out = self.run_stats
        if deletions_blocked(len(candidates), live, max_fraction):
            out.deletions_skipped = (
                f"{len(candidates)} of {live} {NAME} absent from the sweep (> {max_fraction:.0%}): nothing "
                "marked deleted. Check the account/credentials; raise max_delete_fraction to accept."
            )
            self.log.warning(f"{NAME}: {out.deletions_skipped}")
            return
        found = self._search_ids(candidates)
        self._write()
        if found is None:
            return
        gone = [i for i in candidates if i not in found]
        with self.warehouse.connect() as conn:
            out.counts.deleted += mark_deleted(conn, table, "payment_id", gone, self.started)
        if gone:
            self.log.info(f"{NAME}: marked {len(gone)} payments deleted (gone from Brightpearl)")
