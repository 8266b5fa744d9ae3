"""The DuckDB warehouse file: written privately, published as a snapshot for analysts.

DuckDB allows one writer process per file, and even a read-only reader in another process blocks that
writer. So the pipeline never writes the file analysts open: it writes `<stem>.writer.duckdb` next to it,
holds connections only for one batch, and after each successful asset write publishes a copy:
CHECKPOINT -> copy to a temp file in the same directory -> `os.replace` onto the published path. The rename
swaps the directory entry atomically: a session already open keeps reading the old inode (consistent old
data, no lock on the writer), a new session opens the new snapshot. See docs/warehouse.md.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

# The writer may briefly meet another process holding the working file (two runs racing past the pool).
_LOCK_RETRIES = 20
_LOCK_BACKOFF_S = 0.25
# One process-wide lock per file: this process attaches a file once for all its threads (counting its users), and
# publishing must not copy the file while another thread of this process is writing it.
_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


# One in-memory DuckDB instance per process hosts every warehouse file it opens: a file is ATTACHed while a
# connection or session uses it and DETACHed (closed, its lock released for other processes) after. Starting a
# DuckDB instance costs ~30 ms of CPU whatever the file (its functions and built-in extensions register); attaching
# a file to a running one costs ~5 ms, and a run opens the warehouse hundreds of times.
_HOST_LOCK = threading.Lock()
_HOST: list[duckdb.DuckDBPyConnection] = []  # the host's root connection, once made; used for ATTACH/DETACH only


@dataclass
class _Attachment:
    alias: str
    users: int = 0  # open connections and sessions of this process


_ATTACHED: dict[str, _Attachment] = {}  # file path -> its attachment


def _alias(path: Path, prefix: str) -> str:
    return f"{prefix}_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"


def _sql_text(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _host(temp_directory: Path) -> duckdb.DuckDBPyConnection:
    """The process's host instance (made on first use). Spills go beside the first warehouse it opens, where DuckDB
    puts them for a file it opens directly (`<file>.tmp`)."""
    with _HOST_LOCK:
        if not _HOST:
            _HOST.append(duckdb.connect(":memory:", config={"temp_directory": str(temp_directory)}))
        return _HOST[0]


def _detach(alias: str) -> None:
    """Detach `alias` from the host: DuckDB checkpoints and closes the file, releasing its lock."""
    with _HOST_LOCK:
        _HOST[0].execute(f'DETACH "{alias}"')


def _same_size(shown: str, wanted: str) -> bool:
    # DuckDB shows a limit rounded to one decimal of its unit ('96MB' -> '91.5 MiB'); real changes (the marts' retry
    # doubles it) are far larger than that rounding.
    a, b = size_bytes(shown), size_bytes(wanted)
    return a is not None and b is not None and abs(a - b) <= 0.05 * max(a, b)


def _apply_settings(host: duckdb.DuckDBPyConnection, config: dict[str, str | int]) -> None:
    """SET what differs (the marts step raises memory_limit on its connection; a SET of an unchanged memory_limit
    still costs milliseconds once the buffer pool holds data)."""
    names = list(config)
    current = host.execute(f"SELECT {', '.join(f'current_setting({_sql_text(n)})' for n in names)}").fetchone() or ()
    for name, now in zip(names, current, strict=True):
        wanted = config[name]
        same = _same_size(str(now), str(wanted)) if name == "memory_limit" else str(now) == str(wanted)
        if not same:
            host.execute(f"SET {name} = {_sql_text(wanted)}")


@contextlib.contextmanager
def _cursor(alias: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection of the host whose default database is the attached `alias`, in UTC; closed after the block."""
    with _HOST_LOCK:
        conn = _HOST[0].cursor()
    try:
        conn.execute(f'USE "{alias}"')
        conn.execute("SET TimeZone = 'UTC'")
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to `path` attached read-only to the host for the block (the host exists: a writer made it)."""
    alias = _alias(path, "read_only")
    with _file_lock(path):
        with _HOST_LOCK:
            _HOST[0].execute(f'ATTACH {_sql_text(path)} AS "{alias}" (READ_ONLY)')
        try:
            with _cursor(alias) as conn:
                yield conn
        finally:
            _detach(alias)


# Watermarks a reader of the snapshot acts on: the storefront sensor asks Brightpearl what changed after them.
SNAPSHOT_WATERMARKS = ("orders", "goods_out_notes")
_WATERMARKS_SQL = "SELECT resource, watermark FROM _sync.watermarks WHERE list_contains(?, resource) ORDER BY 1"


def _file_lock(path: Path) -> threading.RLock:
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(str(path), threading.RLock())


@functools.cache
def schema_sql() -> str:
    """DDL of the brightpearl, _sync, push and storefront schemas (idempotent): the .sql files beside this module."""
    here = resources.files(__package__)
    return "\n".join(here.joinpath(name).read_text() for name in ("schema.sql", "push.sql", "storefront.sql"))


@functools.cache
def _schema_hash() -> str:
    return hashlib.sha256(schema_sql().encode()).hexdigest()[:16]


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Run the DDL unless this file already has this version of it (`_sync.schema_version`): the DDL costs ~20 ms
    a time, and a run opens the warehouse a hundred times."""
    try:  # fetchall: a result left unread keeps its transaction open (and CHECKPOINT then refuses)
        rows = conn.execute("SELECT ddl_hash FROM _sync.schema_version").fetchall()
    except duckdb.CatalogException:  # a new file, or one older than the marker
        rows = []
    if rows == [(_schema_hash(),)]:
        return
    conn.execute(schema_sql())
    conn.execute("CREATE TABLE IF NOT EXISTS _sync.schema_version (ddl_hash VARCHAR NOT NULL)")
    conn.execute("DELETE FROM _sync.schema_version")
    conn.execute("INSERT INTO _sync.schema_version VALUES (?)", [_schema_hash()])


_SIZE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]?i?B)\s*$", re.IGNORECASE)
_UNIT = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def size_bytes(text: str) -> int | None:
    """`"128MB"`, `"122.0 MiB"` -> bytes, as DuckDB reads a memory size (None for anything else)."""
    match = _SIZE.match(text)
    return int(float(match[1]) * _UNIT[match[2].upper()]) if match else None


@dataclass(frozen=True)
class DuckDBWarehouse:
    """The warehouse at `path` (the published file analysts open); the writer works on `<stem>.writer.duckdb`."""

    path: Path
    # Batches are small; a modest buffer pool keeps the writer's RSS flat at any table size (DuckDB spills).
    memory_limit: str = "96MB"
    # The writer runs many small statements (one batch of ~2000 records each): a second worker thread only adds
    # scheduling overhead there (~10% more CPU per extraction), so the writer's database runs single-threaded.
    threads: int = 1

    @property
    def published_path(self) -> Path:
        return self.path

    @property
    def working_path(self) -> Path:
        published = self.published_path
        return published.with_name(f"{published.stem}.writer.duckdb")

    def _seed_working_file(self) -> None:
        """Start the working file from the published snapshot when only that exists (e.g. a copied warehouse)."""
        working, published = self.working_path, self.published_path
        if not working.exists() and published.exists():
            shutil.copyfile(published, working)

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Keep the working file attached across the many short `connect()` calls of one asset run.

        Each batch still gets its own connection and transaction; they share the attached file instead of
        attaching (and checkpointing on detach) per batch. Only this process holds the working file in the
        meantime, which no reader ever opens (they use the snapshot)."""
        self._attach()
        try:
            yield
        finally:
            self._release()

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-write connection to the working file, schema ensured, session in UTC."""
        working = self.working_path
        with _file_lock(working):
            alias = self._attach()
            try:
                with _cursor(alias) as conn:
                    yield conn
            finally:
                self._release()

    def _config(self) -> dict[str, str | int]:
        return {"memory_limit": self.memory_limit, "threads": self.threads}

    def _attach(self) -> str:
        """Attach the working file unless this process already has it (then count one more user); its alias."""
        working = self.working_path
        key = str(working)
        with _file_lock(working):
            attachment = _ATTACHED.get(key)
            if attachment is None:
                working.parent.mkdir(parents=True, exist_ok=True)
                self._seed_working_file()
                host = _host(working.with_name(f"{working.name}.tmp"))
                alias = _alias(working, "warehouse")
                with _HOST_LOCK:  # settings of the whole host: this warehouse's, while it is the one in use
                    _apply_settings(host, self._config())
                self._attach_file(host, working, alias)
                attachment = _ATTACHED[key] = _Attachment(alias)
                try:
                    with _cursor(alias) as conn:
                        ensure_schema(conn)
                except BaseException:
                    del _ATTACHED[key]
                    _detach(alias)
                    raise
            attachment.users += 1
            return attachment.alias

    def _release(self) -> None:
        working = self.working_path
        key = str(working)
        with _file_lock(working):
            attachment = _ATTACHED[key]
            attachment.users -= 1
            if attachment.users == 0:
                del _ATTACHED[key]
                _detach(attachment.alias)

    @staticmethod
    def _attach_file(host: duckdb.DuckDBPyConnection, working: Path, alias: str) -> None:
        for attempt in range(_LOCK_RETRIES):
            try:
                with _HOST_LOCK:
                    host.execute(f'ATTACH {_sql_text(working)} AS "{alias}"')
                return
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or attempt == _LOCK_RETRIES - 1:
                    raise RuntimeError(
                        f"cannot open the warehouse working file {working}: {exc}. Another process holds it; only "
                        "the pipeline should open *.writer.duckdb (analysts open the published file)."
                    ) from exc
                time.sleep(_LOCK_BACKOFF_S * (attempt + 1))

    def publish_if_changed(self, changed: bool) -> bool:
        """Publish after a step that changed what readers see; return whether it did.

        A quiet step (it moved only bookkeeping: run times, `push.state`) leaves the snapshot as it is, saving a
        copy of the whole file (~0.5 CPU-s and 1.5 s per 540 MB). It still publishes when there is no snapshot
        yet, or when a watermark in `SNAPSHOT_WATERMARKS` moved: the storefront sensor reads them from the snapshot,
        so a lagging one would make it request the same push run again and again."""
        if changed or not self.published_path.exists() or self._watermarks_lag():
            self.publish()
            return True
        return False

    def _watermarks_lag(self) -> bool:
        with self.connect() as conn:
            working = conn.execute(_WATERMARKS_SQL, [list(SNAPSHOT_WATERMARKS)]).fetchall()
        try:
            with _read_only(self.published_path) as conn:
                published = conn.execute(_WATERMARKS_SQL, [list(SNAPSHOT_WATERMARKS)]).fetchall()
        except duckdb.Error:  # unreadable or older than the table: publish
            return True
        return working != published

    def publish(self) -> Path:
        """Checkpoint the working file and atomically replace the published snapshot with a copy of it."""
        working, published = self.working_path, self.published_path
        with _file_lock(working):
            with self.connect() as conn:
                conn.execute("CHECKPOINT")
            # After CHECKPOINT and close the working file is self-contained (no WAL), so a byte copy is a valid DB.
            tmp = published.with_name(f".{published.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
            try:
                shutil.copyfile(working, tmp)
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, published)
            finally:
                tmp.unlink(missing_ok=True)
        return published
