"""Small helpers over `Store`: atomic multi-statement writes and the time written into records."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bp_sandbox.state import Store


@contextmanager
def transaction(store: Store) -> Iterator[None]:
    """Hold the store lock and wrap the writes in one SQLite transaction (all or nothing)."""
    with store.lock:
        if store.conn.in_transaction:  # a caller already opened one: join it
            yield
            return
        store.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            store.conn.execute("ROLLBACK")
            raise
        store.conn.execute("COMMIT")


def now_ms(store: Store) -> int:
    """The sandbox clock; wall time only when the clock was never set (clock_ms 0/absent)."""
    value = store.now_ms()
    return value if value > 0 else int(time.time() * 1000)


@dataclass
class Where:
    """An AND-ed list of SQL conditions with their parameters."""

    clauses: list[str] = field(default_factory=lambda: ["1"])
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *values: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(values)

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses)
