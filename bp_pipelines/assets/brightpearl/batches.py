"""Fetching ID-set batches into a write buffer and writing it: the half of a sync that talks GET and DuckDB."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bp_pipelines.resources.brightpearl import (
    BrightpearlAuthError,
    BrightpearlClient,
    BrightpearlMalformedResponseError,
    BrightpearlRequestError,
    to_id_set,
)
from bp_pipelines.resources.warehouse import WarehouseResource

from . import bookkeeping as bk
from .entities import Entity, RefData
from .sql import Counts, upsert
from .transforms import RecordError, records_of

# Records written per transaction: several ID-set GETs (200/500 records) are buffered, because the fixed cost
# of one upsert (staging, one join, ON CONFLICT) is paid per write; ~1000 records halves the CPU per record.
WRITE_BATCH = 1000


@dataclass
class WriteBuffer:
    parents: list[dict[str, Any]] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)
    ok_ids: list[int] = field(default_factory=list)
    bad: list[tuple[str, str, Any]] = field(default_factory=list)  # (record_id, reason, raw payload)
    resolved: list[str] = field(default_factory=list)  # dead letters of records that no longer exist


@dataclass
class SyncStats:
    parent: Counts = field(default_factory=Counts)
    child: Counts = field(default_factory=Counts)
    quarantined: int = 0
    resolved: int = 0
    fetched: int = 0
    search_complete: bool = True
    deletions_skipped: str | None = None


class BatchWriter:
    """Mixin of `EntitySync`: GET one ID set, transform into the buffer, write the buffer in one transaction."""

    e: Entity
    bp: BrightpearlClient
    wh: WarehouseResource
    log: Any
    refs: RefData
    buffer: WriteBuffer
    stats: SyncStats
    started: datetime

    def fetch_and_write(
        self, ids: list[int], search_rows: Mapping[int, Mapping[str, Any] | None], *, forget_missing: bool = False
    ) -> set[int] | None:
        returned = self.fetch(ids, search_rows, forget_missing=forget_missing)
        self.write()
        return returned

    def fetch(
        self, ids: list[int], search_rows: Mapping[int, Mapping[str, Any] | None], *, forget_missing: bool = False
    ) -> set[int] | None:
        """GET one ID-set batch and transform it into the write buffer. Returns the ids Brightpearl returned (None
        if the batch itself failed and was quarantined). `forget_missing`: resolve dead letters of ids that no
        longer exist."""
        id_set = to_id_set(ids)
        try:
            responses = list(
                self.bp.get_by_ids(self.e.get_path, ids, batch_size=self.e.batch_size, params=self.e.get_params or None)
            )
            records = [item for response in responses for item in records_of(response)]
        except (BrightpearlMalformedResponseError, RecordError) as exc:
            self._quarantine(bk.IDS_PREFIX + id_set, f"GET batch unusable after retries: {exc}", {"ids": id_set})
            return None
        except BrightpearlRequestError as exc:
            if isinstance(exc, BrightpearlAuthError):
                raise
            self._quarantine(bk.IDS_PREFIX + id_set, f"GET batch refused: {exc}", {"ids": id_set})
            return None
        buf, returned = self.buffer, set()
        for rid, raw in records:
            rid_int = as_id(rid)
            if rid_int is not None:
                returned.add(rid_int)
            try:
                parent, kids = self.e.transform(rid, raw, search_rows.get(rid_int) if rid_int is not None else None)
                problem = self.e.reference_problem(parent, self.refs) if self.e.reference_problem else None
                if problem:
                    raise RecordError(problem)
            except RecordError as exc:
                record_id = str(rid_int) if rid_int is not None else bk.IDS_PREFIX + id_set
                buf.bad.append((record_id, str(exc), raw))
                continue
            buf.parents.append(parent)
            buf.children.extend(kids)
            buf.ok_ids.append(parent[self.e.parent.key[0]])
        if forget_missing:
            buf.resolved += [str(i) for i in ids if i not in returned]
        return returned

    def write(self) -> None:
        """Upsert the buffered records (parents, children, dead letters, resolutions) in one transaction."""
        buf, self.buffer = self.buffer, WriteBuffer()
        if not (buf.parents or buf.bad or buf.resolved):
            return
        with self.wh.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            self.stats.parent.add(upsert(conn, self.e.parent, buf.parents, self.started))
            if self.e.child is not None:
                self.stats.child.add(upsert(conn, self.e.child, buf.children, self.started, parent_ids=buf.ok_ids))
            for record_id, reason, raw in buf.bad:
                self._quarantine(record_id, reason, raw, conn=conn)
            resolved = [str(i) for i in buf.ok_ids] + buf.resolved
            self.stats.resolved += bk.resolve(conn, self.e.resource, resolved, self.started)
            conn.execute("COMMIT")
        self.stats.fetched += len(buf.parents)

    # ------------------------------------------------------------------ bookkeeping

    def _quarantine(self, record_id: str, reason: str, payload: Any, conn: Any = None) -> None:
        self.stats.quarantined += 1
        self.log.warning(
            f"{self.e.resource} {record_id} quarantined: {reason}. It is retried first on the next run; fix the "
            f"record in Brightpearl (or the reference data) if it keeps failing, see _sync.quarantine."
        )
        if conn is not None:
            bk.quarantine(conn, self.e.resource, record_id, reason, payload, self.started)
            return
        with self.wh.connect() as own:
            bk.quarantine(own, self.e.resource, record_id, reason, payload, self.started)

    def _resolve(self, record_ids: list[str]) -> None:
        with self.wh.connect() as conn:
            self.stats.resolved += bk.resolve(conn, self.e.resource, record_ids, self.started)


def as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
