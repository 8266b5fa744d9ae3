"""Reference lists (order statuses, warehouses, channels, shipping methods, contact tags): small lists, full refresh.

Incremental runs skip a list refreshed within `reference_max_age_minutes` (so a quiet 15-minute tick costs only
the searches) unless a record waits in quarantine for an unknown reference id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bp_pipelines.lib.brightpearl import BrightpearlClient
from bp_pipelines.lib.warehouse import DuckDBWarehouse
from bp_pipelines.lib.warehouse import bookkeeping as bk
from bp_pipelines.lib.warehouse.upsert import Counts, mark_deleted, upsert

from .stream_sync import SyncLog
from .streams import ReferenceList
from .transforms import RecordError


@dataclass(frozen=True)
class ReferenceRun:
    counts: Counts
    quarantined: int
    outcome: str
    refreshed_at: datetime | None  # time of the last refresh (this one, or the fresh one skipped)


def refresh_reference_list(
    reference: ReferenceList,
    client: BrightpearlClient,
    warehouse: DuckDBWarehouse,
    log: SyncLog,
    *,
    skip_if_fresh: timedelta | None,
    run_id: str,
) -> ReferenceRun:
    """Refresh one list: upsert every entry, mark entries gone from the list, quarantine unusable ones."""
    name, table = reference.name, reference.table
    now = datetime.now(UTC)
    with warehouse.connect() as conn:
        state = bk.get_watermark(conn, name)
        waiting = bk.open_unknown_reference_count(conn)
    if skip_if_fresh is not None and state.updated_at and now - state.updated_at < skip_if_fresh and not waiting:
        age = int((now - state.updated_at).total_seconds())
        return ReferenceRun(Counts(), 0, f"skipped: refreshed {age} s ago", state.updated_at)
    response = client.get(reference.path)
    # Most lists are JSON lists; contact tags come as a map keyed by tag id.
    items = list(response.values()) if isinstance(response, Mapping) else response if isinstance(response, list) else []
    rows, bad = [], []
    for raw in items:
        try:
            rows.append(reference.transform(raw if isinstance(raw, Mapping) else {}))
        except RecordError as exc:
            bad.append((raw, str(exc)))
    key = table.key[0]
    with warehouse.connect() as conn:
        conn.execute("BEGIN TRANSACTION")
        counts = upsert(conn, table, rows, now)
        if rows:  # an empty or unusable list never wipes the table
            present = [r[key] for r in rows]
            gone = [
                r[0]
                for r in conn.execute(
                    f"SELECT {key} FROM {table.qualified} WHERE NOT is_deleted AND {key} NOT IN "
                    "(SELECT unnest(?::BIGINT[]))",
                    [present],
                ).fetchall()
            ]
            counts.deleted += mark_deleted(conn, table, key, gone, now)
        bk.resolve(conn, name, [str(r[key]) for r in rows], now)  # entries that load now are no dead letters
        for raw, reason in bad:
            log.warning(f"{name}: entry quarantined: {reason}. Fix it in Brightpearl; retried on every refresh.")
            record_id = raw.get("id", raw.get("statusId", raw.get("tagId", "?"))) if isinstance(raw, Mapping) else "?"
            bk.quarantine(conn, name, str(record_id), reason, raw, now)
        bk.set_watermark(conn, name, None, now, mode="full", window=(None, now), run_id=run_id)
        conn.execute("COMMIT")
    if not isinstance(response, list | Mapping):
        log.warning(f"{name}: {reference.path} did not return a list; table left as it was")
    return ReferenceRun(counts, len(bad), f"full refresh ({len(rows)} entries)", now)
