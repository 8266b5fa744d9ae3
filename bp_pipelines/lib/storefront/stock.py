"""Stock levels to the storefront: Brightpearl's available stock per SKU, absolute, only where it differs.

available(SKU) = max(0, sum over the configured warehouses of (in_stock - allocated)) of the one live Brightpearl
product with that SKU. Brightpearl's own `onHand` is already `inStock - allocated` (reference §product-availability),
so subtracting `allocated` from it again would count allocations twice; `on_hand` is the fallback when `in_stock`
is missing.

One run: read the storefront's current levels in bulk (`GET v3/inventory/locations/{id}/items`, 1000 a page) ->
match SKUs (case and surrounding spaces ignored) -> settle rows a crashed run left open -> plan every SKU whose
storefront level differs from Brightpearl into `push.ledger` (kind `stock`) -> record the storefront's figure in
`storefront.inventory_drift` -> `PUT v3/inventory/adjustments/absolute` in batches of 2000 (the documented
maximum), rows `sending` before and `confirmed` after. An absolute level is idempotent, so a batch left `sending`
is simply settled against the level read at the start of the next run (already there: confirmed; not: sent again).
A 422 names the bad items (`errors["items.N"]`): those are dead-lettered with the storefront's reason and the rest
of the batch is sent again without them (BigCommerce applies a batch all or nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb

from bp_pipelines.lib.bigcommerce.errors import BigCommerceValidationError
from bp_pipelines.lib.push.ledger import Ledger, LedgerRow
from bp_pipelines.lib.push.plan import PlannedPush

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

KIND = "stock"
MAX_ADJUSTMENT_ITEMS = 2000  # PUT /v3/inventory/adjustments/absolute: "max 2000 items" (reference §5); 413 above
ITEMS_PAGE = 1000  # GET inventory items: the largest page the inventory API serves
REASON = "Brightpearl stock sync"


class InventoryApi(Protocol):
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any: ...
    def put(self, path: str, json: Any) -> Any: ...
    def paginate(self, path: str, params: Mapping[str, Any] | None = None, *, limit: int | None = None) -> Any: ...


# Brightpearl available stock per SKU key; SKUs several live products share are left out (reported instead).
DESIRED_SQL = """
WITH live AS (
    SELECT product_id, trim(sku) AS sku, lower(trim(sku)) AS sku_key, coalesce(stock_tracked, true) AS tracked
    FROM brightpearl.products
    WHERE NOT is_deleted AND nullif(trim(sku), '') IS NOT NULL
), keys AS (
    SELECT sku_key, count(*) AS n, min(product_id) AS product_id, min(sku) AS sku, bool_and(tracked) AS tracked
    FROM live GROUP BY sku_key
)
SELECT k.sku_key, k.sku, k.product_id, k.n, k.tracked,
       greatest(0, coalesce(sum(coalesce(s.in_stock - s.allocated, s.on_hand)), 0))::INTEGER AS available,
       max(s.as_of) AS as_of
FROM keys k
LEFT JOIN brightpearl.stock_levels s
       ON s.product_id = k.product_id AND NOT s.is_deleted AND s.warehouse_id IN (SELECT unnest(?::BIGINT[]))
GROUP BY ALL
"""

# Storefront SKUs from the extracted catalog: how each is tracked (tracking 'none' is skipped with a note).
CATALOG_SQL = """
SELECT lower(trim(v.sku)) AS sku_key, v.variant_id, v.product_id, p.inventory_tracking
FROM storefront.variants v JOIN storefront.products p USING (product_id)
WHERE NOT v.is_deleted AND NOT p.is_deleted AND nullif(trim(v.sku), '') IS NOT NULL
"""


@dataclass(frozen=True)
class Desired:
    sku: str
    product_id: int
    available: int
    as_of: datetime | None


@dataclass(frozen=True)
class Item:
    """A storefront inventory item at the location written to."""

    sku: str
    variant_id: int
    product_id: int
    level: int


@dataclass
class StockReport:
    enabled: bool = True
    notes: list[str] = field(default_factory=list)
    location_id: int | None = None
    storefront_items: int = 0
    matched: int = 0
    unchanged: int = 0
    planned: int = 0
    sent: int = 0
    batches: int = 0
    reconciled: int = 0  # left 'sending' by a crashed run, found already applied
    superseded: int = 0
    dead_lettered: int = 0
    held_dead: int = 0  # SKUs with an open dead letter for the same level: not sent until re-driven
    only_brightpearl: int = 0
    only_storefront: int = 0
    untracked: list[str] = field(default_factory=list)  # SKU keys the storefront does not track
    not_stock_tracked: int = 0  # Brightpearl products that keep no stock
    duplicate_skus: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {
            "push_enabled": self.enabled,
            "location_id": self.location_id if self.location_id is not None else -1,
            "storefront_items": self.storefront_items,
            "matched_skus": self.matched,
            "unchanged_skus": self.unchanged,
            "planned": self.planned,
            "sent": self.sent,
            "batches": self.batches,
            "reconciled": self.reconciled,
            "superseded": self.superseded,
            "dead_lettered": self.dead_lettered,
            "held_dead_letters": self.held_dead,
            "skus_only_in_brightpearl": self.only_brightpearl,
            "skus_only_on_storefront": self.only_storefront,
            "skipped_untracked": len(self.untracked),
            "skipped_not_stock_tracked_in_brightpearl": self.not_stock_tracked,
            "skipped_duplicate_skus": len(self.duplicate_skus),
            "notes": "; ".join(self.notes),
        }


def _key(sku: str | None) -> str:
    return (sku or "").strip().lower()


def choose_location(bc: InventoryApi) -> int:
    """The location stock is written to: id 1 when the store has it (BigCommerce's default location in every
    example; unconfirmed), else the lowest enabled location id."""
    ids = [
        int(loc["id"])
        for loc in bc.paginate("v3/inventory/locations", {"limit": 250})
        if loc.get("enabled", True) is not False
    ]
    if not ids:
        raise ValueError("the storefront has no enabled inventory location to write stock to")
    return 1 if 1 in ids else min(ids)


def read_items(bc: InventoryApi, location_id: int) -> dict[str, Item]:
    """Every inventory item at the location (tracked SKUs only), keyed by SKU key, in pages of 1000."""
    items: dict[str, Item] = {}
    for raw in bc.paginate(f"v3/inventory/locations/{location_id}/items", {"limit": ITEMS_PAGE}):
        ident = raw.get("identity") or {}
        sku = ident.get("sku")
        if not sku:
            continue
        product_id = int(ident["product_id"])
        level = raw.get("total_inventory_onhand", raw.get("available_to_sell"))
        items[_key(sku)] = Item(
            sku=sku,
            variant_id=int(ident["variant_id"]),
            product_id=product_id,
            level=int(level or 0),
        )
    return items


def push_id(sku_key: str, level: int, as_of: datetime | None) -> str:
    ms = int(as_of.timestamp() * 1000) if as_of is not None else 0
    return f"stock:{sku_key}:{level}:{ms}"


class StockPush:
    def __init__(self, connect: Connect, warehouse_ids: Sequence[int], log: Any, run_id: str | None = None) -> None:
        # The run id makes a repeated correction's push id unique; a caller without one gets a fresh id.
        self.connect, self.warehouse_ids, self.log = connect, list(warehouse_ids), log
        self.run_id = run_id or uuid.uuid4().hex
        self.ledger = Ledger(connect, self.run_id)
        self._brightpearl_keys: set[str] = set()  # every live Brightpearl SKU key, stock-tracked or not
        self.requests = 0  # storefront calls of the last run

    def _desired(self, report: StockReport) -> dict[str, Desired]:
        with self.connect() as conn:
            rows = conn.execute(DESIRED_SQL, [self.warehouse_ids]).fetchall()
        desired: dict[str, Desired] = {}
        self._brightpearl_keys = set()
        for sku_key, sku, product_id, n, tracked, available, as_of in rows:
            self._brightpearl_keys.add(sku_key)
            if n > 1:
                report.duplicate_skus.append(sku)
            elif not tracked:  # Brightpearl keeps no stock for it (e.g. a bundle, a service): nothing to push
                report.not_stock_tracked += 1
            else:
                desired[sku_key] = Desired(sku, product_id, available, as_of)
        return desired

    def _catalog(self) -> dict[str, tuple[int, int, str]]:
        with self.connect() as conn:
            return {r[0]: (r[1], r[2], r[3]) for r in conn.execute(CATALOG_SQL).fetchall()}

    def run(self, client: Callable[[], AbstractContextManager[InventoryApi]]) -> StockReport:
        report = StockReport()
        desired = self._desired(report)
        catalog = self._catalog()
        with client() as bc:
            report.location_id = location = choose_location(bc)
            items = read_items(bc, location)
            report.storefront_items = len(items)
            storefront_keys = set(items) | set(catalog)
            report.only_brightpearl = len(set(desired) - storefront_keys)
            report.only_storefront = len(storefront_keys - self._brightpearl_keys)
            report.untracked = sorted(
                k for k in self._brightpearl_keys & set(catalog) if catalog[k][2] == "none" and k not in items
            )
            if report.untracked:
                report.notes.append(
                    f"{len(report.untracked)} SKU(s) not pushed: inventory tracking is off on the storefront "
                    f"(inventory_tracking none), e.g. {', '.join(report.untracked[:5])}"
                )
            if report.duplicate_skus:
                report.notes.append(
                    f"{len(report.duplicate_skus)} SKU(s) not pushed: several live Brightpearl products share them, "
                    f"e.g. {', '.join(report.duplicate_skus[:5])}"
                )
            matched = {k: (desired[k], items[k]) for k in set(desired) & set(items)}
            report.matched = len(matched)
            to_send = self._settle_open(matched, report)
            to_send += self._plan(matched, {r.desired["sku_key"] for r in to_send}, report)
            self._record_drift(to_send, matched, location)
            confirmed, dead = self._send(bc, to_send, location, report)
            self.requests = int(getattr(getattr(bc, "stats", None), "requests", 0))
        self._store_levels(items, desired, location, confirmed, dead)
        return report

    def _settle_open(self, matched: dict[str, tuple[Desired, Item]], report: StockReport) -> list[LedgerRow]:
        """Rows a crashed or failed run left planned/sending: already applied -> confirmed, outdated -> skipped,
        else sent again in this run's batches (an absolute level may be re-sent safely)."""
        resend: list[LedgerRow] = []
        for row in self.ledger.open_rows(KIND):
            key, level = row.desired["sku_key"], int(row.desired["level"])
            pair = matched.get(key)
            if pair is None or pair[0].available != level:
                self.ledger.finish(
                    row.push_id, "skipped", note="superseded: Brightpearl's available stock or the SKU match changed"
                )
                report.superseded += 1
            elif pair[1].level == level:
                self.ledger.finish(row.push_id, "confirmed", note=f"reconciled: the storefront already holds {level}")
                report.reconciled += 1
            else:
                resend.append(row)
        return resend

    def _plan(
        self, matched: dict[str, tuple[Desired, Item]], pending: set[str], report: StockReport
    ) -> list[LedgerRow]:
        candidates = {k: v for k, v in matched.items() if k not in pending and v[0].available != v[1].level}
        # Candidates are planned below or held as dead letters; pending rows were settled above.
        report.unchanged = len(matched) - len(candidates) - len(pending)
        if not candidates:
            return []
        ids = {k: push_id(k, d.available, d.as_of) for k, (d, _) in candidates.items()}
        with self.connect() as conn:
            known = {
                r[0]
                for r in conn.execute(
                    "SELECT push_id FROM push.ledger WHERE push_id IN (SELECT unnest(?))", [list(ids.values())]
                ).fetchall()
            }
            held = {
                (r[0], int(r[1]))
                for r in conn.execute(
                    """SELECT l.desired->>'sku_key', l.desired->>'level' FROM push.ledger l
                       JOIN push.dead_letters d USING (push_id) WHERE l.kind = ? AND d.resolved_at IS NULL""",
                    [KIND],
                ).fetchall()
            }
        planned = []
        for key, (d, item) in sorted(candidates.items()):
            pid = ids[key]
            if (key, d.available) in held:  # rejected at this level: waits for a re-drive, never re-sent each run
                report.held_dead += 1
                continue
            if pid in known:  # pushed before, then changed on the storefront: correct it again, once per run
                pid = f"{pid}:run:{self.run_id}"
            planned.append(
                PlannedPush(
                    push_id=pid,
                    kind=KIND,
                    bp_order_id=None,
                    storefront_order_id=None,
                    source_id=d.product_id,
                    changed_at=d.as_of,
                    desired={
                        "sku_key": key,
                        "sku": item.sku,
                        "level": d.available,
                        "warehouse_ids": self.warehouse_ids,
                    },
                )
            )
        report.planned = self.ledger.record_plan(planned)
        return self.ledger.open_rows(KIND, [p.push_id for p in planned])

    def _record_drift(self, rows: list[LedgerRow], matched: dict[str, tuple[Desired, Item]], location: int) -> None:
        """What the storefront believed, committed BEFORE the PUT overwrites it (once per push id)."""
        if not rows:
            return
        at = datetime.now(UTC)
        values = []
        for row in rows:
            d, item = matched[row.desired["sku_key"]]
            values.append((row.push_id, item.sku, item.variant_id, location, item.level, d.available, at, self.run_id))
        with self.connect() as conn:
            conn.executemany(
                """INSERT INTO storefront.inventory_drift (push_id, sku, variant_id, location_id,
                       storefront_level_before, brightpearl_available, recorded_at, run_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
                values,
            )

    def _send(
        self, bc: InventoryApi, rows: list[LedgerRow], location: int, report: StockReport
    ) -> tuple[set[str], set[str]]:
        confirmed: set[str] = set()
        dead: set[str] = set()
        for start in range(0, len(rows), MAX_ADJUSTMENT_ITEMS):
            batch = rows[start : start + MAX_ADJUSTMENT_ITEMS]
            while batch:
                items = [
                    {"location_id": location, **self._identity(r), "quantity": int(r.desired["level"])} for r in batch
                ]
                body = {"reason": REASON, "items": items}
                ids = [r.push_id for r in batch]
                self.ledger.mark_sending_many(ids, {"reason": REASON, "location_id": location, "items": len(items)})
                report.batches += 1
                try:
                    response = bc.put("v3/inventory/adjustments/absolute", body)
                except BigCommerceValidationError as exc:
                    bad = _bad_indexes(exc, len(batch))
                    for i in bad:
                        reason = _item_reason(exc, i)
                        self.ledger.dead_letter(batch[i], reason, status=exc.status, response=exc.body)
                        dead.add(batch[i].desired["sku_key"])
                    report.dead_lettered += len(bad)
                    # The storefront applies a batch all or nothing: the good items go again without the bad ones.
                    batch = [r for i, r in enumerate(batch) if i not in bad]
                    continue
                self.ledger.finish_many(ids, "confirmed", response=response)
                keys = [r.desired["sku_key"] for r in batch]
                self._resolve_older_dead_letters(keys)
                confirmed.update(keys)
                report.sent += len(batch)
                batch = []
        return confirmed, dead

    def _resolve_older_dead_letters(self, sku_keys: list[str]) -> None:
        """A SKU whose level is now confirmed needs nothing from its earlier rejected pushes (another level)."""
        with self.connect() as conn:
            conn.execute(
                """UPDATE push.dead_letters SET resolved_at = ? WHERE resolved_at IS NULL AND kind = ?
                   AND push_id IN (SELECT push_id FROM push.ledger
                                   WHERE kind = ? AND desired->>'sku_key' IN (SELECT unnest(?)))""",
                [datetime.now(UTC), KIND, KIND, sku_keys],
            )

    def _identity(self, row: LedgerRow) -> dict[str, int | str]:
        """By SKU, as the storefront spells it: valid for product- and variant-tracked items alike, where a
        variant_id or product_id is refused (422) when the item is tracked the other way."""
        return {"sku": row.desired["sku"]}

    def _store_levels(
        self,
        items: dict[str, Item],
        desired: dict[str, Desired],
        location: int,
        confirmed: set[str],
        dead: set[str],
    ) -> None:
        at = datetime.now(UTC)
        rows = []
        for key, item in items.items():
            d = desired.get(key)
            state = (
                "not_matched"
                if d is None
                else "confirmed"
                if key in confirmed
                else "dead"
                if key in dead
                else "unchanged"
            )
            level = d.available if d is not None and key in confirmed else item.level
            rows.append(
                (item.sku, item.variant_id, item.product_id, location, level, d.available if d else None, state, at)
            )
        with self.connect() as conn:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM storefront.inventory_levels")
            conn.executemany("INSERT INTO storefront.inventory_levels VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")


def _bad_indexes(exc: BigCommerceValidationError, size: int) -> set[int]:
    """Positions the storefront named (`errors` keyed `items.N`); none named: the whole batch is rejected."""
    found: set[int] = set()
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    for key in errors:
        parts = str(key).split(".")
        if len(parts) >= 2 and parts[0] == "items" and parts[1].isdigit() and int(parts[1]) < size:
            found.add(int(parts[1]))
    return found or set(range(size))


def _item_reason(exc: BigCommerceValidationError, index: int) -> str:
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    detail = errors.get(f"items.{index}") or exc.title or str(exc)
    return f"the storefront rejected the stock level (HTTP {exc.status}): {detail}"
