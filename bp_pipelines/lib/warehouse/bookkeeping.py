"""The `_sync` schema: watermarks, the quarantine (dead letters) and the per-asset run log."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

# Quarantine record ids that are not a single record: a GET batch and a search window.
IDS_PREFIX = "ids:"
WINDOW_PREFIX = "window:"
# Payloads larger than this are cut (a pathological page must not bloat the warehouse).
MAX_PAYLOAD_CHARS = 200_000


def id_set_ids(id_set: str) -> list[int]:
    """'1-3,7' -> [1, 2, 3, 7] (the id-set syntax of Brightpearl's GETs)."""
    ids: list[int] = []
    for part in filter(None, id_set.split(",")):
        low, _, high = part.partition("-")
        ids.extend(range(int(low), int(high or low) + 1))
    return ids


def records_in(record_id: str) -> int:
    """How many records a dead letter stands for: a GET batch ('ids:1-19') is 19 records, a single record or a
    search window 1 (a window's rows are unknown: the page that named them was unusable)."""
    if record_id.startswith(IDS_PREFIX):
        try:
            return max(1, len(id_set_ids(record_id[len(IDS_PREFIX) :])))
        except ValueError:
            return 1
    return 1


@dataclass(frozen=True)
class Watermark:
    watermark: datetime | None
    last_reconciled_at: datetime | None
    updated_at: datetime | None


def get_watermark(conn: duckdb.DuckDBPyConnection, resource: str) -> Watermark:
    row = conn.execute(
        "SELECT watermark, last_reconciled_at, updated_at FROM _sync.watermarks WHERE resource = ?", [resource]
    ).fetchone()
    return Watermark(*row) if row else Watermark(None, None, None)


def set_watermark(
    conn: duckdb.DuckDBPyConnection,
    resource: str,
    watermark: datetime | None,
    now: datetime,
    *,
    mode: str,
    window: tuple[datetime | None, datetime | None],
    run_id: str,
    reconciled: bool = False,
) -> None:
    """Store the watermark (never moved backwards) and what the last run covered."""
    conn.execute(
        """INSERT INTO _sync.watermarks AS w (resource, watermark, updated_at, last_mode, last_window_from,
               last_window_to, last_run_id, last_reconciled_at)
           VALUES (?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?,
                   CASE WHEN ? THEN ?::TIMESTAMPTZ END)
           ON CONFLICT (resource) DO UPDATE SET
               watermark = greatest(w.watermark, excluded.watermark),
               updated_at = excluded.updated_at, last_mode = excluded.last_mode,
               last_window_from = excluded.last_window_from, last_window_to = excluded.last_window_to,
               last_run_id = excluded.last_run_id,
               last_reconciled_at = coalesce(excluded.last_reconciled_at, w.last_reconciled_at)""",
        [resource, watermark, now, mode, window[0], window[1], run_id, reconciled, now],
    )


def _payload_json(payload: Any) -> str | None:
    if payload is None:
        return None
    text = json.dumps(payload, default=str, sort_keys=True)
    if len(text) > MAX_PAYLOAD_CHARS:
        text = json.dumps({"truncated": True, "prefix": text[:MAX_PAYLOAD_CHARS]})
    return text


def quarantine(
    conn: duckdb.DuckDBPyConnection, resource: str, record_id: str, reason: str, payload: Any, now: datetime
) -> None:
    """Add (or re-open, attempts + 1) a dead letter. The payload is what Brightpearl sent, never credentials."""
    conn.execute(
        """INSERT INTO _sync.quarantine AS q (resource, record_id, reason, payload, first_seen, last_seen, attempts,
               resolved_at)
           VALUES (?, ?, ?, ?::JSON, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, 1, NULL)
           ON CONFLICT (resource, record_id) DO UPDATE SET reason = excluded.reason, payload = excluded.payload,
               last_seen = excluded.last_seen, attempts = q.attempts + 1, resolved_at = NULL""",
        [resource, record_id, reason[:2000], _payload_json(payload), now, now],
    )


def open_quarantine(conn: duckdb.DuckDBPyConnection, resource: str) -> list[tuple[str, str]]:
    """Unresolved (record_id, reason) of a resource, oldest first."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT record_id, reason FROM _sync.quarantine WHERE resource = ? AND resolved_at IS NULL "
            "ORDER BY first_seen, record_id",
            [resource],
        ).fetchall()
    ]


def resolve(conn: duckdb.DuckDBPyConnection, resource: str, record_ids: Iterable[str], now: datetime) -> int:
    """Mark open dead letters resolved; returns how many records they stood for."""
    ids = sorted(set(record_ids))
    if not ids:
        return 0
    # Every write batch resolves all its ids; the quarantine is almost always empty, and binding ~1000 ids
    # costs more than asking first.
    if (
        conn.execute(
            "SELECT 1 FROM _sync.quarantine WHERE resource = ? AND resolved_at IS NULL LIMIT 1", [resource]
        ).fetchone()
        is None
    ):
        return 0
    resolved = conn.execute(
        "UPDATE _sync.quarantine SET resolved_at = ?::TIMESTAMPTZ WHERE resource = ? AND resolved_at IS NULL "
        "AND record_id IN (SELECT unnest(?::VARCHAR[])) RETURNING record_id",
        [now, resource, ids],
    ).fetchall()
    return sum(records_in(row[0]) for row in resolved)  # records, not entries: a batch of 19 resolves 19


def unswept(conn: duckdb.DuckDBPyConnection, table: str, key: str, resource: str) -> tuple[int, list[int]]:
    """(live rows of `table`, ascending `key`s of the live rows absent from `resource`'s sweep in
    `_sync.sweep_ids`): the deletion candidates a completed id sweep leaves."""
    live = conn.execute(f"SELECT count(*) FROM {table} WHERE NOT is_deleted").fetchone()[0]  # type: ignore[index]
    ids = conn.execute(
        f"SELECT t.{key} FROM {table} t WHERE NOT t.is_deleted AND NOT EXISTS "
        f"(SELECT 1 FROM _sync.sweep_ids s WHERE s.resource = ? AND s.id = t.{key}) ORDER BY 1",
        [resource],
    ).fetchall()
    return int(live), [r[0] for r in ids]


def open_records(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, str]]:
    """Unresolved dead letters as (resource, record_id, records it stands for, reason), for `make run`'s summary."""
    try:
        rows = conn.execute(
            "SELECT resource, record_id, reason FROM _sync.quarantine WHERE resolved_at IS NULL "
            "ORDER BY resource, first_seen, record_id"
        ).fetchall()
    except duckdb.CatalogException:
        return []
    return [(r[0], r[1], records_in(r[1]), r[2] or "") for r in rows]


def open_unknown_reference_count(conn: duckdb.DuckDBPyConnection) -> int:
    """Dead letters waiting for reference data (forces a reference refresh)."""
    return conn.execute(
        "SELECT count(*) FROM _sync.quarantine WHERE resolved_at IS NULL AND reason LIKE 'unknown %'"
    ).fetchone()[0]  # type: ignore[index]


def record_run(conn: duckdb.DuckDBPyConnection, values: Mapping[str, Any]) -> None:
    cols = list(values)
    conn.execute(
        f"INSERT OR REPLACE INTO _sync.runs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        [values[c] for c in cols],
    )
