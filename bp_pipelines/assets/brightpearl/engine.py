"""The streaming sync of one searchable resource: search -> changed ids -> ID-set GETs -> transform -> upsert.

Memory is bounded by one search page plus one write batch (~1000 records); every write batch is committed in
its own transaction on a short-lived connection. Bad records, batches and search windows go to
`_sync.quarantine` and are retried first on the next run; a dead API (auth, persistent 5xx, throttling,
connection) raises and fails the run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bp_pipelines.resources.brightpearl import (
    BrightpearlClient,
    BrightpearlMalformedResponseError,
    parse_bp_datetime,
)
from bp_pipelines.resources.warehouse import WarehouseResource

from . import bookkeeping as bk
from .batches import WRITE_BATCH, BatchWriter, SyncStats, WriteBuffer, as_id
from .entities import Compare, Entity, RefData
from .sql import local_state


def bp_time(value: datetime) -> str:
    """Search filter form: UTC with milliseconds, e.g. 2024-01-01T00:00:00.000Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _search_value(value: Any, kind: str) -> Any:
    if kind == "ts":
        return parse_bp_datetime(value)
    if kind == "bool":
        return value if isinstance(value, bool) or value is None else str(value).lower() == "true"
    if kind == "str":
        return "" if value is None else str(value)
    return int(value) if value is not None else None


class EntitySync(BatchWriter):
    """One run of one resource. `mode` is incremental, partition or reconciliation."""

    def __init__(
        self,
        entity: Entity,
        bp: BrightpearlClient,
        wh: WarehouseResource,
        log: logging.Logger | Any,
        *,
        mode: str,
        force: bool = False,
    ) -> None:
        self.e, self.bp, self.wh, self.log, self.mode, self.force = entity, bp, wh, log, mode, force
        self.started = datetime.now(UTC)  # the search start time: the watermark never passes it
        self.stats = SyncStats()
        self.max_seen: datetime | None = None
        self.pending: dict[int, Mapping[str, Any] | None] = {}
        self.buffer = WriteBuffer()
        self._warned_columns: set[str] = set()
        self.recent_cutoff: datetime | None = None  # reconciliation: re-read records touched after this
        self.sweeping = False
        with wh.connect() as conn:
            self.refs = RefData.load(conn)
            self.watermark = bk.get_watermark(conn, entity.resource)
            self.open_quarantine = bk.open_quarantine(conn, entity.resource)

    # ------------------------------------------------------------------ quarantine retries
    def retry_quarantine(self) -> None:
        """Dead letters first: single records, GET batches ('ids:'), search windows ('window:')."""
        if self.open_quarantine:
            self.log.info(f"{self.e.resource}: retrying {len(self.open_quarantine)} quarantined entries first")
        singles: list[int] = []
        for record_id, _reason in self.open_quarantine:
            if record_id.startswith(bk.WINDOW_PREFIX):
                filters = dict(p.split("=", 1) for p in record_id[len(bk.WINDOW_PREFIX) :].split("&") if p)
                if self.search(filters):
                    self._resolve([record_id])
            elif record_id.startswith(bk.IDS_PREFIX):
                ids = _expand_id_set(record_id[len(bk.IDS_PREFIX) :])
                if self.fetch_and_write(ids, {}, forget_missing=True) is not None:
                    self._resolve([record_id])
            elif record_id.isdigit():
                singles.append(int(record_id))
        for start in range(0, len(singles), self.e.batch_size):
            self.fetch_and_write(singles[start : start + self.e.batch_size], {}, forget_missing=True)

    # ------------------------------------------------------------------ search
    def search(self, filters: Mapping[str, str]) -> bool:
        """Search one window and queue the records that changed; a page that stays malformed quarantines the window."""
        window = bk.WINDOW_PREFIX + "&".join(f"{k}={v}" for k, v in filters.items())
        clean = True
        try:
            for page in self.bp.search(self.e.search_path, filters, columns=self.e.search_columns):
                self._check_columns(page.columns)
                clean = self._on_page(page.rows, window) and clean
        except BrightpearlMalformedResponseError as exc:
            self.stats.search_complete = False
            self._quarantine(window, f"search page malformed after retries: {exc}", {"filters": dict(filters)})
            return False
        if not clean:
            self.stats.search_complete = False
        return clean

    def _check_columns(self, columns: list[str]) -> None:
        """A column the search no longer returns is not fatal (records are then fetched to be sure), but costly."""
        missing = [c for c in self.e.search_columns if c not in columns and c not in self._warned_columns]
        if missing:
            self._warned_columns.update(missing)
            self.log.warning(
                f"{self.e.resource}: {self.e.search_path} did not return column(s) {', '.join(missing)}; records "
                "whose change cannot be judged without them are fetched. Check the Brightpearl search's columns."
            )

    def _on_page(self, rows: list[dict[str, Any]], window: str) -> bool:
        """Queue the changed records of one page; False when a row had no usable id (its window is quarantined)."""
        ids = [as_id(r.get(self.e.id_column)) for r in rows]
        valid = [i for i in ids if i is not None]
        with self.wh.connect() as conn:
            local = local_state(conn, self.e.parent, [c.local for c in self.e.compare], valid)
            if self.sweeping and valid:
                conn.execute("INSERT INTO _sync.sweep_ids SELECT ?, unnest(?::BIGINT[])", [self.e.resource, valid])
        clean = True
        for rid, row in zip(ids, rows, strict=True):
            if rid is None:  # nothing to fetch it by: the window is retried until the row is usable
                clean = False
                self._quarantine(
                    window, f"search row without a usable {self.e.id_column}: {row.get(self.e.id_column)!r:.40}", row
                )
                continue
            self._track_watermark(row)
            if self._needs_fetch(row, local.get(rid)):
                self.enqueue(rid, row)
        return clean

    def _track_watermark(self, row: Mapping[str, Any]) -> None:
        for col in self.e.window_columns:
            try:
                seen = parse_bp_datetime(row.get(col))
            except (TypeError, ValueError):
                continue
            if seen is not None and (self.max_seen is None or seen > self.max_seen):
                self.max_seen = seen

    def _needs_fetch(self, row: Mapping[str, Any], local: tuple[Any, ...] | None) -> bool:
        if self.force or local is None or local[0]:  # new, forced, or marked deleted (reappeared -> undelete)
            return True
        for cmp, stored in zip(self.e.compare, local[1:], strict=True):
            if _differs(cmp, row, stored):
                return True
        if self.recent_cutoff is not None:  # reconciliation: updatedOn is unreliable, re-read recent records
            for col in self.e.recent_columns:
                try:
                    touched = parse_bp_datetime(row.get(col))
                except (TypeError, ValueError):
                    return True
                if touched is not None and touched >= self.recent_cutoff:
                    return True
        return False

    # ------------------------------------------------------------------ fetch and write
    def enqueue(self, rid: int, row: Mapping[str, Any] | None) -> None:
        # No run-wide "seen" set (memory would grow with the table): the goods-out searches barely overlap, and a
        # record met twice is either still queued here or already stored unchanged (then skipped by the compare).
        if rid in self.pending:
            return
        self.pending[rid] = row
        if len(self.pending) >= self.e.batch_size:
            self.flush()

    def flush(self) -> None:
        """GET the queued ids; the transformed rows are written once WRITE_BATCH records are buffered."""
        if self.pending:
            batch, self.pending = self.pending, {}
            self.fetch(list(batch), batch)
            if len(self.buffer.parents) >= WRITE_BATCH:
                self.write()

    def finish(self) -> None:
        self.flush()
        self.write()

    def new_watermark(self, window_to: datetime | None = None) -> datetime | None:
        """Max time seen, never beyond the search start (a change made while we paged is re-read next run)."""
        if self.max_seen is None:
            return None
        cap = min(self.started, window_to) if window_to else self.started
        return min(self.max_seen, cap)

    def overlap_start(self, overlap: timedelta, default: datetime) -> datetime:
        return (self.watermark.watermark - overlap) if self.watermark.watermark else default


def _differs(cmp: Compare, row: Mapping[str, Any], stored: Any) -> bool:
    if cmp.search not in row:  # the search did not return the column: cannot tell, fetch
        return True
    try:
        value = _search_value(row[cmp.search], cmp.kind)
    except (TypeError, ValueError):
        return True
    if value is None and cmp.null_means_unknown:
        return True
    if cmp.kind == "str":
        return value != ("" if stored is None else str(stored))
    return value != stored


def _expand_id_set(id_set: str) -> list[int]:
    ids: list[int] = []
    for part in id_set.split(","):
        if "-" in part:
            lo, hi = part.split("-", 1)
            ids.extend(range(int(lo), int(hi) + 1))
        elif part:
            ids.append(int(part))
    return ids
