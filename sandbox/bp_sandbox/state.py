"""Shared sandbox state: the SQLite world, the sandbox clock, injected faults and request counters.

Both emulators (Brightpearl, BigCommerce) receive one `Store`; nothing here is imported by the pipeline.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

FaultKind = Literal["status", "timeout", "malformed", "throttle", "shift_rows"]


@dataclass
class Fault:
    """One injected fault. `path` is a regex searched in the request path (after the API prefix)."""

    api: Literal["brightpearl", "bigcommerce"]
    kind: FaultKind
    path: str = ".*"
    method: str | None = None
    status: int = 500
    count: int = 1  # how many matching requests it hits; -1 = until cleared
    delay_s: float = 0.0  # for "timeout": how long the server stalls before answering
    id: int = 0
    hits: int = 0

    def matches(self, api: str, method: str, path: str) -> bool:
        if api != self.api or (self.method and self.method.upper() != method.upper()):
            return False
        return re.search(self.path, path) is not None


@dataclass
class FaultRegistry:
    faults: list[Fault] = field(default_factory=list)
    _next_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self.faults.append(fault)
            return fault

    def take(self, api: str, method: str, path: str) -> Fault | None:
        """Return (and consume one use of) the first fault matching this request."""
        with self._lock:
            for fault in self.faults:
                if fault.count != 0 and fault.matches(api, method, path):
                    fault.hits += 1
                    if fault.count > 0:
                        fault.count -= 1
                    return fault
            return None

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in asdict(f).items()} for f in self.faults]


@dataclass
class RequestCounter:
    """Per-endpoint request counts, e.g. {'brightpearl GET order-service/order-search': 3}."""

    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, api: str, method: str, endpoint: str) -> None:
        with self._lock:
            self.counts[f"{api} {method.upper()} {endpoint}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()


class Store:
    """The sandbox world: one SQLite file (schema.sql) plus in-memory control state.

    A single connection guarded by a re-entrant lock: the emulators run on one event loop, and the
    lock keeps the generator thread and control calls from interleaving half-applied changes.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-65536")  # 64 MB page cache, bounded
        self.lock = threading.RLock()
        self.conn.executescript(resources.files(__package__).joinpath("schema.sql").read_text())
        self.faults = FaultRegistry()
        self.requests = RequestCounter()
        self.rate_window_scale = 1.0  # 0.01 makes Brightpearl's 60 s window 0.6 s (and BC's 30 s 0.3 s)
        self.rate_limits_enabled = True
        # Share of records whose search rows carry `updatedOn: null` while their GET has the value (documented:
        # docs/reference/api-quirks.md); a ranged updatedOn filter never returns them. 0 = off.
        self.null_updated_on_share = 0.0
        # Live clock (the default of `python -m bp_sandbox`): sandbox time follows the machine's clock; an advance
        # moves it ahead, and it then stands still until the machine's clock catches up (never backwards).
        self.live_clock = False

    # -- meta / clock -------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: object) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, str(value)),
            )

    def now_ms(self) -> int:
        """Sandbox time: with a fixed clock frozen unless advanced through the control API (deterministic tests);
        with the live clock the machine's time (or the advanced time, whichever is later)."""
        stored = int(self.get_meta("clock_ms", "0") or 0)
        return max(stored, time.time_ns() // 1_000_000) if self.live_clock else stored

    def advance_clock(self, ms: int) -> int:
        with self.lock:
            now = self.now_ms() + int(ms)
            self.set_meta("clock_ms", now)
            return now

    # -- queries ------------------------------------------------------------------------------
    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        with self.lock:
            return self.conn.execute(sql, params).fetchone()

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing multi-statement write under the store lock (re-entrant: nested calls join)."""
        with self.lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
