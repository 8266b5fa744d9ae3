"""The push ledger (`push.ledger`) and dead letters (`push.dead_letters`): every transition its own short
transaction, committed before the next storefront call, so a crash leaves a state the next run can reconcile."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import orjson

from .plan import PlannedPush, dumps

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

# States a run picks up: never sent, or possibly sent (must be reconciled against the storefront first).
OPEN_STATES = ("planned", "sending")


@dataclass
class LedgerRow:
    push_id: str
    kind: str
    bp_order_id: int | None
    storefront_order_id: int | None
    state: str
    attempts: int
    desired: dict[str, Any]


def now() -> datetime:
    return datetime.now(UTC)


# Details stated again after other details of the same contact were applied (X, then Y, then X again) are the
# shopper's latest again: a settled row of them goes back to 'planned', to be compared with Brightpearl (which
# writes only what differs). A confirmed row is reopened when another update was applied after it from details
# stated earlier than its own (now bumped) time; a superseded (skipped) one when nothing applied is stated later.
# The addresses its earlier send created are forgotten (another update may have corrected them in place since); the
# company it created is kept and reused (companies are only ever created, never renamed).
_REOPEN_RESTATED = """
UPDATE push.ledger o
SET state = 'planned', response = CASE WHEN response IS NOT NULL THEN json_merge_patch(response, '{"addresses": null}') END
WHERE o.push_id IN (SELECT unnest(?)) AND o.kind = 'contact_update' AND (
    (o.state = 'confirmed' AND EXISTS (
        SELECT 1 FROM push.ledger n
        WHERE n.kind = o.kind AND n.source_id = o.source_id AND n.push_id <> o.push_id AND n.state = 'confirmed'
          AND n.finished_at > o.finished_at
          AND coalesce(n.changed_at, n.planned_at) < coalesce(o.changed_at, o.planned_at)))
    OR (o.state = 'skipped' AND NOT EXISTS (
        SELECT 1 FROM push.ledger n
        WHERE n.kind = o.kind AND n.source_id = o.source_id AND n.push_id <> o.push_id AND n.state = 'confirmed'
          AND coalesce(n.changed_at, n.planned_at) > coalesce(o.changed_at, o.planned_at))))
"""


class Ledger:
    def __init__(self, connect: Connect, run_id: str | None = None) -> None:
        self._connect = connect
        self.run_id = run_id

    def push_from(self, configured: datetime | None, lookback: timedelta | None = None) -> datetime:
        """The configured `push_from`, else the moment the push first ran (recorded once, kept for good) minus
        the optional lookback."""
        if configured is not None:
            return configured
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO push.state VALUES ('push_from', ?, ?) ON CONFLICT DO NOTHING",
                [now().isoformat(), now()],
            )
            (value,) = conn.execute("SELECT value FROM push.state WHERE key = 'push_from'").fetchone()
        return datetime.fromisoformat(value) - (lookback or timedelta(0))

    def set_state(self, key: str, value: str) -> None:
        """A push-wide fact in `push.state` (e.g. a setting the reconciliation marts read)."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO push.state VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                [key, value, now()],
            )

    def record_plan(self, planned: list[PlannedPush]) -> int:
        """Write planned pushes (insert-if-absent: a change already in the ledger keeps its state; the exception is
        a contact update whose details are stated again after others were applied, see `_REOPEN_RESTATED`)."""
        if not planned:
            return 0
        at = now()
        rows = [
            (
                p.push_id,
                p.kind,
                p.target,
                p.bp_order_id,
                p.storefront_order_id,
                p.source_id,
                p.changed_at,
                dumps(p.desired),
            )
            for p in planned
        ]
        with self._connect() as conn:
            before = conn.execute("SELECT count(*) FROM push.ledger").fetchone()[0]
            # A contact update planned again by a later order (the same details stated again) takes that order's
            # time: its details are the shopper's latest again (`superseded_by`). Other kinds keep their row as is.
            conn.executemany(
                """INSERT INTO push.ledger (push_id, kind, target, bp_order_id, storefront_order_id, source_id,
                       changed_at, desired, state, attempts, planned_at, run_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'planned', 0, ?, ?)
                   ON CONFLICT (push_id) DO UPDATE SET changed_at = excluded.changed_at
                   WHERE push.ledger.kind = 'contact_update'
                     AND excluded.changed_at > coalesce(push.ledger.changed_at, push.ledger.planned_at)""",
                [(*r, at, self.run_id) for r in rows],
            )
            restated = [p.push_id for p in planned if p.kind == "contact_update"]
            if restated:
                conn.execute(_REOPEN_RESTATED, [restated])
            after = conn.execute("SELECT count(*) FROM push.ledger").fetchone()[0]
        return after - before

    def refresh_planned(self, planned: list[PlannedPush]) -> int:
        """A newer `desired` (and its `changed_at`) for rows still 'planned': nothing was sent for them yet."""
        if not planned:
            return 0
        with self._connect() as conn:
            conn.executemany(
                "UPDATE push.ledger SET desired = ?, changed_at = ? WHERE push_id = ? AND state = 'planned'",
                [(dumps(p.desired), p.changed_at, p.push_id) for p in planned],
            )
        return len(planned)

    def open_rows(self, kind: str, push_ids: list[str] | None = None) -> list[LedgerRow]:
        """Rows still to send or to reconcile, oldest change first (optionally only `push_ids`)."""
        sql = """SELECT push_id, kind, bp_order_id, storefront_order_id, state, attempts, desired FROM push.ledger
                 WHERE kind = ? AND state IN ('planned', 'sending')"""
        params: list[Any] = [kind]
        if push_ids is not None:
            sql += " AND push_id IN (SELECT unnest(?))"
            params.append(push_ids)
        sql += " ORDER BY changed_at NULLS FIRST, push_id"
        with self._connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [LedgerRow(r[0], r[1], r[2], r[3], r[4], r[5], orjson.loads(r[6])) for r in rows]

    def superseded_by(self, push_id: str) -> tuple[str, int | None] | None:
        """(push id, storefront order) of a confirmed row of the same kind and source (contact updates: the same
        contact) whose change was stated later than this row's, or None. Rows planned before `changed_at` was kept
        count from when they were planned."""
        with self._connect() as conn:
            found = conn.execute(
                """SELECT n.push_id, n.storefront_order_id FROM push.ledger o JOIN push.ledger n
                     ON n.kind = o.kind AND n.source_id = o.source_id AND n.push_id <> o.push_id
                   WHERE o.push_id = ? AND n.state = 'confirmed'
                     AND coalesce(n.changed_at, n.planned_at) > coalesce(o.changed_at, o.planned_at)
                   ORDER BY coalesce(n.changed_at, n.planned_at) DESC LIMIT 1""",
                [push_id],
            ).fetchone()
        return (str(found[0]), found[1]) if found else None

    def mark_sending(self, push_id: str, request: dict[str, Any]) -> None:
        """Committed BEFORE the request: after a crash this row is reconciled, never blindly re-sent."""
        with self._connect() as conn:
            conn.execute(
                """UPDATE push.ledger SET state = 'sending', request = ?, attempts = attempts + 1, sent_at = ?,
                       run_id = ? WHERE push_id = ?""",
                [dumps(request), now(), self.run_id, push_id],
            )

    def finish(
        self,
        push_id: str,
        state: str,
        *,
        response: Any = None,
        storefront_ref: str | None = None,
        note: str | None = None,
        bp_order_id: int | None = None,
    ) -> None:
        """`bp_order_id`: the Brightpearl order an import created (or found), kept with the row."""
        with self._connect() as conn:
            conn.execute(
                """UPDATE push.ledger SET state = ?, response = coalesce(?, response),
                       storefront_ref = coalesce(?, storefront_ref), note = ?, finished_at = ?, run_id = ?,
                       bp_order_id = coalesce(?, bp_order_id)
                   WHERE push_id = ?""",
                [
                    state,
                    None if response is None else dumps(response),
                    storefront_ref,
                    note,
                    now(),
                    self.run_id,
                    bp_order_id,
                    push_id,
                ],
            )
            if state in ("confirmed", "skipped"):
                conn.execute(
                    "UPDATE push.dead_letters SET resolved_at = ? WHERE push_id = ? AND resolved_at IS NULL",
                    [now(), push_id],
                )

    def mark_sending_many(self, push_ids: list[str], request: dict[str, Any]) -> None:
        """One batch request (e.g. a stock adjustment of up to 2000 SKUs): all its rows 'sending' in one commit."""
        with self._connect() as conn:
            conn.execute(
                """UPDATE push.ledger SET state = 'sending', request = ?, attempts = attempts + 1, sent_at = ?,
                       run_id = ? WHERE push_id IN (SELECT unnest(?))""",
                [dumps(request), now(), self.run_id, push_ids],
            )

    def finish_many(self, push_ids: list[str], state: str, *, response: Any = None, note: str | None = None) -> None:
        with self._connect() as conn:
            conn.execute(
                """UPDATE push.ledger SET state = ?, response = coalesce(?, response), note = ?, finished_at = ?,
                       run_id = ? WHERE push_id IN (SELECT unnest(?))""",
                [state, None if response is None else dumps(response), note, now(), self.run_id, push_ids],
            )
            if state in ("confirmed", "skipped"):
                conn.execute(
                    "UPDATE push.dead_letters SET resolved_at = ? WHERE push_id IN (SELECT unnest(?)) "
                    "AND resolved_at IS NULL",
                    [now(), push_ids],
                )

    def record_response(self, push_id: str, response: Any) -> None:
        """Progress of a multi-call send (e.g. the id of a record it created), committed before the next call."""
        with self._connect() as conn:
            conn.execute("UPDATE push.ledger SET response = ? WHERE push_id = ?", [dumps(response), push_id])

    def response_of(self, push_id: str) -> Any:
        with self._connect() as conn:
            found = conn.execute("SELECT response FROM push.ledger WHERE push_id = ?", [push_id]).fetchone()
        return orjson.loads(found[0]) if found and found[0] is not None else None

    def note(self, push_id: str, note: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE push.ledger SET note = ? WHERE push_id = ?", [note, push_id])

    def dead_letter(self, row: LedgerRow, reason: str, *, status: int | None = None, response: Any = None) -> None:
        at = now()
        body = None if response is None else dumps(response)
        with self._connect() as conn:
            conn.execute(
                """UPDATE push.ledger SET state = 'dead', note = ?, response = coalesce(?, response), finished_at = ?,
                       run_id = ? WHERE push_id = ?""",
                [reason, body, at, self.run_id, row.push_id],
            )
            conn.execute(
                """INSERT INTO push.dead_letters (push_id, kind, bp_order_id, storefront_order_id, reason,
                       storefront_status, storefront_response, first_seen, last_seen, attempts, resolved_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, NULL)
                   ON CONFLICT (push_id) DO UPDATE SET reason = excluded.reason,
                       storefront_status = excluded.storefront_status,
                       storefront_response = excluded.storefront_response, last_seen = excluded.last_seen,
                       attempts = push.dead_letters.attempts + 1, resolved_at = NULL""",
                [row.push_id, row.kind, row.bp_order_id, row.storefront_order_id, reason, status, body, at, at],
            )

    def reopen_dead_letters(self, kind: str | None = None, bp_order_id: int | None = None) -> list[str]:
        """Re-drive: dead ledger rows with an open dead letter go back to 'planned'. Returns their push ids."""
        sql = "SELECT push_id FROM push.dead_letters WHERE resolved_at IS NULL"
        params: list[Any] = []
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if bp_order_id is not None:
            sql += " AND bp_order_id = ?"
            params.append(bp_order_id)
        with self._connect() as conn:
            ids = [r[0] for r in conn.execute(sql, params).fetchall()]
            if ids:
                conn.execute(
                    "UPDATE push.ledger SET state = 'planned', note = 're-driven' "
                    "WHERE push_id IN (SELECT unnest(?)) AND state = 'dead'",
                    [ids],
                )
        return ids

    def counts(self) -> Iterator[tuple[str, str, int]]:
        with self._connect() as conn:
            yield from conn.execute(
                "SELECT kind, state, count(*) FROM push.ledger GROUP BY ALL ORDER BY ALL"
            ).fetchall()

    def open_dead_letters(self) -> int:
        with self._connect() as conn:
            return conn.execute("SELECT count(*) FROM push.dead_letters WHERE resolved_at IS NULL").fetchone()[0]
