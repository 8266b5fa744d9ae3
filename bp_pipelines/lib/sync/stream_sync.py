"""The sync of one stream: search -> changed ids -> ID-set GETs -> transform -> upsert, in one of three modes.

- incremental: from the stored watermark minus the overlap to now (open-ended);
- partition: exactly a window of days (backfills);
- reconciliation: an id sweep of the whole stream -> missing and stale records fetched, vanished ones marked
  `is_deleted` (after a confirming GET and behind a safety valve), recently touched ones re-read.

Memory is bounded by one search page plus one write batch (~2000 records); every write batch is committed in
its own transaction, on one connection the run holds (the GET bodies are staged on it, see sqlrows.py). Bad records, batches and search windows go to
`_sync.quarantine` and are retried first on the next run; a dead API (auth, persistent 5xx, throttling,
connection) raises and fails the run. The pure decisions (windows, change detection, watermark cap, the delete
safety valve) are module functions, unit-tested on their own.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal, Protocol

import duckdb
import orjson

from bp_pipelines import settings
from bp_pipelines.lib.brightpearl import (
    SEARCH_PAGE_SIZE_MAX,
    BrightpearlAuthError,
    BrightpearlClient,
    BrightpearlMalformedResponseError,
    BrightpearlRequestError,
    parse_bp_datetime,
    to_id_set,
)
from bp_pipelines.lib.warehouse import DuckDBWarehouse
from bp_pipelines.lib.warehouse import bookkeeping as bk
from bp_pipelines.lib.warehouse.upsert import Counts, create_stage, load_rows, local_state, mark_deleted, merge

from .config import Mode, SyncConfig
from .progress import StreamProgress
from .sqlrows import BATCH_BYTES, SPECS, SqlRows, Staged
from .streams import ChangeColumn, ColumnKind, KnownReferences, Stream
from .transforms import RecordError, records_of

# Records written per transaction: several ID-set GETs (200/500 records) are buffered, because the fixed cost
# of one write (~50-90 ms: running the SQL that builds the rows, staging, one join, ON CONFLICT) is paid per write.
# DuckDB parses every GET body of a batch at once when it builds the rows (memory it cannot spill), so a batch is
# also cut at sqlrows.BATCH_BYTES of JSON: orders (~3.7 KB each) stop there at about 2,200 records, goods-out notes
# and contacts (smaller) at 4000. 4000 instead of 2000 saved 1.6-3.3 job CPU-s at 100k orders (paired runs).
WRITE_BATCH = 4000
# A sweep that finds this few vanished records is trusted even when they are a large share of a tiny table.
SAFETY_VALVE_MIN_ROWS = 10


class SyncLog(Protocol):
    """What the sync needs of a logger (Dagster's context.log, logging.Logger, a test's list)."""

    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...


# ------------------------------------------------------------------ pure decisions
def search_time(value: datetime) -> str:
    """Search filter form: UTC with milliseconds, e.g. 2024-01-01T00:00:00.000Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def sync_start() -> datetime:
    """The first moment of synced history (BP_SYNC_START_DATE, UTC midnight)."""
    return datetime.combine(settings.sync_start_date(), time(0), tzinfo=UTC)


def window_searches(
    stream: Stream, window_from: datetime, window_to: datetime | None, extra_lookback: timedelta | None = None
) -> list[dict[str, str]]:
    """The searches covering a window. The first replication key selects records of the window; further keys
    and the extra searches (goods-out: shipped in the window, still unshipped) only need records whose first
    key lies BEFORE the window -- the others came with the first search -- which keeps their pages few.
    `extra_lookback` bounds the extra searches to records whose first key lies that far before the window (goods-out:
    unshipped notes created in the last `open_notes_days`), so their cost follows recent activity, not history."""
    period = f"{search_time(window_from)}/{search_time(window_to) if window_to else ''}"
    first, *others = stream.replication_keys
    before = {first: f"/{search_time(window_from)}"}
    recent = before
    if extra_lookback is not None:
        recent = {first: f"{search_time(window_from - extra_lookback)}/{search_time(window_from)}"}
    return (
        [{first: period}]
        + [{column: period, **before} for column in others]
        + [{**extra, **recent} for extra in stream.extra_searches]
    )


def search_value(value: Any, kind: ColumnKind) -> Any:
    """A search cell in the stored column's terms (raises TypeError/ValueError when it cannot be read)."""
    if kind == "ts":
        return parse_bp_datetime(value)
    if kind == "bool":
        return value if isinstance(value, bool) or value is None else str(value).lower() == "true"
    if kind == "str":
        return "" if value is None else str(value)
    return int(value) if value is not None else None


def column_differs(column: ChangeColumn, row: Mapping[str, Any], stored: Any, *, null_is_change: bool = True) -> bool:
    """Whether a search row shows a change against the stored value; True whenever it cannot tell -- except a
    null in a `null_means_unknown` column when `null_is_change` is False (then that column is not evidence)."""
    if column.search_column not in row:  # the search did not return the column: cannot tell, fetch
        return True
    try:
        value = search_value(row[column.search_column], column.kind)
    except (TypeError, ValueError):
        return True
    if value is None and column.null_means_unknown:
        return null_is_change
    if column.kind == "str":
        return value != ("" if stored is None else str(stored))
    return value != stored


def needs_fetch(
    stream: Stream,
    row: Mapping[str, Any],
    local: tuple[Any, ...] | None,
    *,
    force: bool = False,
    recent_cutoff: datetime | None = None,
    null_is_change: bool = True,
) -> bool:
    """`local` is (is_deleted, *stored change columns) or None when the record is not stored. `null_is_change`
    False: a null updatedOn in the search row is no reason to fetch (cheap per-run sweeps; the due
    reconciliation re-reads those records)."""
    if force or local is None or local[0]:  # new, forced, or marked deleted (reappeared -> undelete)
        return True
    columns = zip(stream.change_columns, local[1:], strict=True)
    if any(column_differs(c, row, stored, null_is_change=null_is_change) for c, stored in columns):
        return True
    if recent_cutoff is not None:  # reconciliation: updatedOn is unreliable, re-read recent records
        for column in stream.recent_columns:
            try:
                touched = parse_bp_datetime(row.get(column))
            except (TypeError, ValueError):
                return True
            if touched is not None and touched >= recent_cutoff:
                return True
    return False


def capped_watermark(max_seen: datetime | None, started: datetime, window_to: datetime | None) -> datetime | None:
    """Max time seen, never beyond the search start (a change made while we paged is re-read next run) nor
    beyond the window searched."""
    if max_seen is None:
        return None
    cap = min(started, window_to) if window_to else started
    return min(max_seen, cap)


def joins_history(mode: Mode, window_from: datetime | None, stored: datetime | None) -> bool:
    """A partition run only moves the watermark when its window joins the synced history (no gap behind it)."""
    if mode != "partition":
        return True
    return window_from is not None and window_from <= (stored if stored is not None else sync_start())


def deletions_blocked(candidates: int, live: int, max_fraction: float) -> bool:
    """The safety valve: a sweep missing too many live records (wrong account, partial answer) marks nothing."""
    return candidates > max(SAFETY_VALVE_MIN_ROWS, max_fraction * live)


@dataclass(frozen=True)
class SweepPlan:
    """Why an incremental run sweeps every id instead of searching its window, and what the sweep does."""

    reason: str
    reread_recent: bool  # re-read records touched in the last `reread_days` (updatedOn is unreliable)
    reconciled: bool  # counts as a reconciliation (moves `last_reconciled_at`, restarting `reconcile_every`)


def plan_sweep(
    *,
    watermark: datetime | None,
    last_reconciled_at: datetime | None,
    stored_rows: int,
    now: datetime,
    reconcile_every: timedelta,
    max_pages: int,
) -> SweepPlan | None:
    """When an incremental run sweeps: on the first run (a ranged updatedOn search never returns search rows
    whose updatedOn is null), whenever the sweep is cheap (<= max_pages search pages), and once
    `reconcile_every` has passed since the last reconciliation. None = search the window only."""
    if watermark is None:
        return SweepPlan("first run: every id (records with a null updatedOn included)", False, True)
    if last_reconciled_at is None or now - last_reconciled_at >= reconcile_every:
        return SweepPlan(f"reconciliation due (every {_hours(reconcile_every)})", True, True)
    pages = max(1, math.ceil(stored_rows / SEARCH_PAGE_SIZE_MAX))
    if pages <= max_pages:
        return SweepPlan(f"cheap: {pages} search page(s) <= {max_pages}", False, False)
    return None


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h"


def as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def records_id(raw: Any) -> Any:
    """The id of one record of a list response, as `records_of` reads it."""
    return raw.get("id", raw.get("contactId")) if isinstance(raw, Mapping) else None


def expand_id_set(id_set: str) -> list[int]:
    ids: list[int] = []
    for part in id_set.split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            ids.extend(range(int(low), int(high) + 1))
        elif part:
            ids.append(int(part))
    return ids


# ------------------------------------------------------------------ the sync
@dataclass
class WriteBuffer:
    """Records waiting for the next write: rows built in Python (bodies SQL could not read as a whole, records it
    flagged) and, in `SqlRows`, the GET bodies staged in DuckDB."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    child_rows: list[dict[str, Any]] = field(default_factory=list)
    bad: list[tuple[str, str, Any]] = field(default_factory=list)  # (record_id, reason, raw payload)
    resolved: list[str] = field(default_factory=list)  # dead letters of records that no longer exist
    id_sets: dict[int, str] = field(default_factory=dict)  # staged body -> the ID set of its GET
    search_rows: dict[int, Mapping[str, Any] | None] = field(default_factory=dict)  # for flagged records


@dataclass
class SyncStats:
    table: Counts = field(default_factory=Counts)
    child_table: Counts = field(default_factory=Counts)
    quarantined: int = 0
    resolved: int = 0
    fetched: int = 0
    search_complete: bool = True
    deletions_skipped: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the warehouse content changed (then the snapshot is published again)."""
        counts = (self.table, self.child_table)
        return self.quarantined + self.resolved > 0 or any(c.inserted or c.updated or c.deleted for c in counts)


@dataclass(frozen=True)
class StreamRun:
    """What one run of a stream did: the input of `materialize.finish`."""

    stats: SyncStats
    mode: Mode
    started: datetime
    window_from: datetime | None
    window_to: datetime | None
    watermark: datetime | None  # as stored after the run
    sweep: SweepPlan | None = None  # set when the run swept every id (reconciliation, first run, due or cheap)


class StreamSync:
    """One run of one stream against one client and one warehouse."""

    def __init__(
        self,
        stream: Stream,
        client: BrightpearlClient,
        warehouse: DuckDBWarehouse,
        log: SyncLog,
        *,
        force: bool = False,
    ) -> None:
        self.stream, self.client, self.warehouse, self.log, self.force = stream, client, warehouse, log, force
        self.started = datetime.now(UTC)  # the search start time: the watermark never passes it
        self.stats = SyncStats()
        self.max_seen: datetime | None = None
        self._max_text: str | None = None  # the text max_seen was parsed from (see _track_watermark)
        self.pending: dict[int, Mapping[str, Any] | None] = {}
        self.buffer = WriteBuffer()
        self.recent_cutoff: datetime | None = None  # reconciliation: re-read records touched after this
        self.sweeping = False
        self.sweep: SweepPlan | None = None
        # A sweep into an empty table (a first run): nothing stored can have changed or vanished, so pages are not
        # compared with stored rows and the swept ids are not recorded (at 20k orders ~0.3 of 7.3 job CPU-s).
        self.fresh = False
        self.progress = StreamProgress(stream.name, log)
        self.null_is_change = True
        self._warned_columns: set[str] = set()
        # One connection for the run (pages, staging, writes): opening one per page cost ~2 ms each. Rows are
        # built in SQL (sqlrows.py) from the GET bodies staged on it.
        self.spec = SPECS.get(stream.name)
        self._sql: SqlRows | None = None
        self._run_conn = contextlib.ExitStack()
        self._open_conn: duckdb.DuckDBPyConnection | None = None
        with warehouse.connect() as conn:
            self.known = KnownReferences.load(conn)
            self.stored = bk.get_watermark(conn, stream.name)
            self.open_quarantine = bk.open_quarantine(conn, stream.name)

    # ------------------------------------------------------------------ one run
    def run(self, mode: Mode, window: tuple[datetime, datetime] | None, config: SyncConfig, run_id: str) -> StreamRun:
        """Dead letters first, then the windows (or the sweep), then the watermark."""
        try:
            return self._run(mode, window, config, run_id)
        finally:
            self._close_staging()

    def _run(self, mode: Mode, window: tuple[datetime, datetime] | None, config: SyncConfig, run_id: str) -> StreamRun:
        self.retry_quarantine()
        window_from: datetime | None
        window_to: datetime | None = None
        stored_rows = self._stored_rows()
        self.sweep = self._plan(mode, config, stored_rows)
        if self.sweep is not None:
            self.fresh = stored_rows == 0
            window_from = None
            reread = config.reread_days if self.sweep.reread_recent else None
            # A cheap per-run sweep does not re-fetch records whose search rows keep saying updatedOn null.
            self.null_is_change = self.sweep.reread_recent
            self.reconcile(reread, config.max_delete_fraction)
        else:
            if mode == "partition" and window is not None:
                window_from, window_to = window
            else:
                # Open-ended upper bound: a clock difference between Brightpearl and us can never hide a change;
                # the watermark is still capped at our search start time.
                overlap = timedelta(minutes=config.overlap_minutes)
                window_from = self.stored.watermark - overlap if self.stored.watermark else sync_start()
            lookback = timedelta(days=config.open_notes_days) if config.open_notes_days else None
            for filters in window_searches(self.stream, window_from, window_to, lookback):
                self.search(filters)
        self.flush()
        self.write()
        self.progress.close()
        new_watermark = capped_watermark(self.max_seen, self.started, window_to)
        with self.warehouse.connect() as conn:
            bk.set_watermark(
                conn,
                self.stream.name,
                new_watermark if joins_history(mode, window_from, self.stored.watermark) else None,
                self.started,
                mode=mode,
                window=(window_from, window_to),
                run_id=run_id,
                reconciled=self.sweep is not None and self.sweep.reconciled,
            )
            watermark = bk.get_watermark(conn, self.stream.name).watermark
        return StreamRun(self.stats, mode, self.started, window_from, window_to, watermark, self.sweep)

    def _plan(self, mode: Mode, config: SyncConfig, stored_rows: int) -> SweepPlan | None:
        if mode == "reconciliation":
            return SweepPlan("reconciliation requested", True, True)
        if mode != "incremental":
            return None
        return plan_sweep(
            watermark=self.stored.watermark,
            last_reconciled_at=self.stored.last_reconciled_at,
            stored_rows=stored_rows,
            now=self.started,
            reconcile_every=timedelta(hours=config.reconcile_every_hours),
            max_pages=config.reconcile_max_pages,
        )

    def _stored_rows(self) -> int:
        with self.warehouse.connect() as conn:
            return conn.execute(f"SELECT count(*) FROM {self.stream.table.qualified}").fetchone()[0]  # type: ignore[index]

    def retry_quarantine(self) -> None:
        """Dead letters first: single records, GET batches ('ids:'), search windows ('window:')."""
        if self.open_quarantine:
            self.log.info(f"{self.stream.name}: retrying {len(self.open_quarantine)} quarantined entries first")
        singles: list[int] = []
        for record_id, _reason in self.open_quarantine:
            if record_id.startswith(bk.WINDOW_PREFIX):
                filters = dict(p.split("=", 1) for p in record_id[len(bk.WINDOW_PREFIX) :].split("&") if p)
                if self.search(filters):
                    self._resolve([record_id])
            elif record_id.startswith(bk.IDS_PREFIX):
                ids = expand_id_set(record_id[len(bk.IDS_PREFIX) :])
                if self.fetch_and_write(ids, {}, forget_missing=True) is not None:
                    self._resolve([record_id])
            elif record_id.isdigit():
                singles.append(int(record_id))
        size = self.stream.fetch_batch_size
        for start in range(0, len(singles), size):
            self.fetch_and_write(singles[start : start + size], {}, forget_missing=True)

    # ------------------------------------------------------------------ search
    def search(self, filters: Mapping[str, str]) -> bool:
        """Search one window and queue the records that changed; a page that stays malformed quarantines the window."""
        window = bk.WINDOW_PREFIX + "&".join(f"{k}={v}" for k, v in filters.items())
        clean = True
        try:
            for page in self.client.search(self.stream.search_path, filters, columns=self.stream.search_columns):
                self._check_columns(page.columns)
                clean = self._on_page(page.rows, window) and clean
                self.progress.update(
                    done=page.last_result,
                    total=page.results_available,
                    calls=self.client.stats.calls,
                    budget_left=self.client.budget(),
                )
        except BrightpearlMalformedResponseError as exc:
            self.stats.search_complete = False
            self._quarantine(window, f"search page malformed after retries: {exc}", {"filters": dict(filters)})
            return False
        if not clean:
            self.stats.search_complete = False
        return clean

    def _check_columns(self, columns: list[str]) -> None:
        """A column the search no longer returns is not fatal (records are then fetched to be sure), but costly."""
        missing = [c for c in self.stream.search_columns if c not in columns and c not in self._warned_columns]
        if missing:
            self._warned_columns.update(missing)
            self.log.warning(
                f"{self.stream.name}: {self.stream.search_path} did not return column(s) {', '.join(missing)}; "
                "records whose change cannot be judged without them are fetched. Check the Brightpearl search's "
                "columns."
            )

    def _on_page(self, rows: list[dict[str, Any]], window: str) -> bool:
        """Queue the changed records of one page; False when a row had no usable id (its window is quarantined)."""
        stream = self.stream
        ids = [as_id(r.get(stream.primary_key)) for r in rows]
        valid = [i for i in ids if i is not None]
        conn = self._conn()
        local = (
            {}
            if self.fresh
            else local_state(conn, stream.table, [c.table_column for c in stream.change_columns], valid)
        )
        if self.sweeping and valid and not self.fresh:
            conn.execute("INSERT INTO _sync.sweep_ids SELECT ?, unnest(?::BIGINT[])", [stream.name, valid])
        clean = True
        for record_id, row in zip(ids, rows, strict=True):
            if record_id is None:  # nothing to fetch it by: the window is retried until the row is usable
                clean = False
                self._quarantine(
                    window,
                    f"search row without a usable {stream.primary_key}: {row.get(stream.primary_key)!r:.40}",
                    row,
                )
                continue
            self._track_watermark(row)
            if needs_fetch(
                stream,
                row,
                local.get(record_id),
                force=self.force,
                recent_cutoff=self.recent_cutoff,
                null_is_change=self.null_is_change,
            ):
                self.enqueue(record_id, row)
        return clean

    def _track_watermark(self, row: Mapping[str, Any]) -> None:
        top = self._max_text
        for column in self.stream.replication_keys:
            text = row.get(column)
            # Same length and offset as the text of the max: the texts sort as the instants do, so a text not above
            # it cannot raise the max and needs no parse (one per search row was ~10% of a first sync's Python). At
            # worst (two layouts of one length) a later instant is skipped: the watermark is then lower, the safe side.
            same_shape = type(text) is str and top is not None and len(text) == len(top) and text[-6:] == top[-6:]
            if same_shape and text <= top:  # type: ignore[operator]
                continue
            try:
                seen = parse_bp_datetime(text)
            except (TypeError, ValueError):
                continue
            if seen is not None and (self.max_seen is None or seen > self.max_seen):
                self.max_seen = seen
                top = self._max_text = text if type(text) is str else None

    # ------------------------------------------------------------------ fetch and write
    def enqueue(self, record_id: int, row: Mapping[str, Any] | None) -> None:
        # No run-wide "seen" set (memory would grow with the table): the goods-out searches barely overlap, and a
        # record met twice is either still queued here or already stored unchanged (then skipped by the compare).
        if record_id in self.pending:
            return
        self.pending[record_id] = row
        if len(self.pending) >= self.stream.fetch_batch_size:
            self.flush()

    def flush(self) -> None:
        """GET the queued ids; the transformed rows are written once WRITE_BATCH records are buffered."""
        if self.pending:
            batch, self.pending = self.pending, {}
            self.fetch(list(batch), batch, read="unchecked")
            sql = self._sql
            if len(self.buffer.rows) + (sql.records if sql else 0) >= WRITE_BATCH or (sql and sql.bytes >= BATCH_BYTES):
                self.write()

    def fetch_and_write(
        self, ids: list[int], search_rows: Mapping[int, Mapping[str, Any] | None], *, forget_missing: bool = False
    ) -> set[int] | None:
        returned = self.fetch(ids, search_rows, forget_missing=forget_missing)
        self.write()
        return returned

    def fetch(
        self,
        ids: list[int],
        search_rows: Mapping[int, Mapping[str, Any] | None],
        *,
        forget_missing: bool = False,
        read: Literal["checked", "unchecked", "python"] = "checked",
    ) -> set[int] | None:
        """GET one ID-set batch and transform it into the write buffer. Returns the ids Brightpearl returned (None
        if the batch itself failed and was quarantined). `forget_missing`: resolve dead letters of ids that no
        longer exist. `read`: how the bodies reach the buffer -- staged in DuckDB and checked at once, staged
        unread (checked at write time: then the returned set leaves their ids out), or decoded in Python."""
        stream, id_set = self.stream, to_id_set(ids)
        sql = self._staging() if read != "python" else None
        mark = sql.bodies if sql else 0
        decode = {} if sql is None else {"decode": sql.stage if read == "unchecked" else sql.decode}
        try:
            responses = list(
                self.client.get_by_ids(
                    stream.fetch_path,
                    ids,
                    batch_size=stream.fetch_batch_size,
                    params=stream.fetch_params or None,
                    **decode,
                )
            )
            records = [
                item for response in responses if not isinstance(response, Staged) for item in records_of(response)
            ]
        except (BrightpearlMalformedResponseError, RecordError) as exc:
            self._unstage(sql, mark)
            self._quarantine(bk.IDS_PREFIX + id_set, f"GET batch unusable after retries: {exc}", {"ids": id_set})
            return None
        except BrightpearlRequestError as exc:
            self._unstage(sql, mark)
            if isinstance(exc, BrightpearlAuthError):
                raise
            self._quarantine(bk.IDS_PREFIX + id_set, f"GET batch refused: {exc}", {"ids": id_set})
            return None
        buffer, returned, unread = self.buffer, set(), False
        for response in responses:
            if isinstance(response, Staged):  # rows are built in SQL at write time
                buffer.id_sets[response.body_no] = id_set
                if response.ids is None:
                    unread = True
                else:
                    returned.update(i for i in map(as_id, response.ids) if i is not None)
        if sql is not None and unread:
            sql.expect(len(ids))
        if sql is not None and sql.spec.search_columns:
            rows = {i: search_rows.get(i) for i in ids}
            sql.add_search_rows(rows)
            buffer.search_rows.update(rows)
        for raw_id, raw in records:
            record_id = as_id(raw_id)
            if record_id is not None:
                returned.add(record_id)
            self._transform(buffer, raw_id, raw, search_rows.get(record_id) if record_id is not None else None, id_set)
        if forget_missing:
            buffer.resolved += [str(i) for i in ids if i not in returned]
        return returned

    def _transform(
        self, buffer: WriteBuffer, raw_id: Any, raw: Any, search_row: Mapping[str, Any] | None, id_set: str
    ) -> None:
        """The Python transform of one record: its rows, or its quarantine reason with the raw payload."""
        stream, record_id = self.stream, as_id(raw_id)
        try:
            row, child_rows = stream.transform(raw_id, raw, search_row)
            problem = stream.reference_problem(row, self.known) if stream.reference_problem else None
            if problem:
                raise RecordError(problem)
        except RecordError as exc:
            key = str(record_id) if record_id is not None else bk.IDS_PREFIX + id_set
            buffer.bad.append((key, str(exc), raw))
            return
        buffer.rows.append(row)
        buffer.child_rows.extend(child_rows)

    # ------------------------------------------------------------------ SQL staging
    def _conn(self) -> duckdb.DuckDBPyConnection:
        """The run's connection to the working file (opened on first use, closed when the run ends)."""
        if self._open_conn is None:
            self._open_conn = self._run_conn.enter_context(self.warehouse.connect())
        return self._open_conn

    def _staging(self) -> SqlRows | None:
        """The stream's SQL row builder (its temp tables live on the run's connection)."""
        if self.spec is None:
            return None
        if self._sql is None:
            self._sql = SqlRows(self.spec, self._conn())
        return self._sql

    def _unstage(self, sql: SqlRows | None, mark: int) -> None:
        """Forget bodies staged by a GET batch that was quarantined as a whole."""
        if sql is not None and sql.bodies > mark:
            sql.discard_after(mark)

    def _close_staging(self) -> None:
        self._sql = None
        self._open_conn = None
        self._run_conn.close()

    def write(self) -> None:
        """Upsert the buffered records (rows built in SQL and in Python, child rows, dead letters, resolutions) in
        one transaction."""
        sql = self._sql
        if sql is not None and sql.unchecked:
            self._read_staged(sql)
        buffer, self.buffer = self.buffer, WriteBuffer()
        if not (buffer.rows or buffer.bad or buffer.resolved or (sql is not None and sql.records)):
            return
        conn = self._conn()
        attempt = replace(  # the SQL attempt adds flagged records' rows; a retry through Python starts over
            buffer,
            rows=list(buffer.rows),
            child_rows=list(buffer.child_rows),
            bad=list(buffer.bad),
            resolved=list(buffer.resolved),
        )
        # Counters as they were: a batch rolled back and written again through Python must not count twice (the
        # memory can run out in the child upsert, after the parent's counts were added).
        before = copy.deepcopy(self.stats)
        try:
            self._write(conn, attempt, sql)
        except duckdb.OutOfMemoryException as exc:
            if sql is None:
                raise
            conn.execute("ROLLBACK")
            self.stats = before
            self._write_through_python(conn, buffer, sql, exc)
        if sql is not None:
            sql.clear()

    def _read_staged(self, sql: SqlRows) -> None:
        """Bodies staged unread are read now; one not usable as a whole (not JSON, an `errors` envelope, a
        `response` of another shape) is fetched again and read by the client, which retries it and, failing that,
        quarantines its batch -- as if it had been checked when it arrived."""
        bad = sql.check_staged()
        id_sets = dict.fromkeys(self.buffer.id_sets.pop(body_no, "") for body_no in bad)
        for id_set in filter(None, id_sets):
            self.log.warning(f"{self.stream.name}: the GET body of ids {id_set:.60} was not usable; fetching it again")
            ids = expand_id_set(id_set)
            self.fetch(ids, {i: self.buffer.search_rows.get(i) for i in ids}, read="python")

    def _write_through_python(
        self, conn: duckdb.DuckDBPyConnection, buffer: WriteBuffer, sql: SqlRows, exc: Exception
    ) -> None:
        """A batch SQL could not build within the writer's memory (records with very many rows): its bodies are
        decoded and transformed in Python (no memory limit there; slower, rare), then written."""
        self.log.warning(
            f"{self.stream.name}: a write batch of {sql.records} records ({sql.bytes / 2**20:.1f} MiB of JSON) did "
            f"not fit the warehouse's memory limit in SQL ({str(exc).splitlines()[0][:120]}); decoded in Python."
        )
        for body_no, text in sql.staged_bodies():
            for raw_id, raw in records_of(orjson.loads(text)["response"]):
                record_id = as_id(raw_id)
                search_row = buffer.search_rows.get(record_id) if record_id is not None else None
                self._transform(buffer, raw_id, raw, search_row, buffer.id_sets.get(body_no, ""))
        sql.clear()
        self._write(conn, buffer, None)

    def _write(self, conn: duckdb.DuckDBPyConnection, buffer: WriteBuffer, sql: SqlRows | None) -> None:
        stream = self.stream
        table, child = stream.table, stream.child_table
        key = table.key[0]
        conn.execute("BEGIN TRANSACTION")
        stg = create_stage(conn, table)
        child_stg = create_stage(conn, child) if child is not None else None
        if sql is not None and sql.records:
            python_ids = [row[key] for row in buffer.rows]
            # Only the records SQL could not vouch for are decoded here: their rows or their quarantine reason.
            flagged = sql.build(self.known, stg, child_stg, python_ids)
            for (body_no, k), raw in zip(flagged, sql.raw_records(flagged), strict=True):
                raw_id = k if sql.spec.keyed else records_id(raw)
                record_id = as_id(raw_id)
                search_row = buffer.search_rows.get(record_id) if record_id is not None else None
                self._transform(buffer, raw_id, raw, search_row, buffer.id_sets.get(body_no, ""))
        load_rows(conn, table, stg, buffer.rows)
        ok_ids = [r[0] for r in conn.execute(f"SELECT {key} FROM {stg}").fetchall()]
        self.stats.table.add(merge(conn, table, stg, self.started))
        if child is not None and child_stg is not None:
            load_rows(conn, child, child_stg, buffer.child_rows)
            self.stats.child_table.add(merge(conn, child, child_stg, self.started, parent_ids=ok_ids))
        for record_id, reason, raw in buffer.bad:
            self._quarantine(record_id, reason, raw, conn=conn)
        resolved = [str(i) for i in ok_ids] + buffer.resolved
        self.stats.resolved += bk.resolve(conn, stream.name, resolved, self.started)
        conn.execute("COMMIT")
        self.stats.fetched += len(ok_ids)

    # ------------------------------------------------------------------ reconciliation
    def reconcile(self, reread_days: int | None, max_delete_fraction: float) -> None:
        """Id sweep over the whole stream: fetch missing/stale (and, given `reread_days`, recently touched)
        records, then mark the vanished ones."""
        name = self.stream.name
        if reread_days is not None:
            # Anchor "recent" on our data when Brightpearl's clock lags ours (e.g. a sandbox with a fixed clock).
            anchor = min(self.started, self.stored.watermark or self.started)
            self.recent_cutoff = anchor - timedelta(days=reread_days)
        with self.warehouse.connect() as conn:
            conn.execute("DELETE FROM _sync.sweep_ids WHERE resource = ?", [name])
        self.sweeping = True
        complete = self.search({})
        self.sweeping = False
        self.flush()
        self.write()
        if not complete:
            self.stats.deletions_skipped = "the sweep was incomplete (a page was quarantined): nothing marked deleted"
            self.log.warning(f"{name}: {self.stats.deletions_skipped}")
        elif not self.fresh:  # a sweep into an empty table has nothing to mark
            self.mark_vanished(max_delete_fraction)
        with self.warehouse.connect() as conn:
            conn.execute("DELETE FROM _sync.sweep_ids WHERE resource = ?", [name])

    def mark_vanished(self, max_fraction: float) -> None:
        """Records stored here but absent from the sweep are confirmed by ID-set GET (offset paging can skip a row
        while data changes), then marked is_deleted with their child rows."""
        stream, table = self.stream, self.stream.table
        key = table.key[0]
        with self.warehouse.connect() as conn:
            live, candidates = bk.unswept(conn, table.qualified, key, stream.name)
        if not candidates:
            return
        if deletions_blocked(len(candidates), live, max_fraction):
            self.stats.deletions_skipped = (
                f"{len(candidates)} of {live} {stream.name} absent from the sweep (> {max_fraction:.0%}): nothing "
                "marked deleted. Check the account/credentials; raise max_delete_fraction to accept."
            )
            self.log.warning(f"{stream.name}: {self.stats.deletions_skipped}")
            return
        for start in range(0, len(candidates), stream.fetch_batch_size):
            chunk = candidates[start : start + stream.fetch_batch_size]
            returned = self.fetch_and_write(chunk, {})
            if returned is None:  # the confirming GET failed (quarantined): do not guess
                continue
            gone = [i for i in chunk if i not in returned]
            with self.warehouse.connect() as conn:
                conn.execute("BEGIN TRANSACTION")
                self.stats.table.deleted += mark_deleted(conn, table, key, gone, self.started)
                child = stream.child_table
                if child is not None and child.parent_key:
                    self.stats.child_table.deleted += mark_deleted(conn, child, child.parent_key, gone, self.started)
                conn.execute("COMMIT")
            if gone:
                self.log.info(f"{stream.name}: marked {len(gone)} records deleted (gone from Brightpearl)")

    # ------------------------------------------------------------------ dead letters
    def _quarantine(
        self, record_id: str, reason: str, payload: Any, conn: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        self.stats.quarantined += bk.records_in(record_id)  # records: a GET batch of 19 orders counts 19
        self.log.warning(
            f"{self.stream.name} {record_id} quarantined: {reason}. It is retried first on the next run; fix the "
            f"record in Brightpearl (or the reference data) if it keeps failing, see _sync.quarantine."
        )
        if conn is not None:
            bk.quarantine(conn, self.stream.name, record_id, reason, payload, self.started)
            return
        with self.warehouse.connect() as own:
            bk.quarantine(own, self.stream.name, record_id, reason, payload, self.started)

    def _resolve(self, record_ids: list[str]) -> None:
        with self.warehouse.connect() as conn:
            self.stats.resolved += bk.resolve(conn, self.stream.name, record_ids, self.started)
