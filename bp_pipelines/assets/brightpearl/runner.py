"""Run one searchable resource in a mode: windows and watermark (incremental/partition) or the id sweep
(reconciliation). The caller publishes the snapshot once its run log is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bp_pipelines import settings
from bp_pipelines.resources.brightpearl import BrightpearlClient
from bp_pipelines.resources.warehouse import WarehouseResource

from . import bookkeeping as bk
from .engine import EntitySync, bp_time
from .entities import Entity
from .sql import mark_deleted

# A sweep that finds this few vanished records is trusted even when they are a large share of a tiny table.
SAFETY_VALVE_MIN_ROWS = 10


@dataclass
class EntityRun:
    sync: EntitySync
    mode: str
    window_from: datetime | None
    window_to: datetime | None
    watermark: datetime | None  # stored after the run


def sync_start() -> datetime:
    return datetime.combine(settings.sync_start_date(), time(0), tzinfo=UTC)


def run_entity(
    entity: Entity,
    bp: BrightpearlClient,
    wh: WarehouseResource,
    log: Any,
    *,
    mode: str,
    config: Any,
    window: tuple[datetime, datetime] | None,
    run_id: str,
) -> EntityRun:
    sync = EntitySync(entity, bp, wh, log, mode=mode, force=config.force)
    sync.retry_quarantine()
    window_from: datetime | None
    window_to: datetime | None = None
    if mode == "reconciliation":
        window_from = None
        reconcile(sync, config)
    else:
        if mode == "partition" and window is not None:
            window_from, window_to = window
        else:
            # Open-ended upper bound: a clock difference between Brightpearl and us can never hide a change;
            # the watermark is still capped at our search start time.
            window_from = sync.overlap_start(timedelta(minutes=config.overlap_minutes), sync_start())
        for filters in window_searches(entity, window_from, window_to):
            sync.search(filters)
    sync.finish()
    new_wm = sync.new_watermark(window_to)
    stored = sync.watermark.watermark
    # A partition run only moves the watermark when its window joins the synced history (no gap behind it).
    contiguous = mode != "partition" or (
        window_from is not None and window_from <= (stored if stored is not None else sync_start())
    )
    with wh.connect() as conn:
        bk.set_watermark(
            conn,
            entity.resource,
            new_wm if contiguous else None,
            sync.started,
            mode=mode,
            window=(window_from, window_to),
            run_id=run_id,
            reconciled=mode == "reconciliation",
        )
        watermark = bk.get_watermark(conn, entity.resource).watermark
    return EntityRun(sync, mode, window_from, window_to, watermark)


def window_searches(entity: Entity, window_from: datetime, window_to: datetime | None) -> list[dict[str, str]]:
    """The searches covering a window. The first window column selects records of the window; further columns
    and the extra searches (goods-out: shipped in the window, still unshipped) only need records whose first
    column lies BEFORE the window -- the others came with the first search -- which keeps their pages few."""
    period = f"{bp_time(window_from)}/{bp_time(window_to) if window_to else ''}"
    first, *others = entity.window_columns
    before = {first: f"/{bp_time(window_from)}"}
    return (
        [{first: period}]
        + [{column: period, **before} for column in others]
        + [{**extra, **before} for extra in entity.extra_searches]
    )


def reconcile(sync: EntitySync, config: Any) -> None:
    """Id sweep over the whole resource: fetch missing/stale/recent records, then mark the vanished ones."""
    resource = sync.e.resource
    # Anchor "recent" on our data when Brightpearl's clock lags ours (e.g. the sandbox's frozen clock).
    anchor = min(sync.started, sync.watermark.watermark or sync.started)
    sync.recent_cutoff = anchor - timedelta(days=config.reread_days)
    with sync.wh.connect() as conn:
        conn.execute("DELETE FROM _sync.sweep_ids WHERE resource = ?", [resource])
    sync.sweeping = True
    complete = sync.search({})
    sync.sweeping = False
    sync.finish()
    if complete:
        mark_vanished(sync, config.max_delete_fraction)
    else:
        sync.stats.deletions_skipped = "the sweep was incomplete (a page was quarantined): nothing marked deleted"
        sync.log.warning(f"{resource}: {sync.stats.deletions_skipped}")
    with sync.wh.connect() as conn:
        conn.execute("DELETE FROM _sync.sweep_ids WHERE resource = ?", [resource])


def mark_vanished(sync: EntitySync, max_fraction: float) -> None:
    """Records stored here but absent from the sweep are confirmed by ID-set GET (offset paging can skip a row
    while data changes), then marked is_deleted with their child rows."""
    e, key = sync.e, sync.e.parent.key[0]
    with sync.wh.connect() as conn:
        live = conn.execute(f"SELECT count(*) FROM {e.parent.qualified} WHERE NOT is_deleted").fetchone()[0]  # type: ignore[index]
        candidates = [
            r[0]
            for r in conn.execute(
                f"SELECT t.{key} FROM {e.parent.qualified} t WHERE NOT t.is_deleted AND NOT EXISTS "
                f"(SELECT 1 FROM _sync.sweep_ids s WHERE s.resource = ? AND s.id = t.{key}) ORDER BY 1",
                [e.resource],
            ).fetchall()
        ]
    if not candidates:
        return
    if len(candidates) > max(SAFETY_VALVE_MIN_ROWS, max_fraction * live):
        sync.stats.deletions_skipped = (
            f"{len(candidates)} of {live} {e.resource} absent from the sweep (> {max_fraction:.0%}): nothing marked "
            "deleted. Check the account/credentials; raise max_delete_fraction to accept."
        )
        sync.log.warning(f"{e.resource}: {sync.stats.deletions_skipped}")
        return
    for start in range(0, len(candidates), e.batch_size):
        chunk = candidates[start : start + e.batch_size]
        returned = sync.fetch_and_write(chunk, {})
        if returned is None:  # the confirming GET failed (quarantined): do not guess
            continue
        gone = [i for i in chunk if i not in returned]
        with sync.wh.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            sync.stats.parent.deleted += mark_deleted(conn, e.parent, key, gone, sync.started)
            if e.child is not None and e.child.parent_key:
                sync.stats.child.deleted += mark_deleted(conn, e.child, e.child.parent_key, gone, sync.started)
            conn.execute("COMMIT")
        if gone:
            sync.log.info(f"{e.resource}: marked {len(gone)} records deleted (gone from Brightpearl)")
