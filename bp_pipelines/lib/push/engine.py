"""Send what the ledger holds to the storefront: shipments first, then statuses, each exactly once.

Exactly once without idempotency keys (BigCommerce has none): a row is marked 'sending' before its request;
a row found in 'sending' (crash, timeout, 5xx on POST) is first reconciled against the storefront (its
shipments carry our marker in `comments`; an order's status is read back) and re-sent only if absent.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bp_pipelines.lib.bigcommerce.errors import (
    BigCommerceAmbiguousWrite,
    BigCommerceNotFound,
    BigCommerceValidationError,
)

from .ledger import Connect, Ledger, LedgerRow, now
from .plan import PushScope, plan_shipments, plan_statuses
from .settings import PushSettings

Kind = Literal["shipment", "order_status"]


class StorefrontApi(Protocol):
    """The BigCommerce calls the push makes (`bp_pipelines.lib.bigcommerce.BigCommerceClient`)."""

    def get_order(self, order_id: int) -> dict[str, Any] | None: ...
    def order_products(self, order_id: int) -> list[dict[str, Any]]: ...
    def order_shipments(self, order_id: int) -> list[dict[str, Any]]: ...
    def create_shipment(self, order_id: int, payload: dict[str, Any]) -> dict[str, Any]: ...
    def update_order_status(self, order_id: int, status_id: int) -> dict[str, Any]: ...


class PushLog(Protocol):
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...


@dataclass
class PushReport:
    kind: Kind
    enabled: bool = True
    planned: int = 0  # new ledger rows this run
    sent: int = 0  # requests that created/changed something on the storefront
    reconciled: int = 0  # found already on the storefront after an interrupted send
    skipped: int = 0  # nothing to do (already fulfilled, superseded, storefront already right)
    dead_lettered: int = 0
    still_open: int = 0  # left for the next run (e.g. an ambiguous write that could not be checked)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the run wrote a ledger row or a dead letter (every ledger row it handled lands in one count)."""
        return any((self.planned, self.sent, self.reconciled, self.skipped, self.dead_lettered, self.still_open))

    def metadata(self) -> dict[str, Any]:
        return {
            "push_enabled": self.enabled,
            "planned": self.planned,
            "sent": self.sent,
            "reconciled": self.reconciled,
            "skipped": self.skipped,
            "dead_lettered": self.dead_lettered,
            "still_open": self.still_open,
        }


def marker(row: LedgerRow) -> str:
    """Written into the shipment's `comments` so an interrupted send can be recognised on the storefront."""
    note_id = row.desired.get("goods_out_note_id")
    if note_id is not None:
        return f"Brightpearl goods-out note {note_id}"
    return f"Brightpearl order {row.bp_order_id}"


def _sku_key(sku: Any) -> str:
    return str(sku or "").strip().casefold()


def _is_ours(shipment: dict[str, Any], row: LedgerRow, request: dict[str, Any] | None) -> bool:
    if marker(row) in str(shipment.get("comments") or ""):
        return True
    # Fallback for a shipment created by an older run or by hand with the same tracking number and items.
    tracking = row.desired.get("tracking_number") or ""
    if not tracking or str(shipment.get("tracking_number") or "") != tracking or request is None:
        return False
    theirs = sorted((int(i["order_product_id"]), int(i["quantity"])) for i in shipment.get("items") or [])
    ours = sorted((int(i["order_product_id"]), int(i["quantity"])) for i in request.get("items") or [])
    return theirs == ours


def run_push(
    kind: Kind,
    connect: Connect,
    open_client: Callable[[], contextlib.AbstractContextManager[StorefrontApi]],
    settings: PushSettings,
    scope: PushScope,
    log: PushLog,
    *,
    run_id: str | None = None,
    only_push_ids: list[str] | None = None,
) -> PushReport:
    """Plan the changes in `scope` into the ledger, then send every open ledger row of `kind`.

    Open rows from earlier runs (failed, interrupted, re-driven) are sent too: the ledger, not the window,
    says what is still owed to the storefront.
    """
    report = PushReport(kind)
    ledger = Ledger(connect, run_id)
    if not settings.enabled:
        ledger.set_state("storefront.enabled", "false")  # the reconciliation marts are empty while the push is off
        report.enabled = False
        report.notes.append("storefront.enabled is false in the sync configuration file: nothing pushed")
        return report
    push_from = ledger.push_from(settings.push_from, settings.push_from_lookback)
    if only_push_ids is None:
        full_sweep = scope == PushScope()  # every change since push_from, as the schedules and `make run` plan
        if full_sweep:
            record_settings(ledger, settings, push_from)
            planned_at = now()
        with connect() as conn:
            planner = plan_shipments if kind == "shipment" else plan_statuses
            report.planned = ledger.record_plan(planner(conn, settings, scope, push_from))
        if full_sweep:
            # Brightpearl rows extracted before this moment were seen by the planner: the reconciliation marts
            # only blame the push for those (analytics.storefront_status_mismatches, storefront_shipments_missing).
            ledger.set_state(f"storefront.{kind}.planned_at", planned_at.isoformat())
    rows = ledger.open_rows(kind, only_push_ids)
    if scope.order_id is not None:
        rows = [r for r in rows if r.bp_order_id == scope.order_id]
    if not rows:
        return report
    with open_client() as client:
        if kind == "shipment":
            _send_shipments(client, ledger, rows, report, log)
        else:
            _send_statuses(client, ledger, rows, report, log)
    return report


def record_settings(ledger: Ledger, settings: PushSettings, push_from: datetime) -> None:
    """The push settings the reconciliation marts read from push.state (they are plain SQL rebuilt with the other
    marts, so the push, which resolves the sync file, leaves them there)."""
    values: dict[str, Any] = {
        "storefront.enabled": True,
        "storefront.order_link": settings.order_link,
        "storefront.channel_ids": list(settings.channel_ids),
        # effective start (configured push_from, else the first push minus push_lookback)
        "storefront.push_from": push_from.isoformat(),
        # Brightpearl order_status_id -> storefront status_id (JSON object keys are strings)
        "storefront.status_map": {str(bp): sf for bp, sf in sorted(settings.status_map.items())},
        "storefront.unmapped_status": settings.unmapped_status,
        "storefront.shipment_trigger_status_id": settings.shipment_trigger_status_id,
    }
    for key, value in values.items():
        ledger.set_state(key, value if isinstance(value, str) else json.dumps(value))


def _by_storefront_order(rows: list[LedgerRow]) -> Iterator[tuple[int | None, list[LedgerRow]]]:
    groups: dict[int | None, list[LedgerRow]] = {}
    for row in rows:
        groups.setdefault(row.storefront_order_id, []).append(row)
    yield from groups.items()


def _no_link(ledger: Ledger, rows: list[LedgerRow], report: PushReport) -> None:
    for row in rows:
        ledger.dead_letter(
            row,
            f"Brightpearl order {row.bp_order_id} holds no storefront order id in the field named by "
            "storefront.order_link (an integer is expected); fix the order in Brightpearl, then re-drive",
        )
        report.dead_lettered += 1


def _send_shipments(
    client: StorefrontApi, ledger: Ledger, rows: list[LedgerRow], report: PushReport, log: PushLog
) -> None:
    for sf_order, group in _by_storefront_order(rows):
        if sf_order is None:
            _no_link(ledger, group, report)
            continue
        try:
            products = client.order_products(sf_order)
        except BigCommerceNotFound:
            products = None
        if not products:
            for row in group:
                ledger.dead_letter(
                    row,
                    f"storefront order {sf_order} (Brightpearl order {row.bp_order_id}) was not found on the "
                    "storefront or has no products; check the order link, then re-drive",
                    status=404,
                )
                report.dead_lettered += 1
            continue
        remaining = {int(p["id"]): int(p.get("quantity") or 0) - int(p.get("quantity_shipped") or 0) for p in products}
        shipments: list[dict[str, Any]] | None = None
        for row in group:
            if row.state == "sending":
                if shipments is None:
                    shipments = client.order_shipments(sf_order)
                found = next((s for s in shipments if _is_ours(s, row, None)), None)
                if found is not None:
                    ledger.finish(
                        row.push_id,
                        "confirmed",
                        response=found,
                        storefront_ref=str(found.get("id")),
                        note="found on the storefront after an interrupted send; not sent again",
                    )
                    report.reconciled += 1
                    continue
            _send_one_shipment(client, ledger, row, sf_order, products, remaining, report, log)


def _shipment_request(
    row: LedgerRow, products: list[dict[str, Any]], remaining: dict[int, int]
) -> tuple[dict[str, Any] | None, str | None, list[str]]:
    """(request, dead-letter reason, notes). request None with no reason = nothing left to ship."""
    by_sku: dict[str, list[dict[str, Any]]] = {}
    for p in products:
        by_sku.setdefault(_sku_key(p.get("sku")), []).append(p)
    items: list[dict[str, int]] = []
    notes: list[str] = []
    addresses: set[int] = set()
    for item in row.desired.get("items") or []:
        sku = _sku_key(item.get("sku"))
        candidates = by_sku.get(sku) if sku else None
        if not candidates:
            return (
                None,
                (
                    f"SKU {item.get('sku')!r} (Brightpearl order row {item.get('order_row_id')}) is not on storefront "
                    f"order {row.storefront_order_id}; align the SKUs, then re-drive"
                ),
                notes,
            )
        wanted = int(item.get("quantity") or 0)
        for product in candidates:  # the same SKU on several lines: fill them in order
            pid = int(product["id"])
            take = min(wanted, max(remaining.get(pid, 0), 0))
            if take > 0:
                items.append({"order_product_id": pid, "quantity": take})
                addresses.add(int(product.get("order_address_id") or 0))
                wanted -= take
        if wanted > 0:
            notes.append(f"{item.get('sku')}: {wanted} more than remains unshipped on the storefront, not shipped")
    if not items:
        return None, None, notes
    if len(addresses) > 1:
        return (
            None,
            (
                f"the shipped items belong to {len(addresses)} storefront shipping addresses of order "
                f"{row.storefront_order_id}; ship them by hand on the storefront"
            ),
            notes,
        )
    request = {
        "order_address_id": addresses.pop(),
        "items": items,
        "tracking_number": str(row.desired.get("tracking_number") or "")[:50],
        "tracking_carrier": row.desired.get("tracking_carrier") or "",
        "shipping_provider": row.desired.get("shipping_provider") or "",
        "comments": marker(row),
    }
    return request, None, notes


def _send_one_shipment(
    client: StorefrontApi,
    ledger: Ledger,
    row: LedgerRow,
    sf_order: int,
    products: list[dict[str, Any]],
    remaining: dict[int, int],
    report: PushReport,
    log: PushLog,
) -> None:
    request, reason, notes = _shipment_request(row, products, remaining)
    if reason is not None:
        ledger.dead_letter(row, reason)
        report.dead_lettered += 1
        return
    if request is None:
        ledger.finish(
            row.push_id,
            "skipped",
            note="; ".join(["already fulfilled on the storefront: nothing of these items remains unshipped", *notes]),
        )
        report.skipped += 1
        return
    ledger.mark_sending(row.push_id, request)
    try:
        created = client.create_shipment(sf_order, request)
    except BigCommerceValidationError as exc:
        ledger.dead_letter(row, f"storefront rejected the shipment: {exc}", status=exc.status, response=exc.body)
        report.dead_lettered += 1
        return
    except BigCommerceAmbiguousWrite as exc:
        # The POST may have landed: look before sending again (never a second POST blindly).
        found = next((s for s in client.order_shipments(sf_order) if _is_ours(s, row, request)), None)
        if found is None:
            # Still unknown (the write may land late): the row stays 'sending', so the next attempt looks again
            # before it sends anything.
            ledger.note(
                row.push_id, f"send outcome unknown ({exc}); not on the storefront yet, checked again next time"
            )
            report.still_open += 1
            log.warning(f"{row.push_id}: {exc}; not on the storefront yet, re-checked before any re-send")
            return
        created = found
        report.reconciled += 1
    else:
        report.sent += 1
    for item in request["items"]:
        remaining[item["order_product_id"]] = remaining.get(item["order_product_id"], 0) - item["quantity"]
    ledger.finish(
        row.push_id,
        "confirmed",
        response=created,
        storefront_ref=str(created.get("id")),
        note="; ".join(notes) or None,
    )


def _send_statuses(
    client: StorefrontApi, ledger: Ledger, rows: list[LedgerRow], report: PushReport, log: PushLog
) -> None:
    latest: dict[int, LedgerRow] = {}
    for row in rows:  # oldest change first: a later change of the same order supersedes the earlier one
        earlier = latest.get(row.bp_order_id)
        if earlier is not None:
            ledger.finish(earlier.push_id, "skipped", note=f"superseded by {row.push_id}")
            report.skipped += 1
        latest[row.bp_order_id] = row
    for row in latest.values():
        if row.storefront_order_id is None:
            _no_link(ledger, [row], report)
            continue
        target = int(row.desired["status_id"])
        try:
            if row.state == "sending":  # possibly sent: read back before sending again
                order = client.get_order(row.storefront_order_id)
                if order is None:
                    raise BigCommerceNotFound(f"storefront order {row.storefront_order_id} not found")
                if int(order.get("status_id", -1)) == target:
                    ledger.finish(
                        row.push_id,
                        "confirmed",
                        response={"id": order.get("id"), "status_id": target},
                        note="storefront already had this status after an interrupted send; not sent again",
                    )
                    report.reconciled += 1
                    continue
            ledger.mark_sending(row.push_id, {"status_id": target})
            updated = client.update_order_status(row.storefront_order_id, target)
        except BigCommerceNotFound:
            ledger.dead_letter(
                row,
                f"storefront order {row.storefront_order_id} (Brightpearl order {row.bp_order_id}) was not found on "
                "the storefront; check the order link, then re-drive",
                status=404,
            )
            report.dead_lettered += 1
            continue
        except BigCommerceValidationError as exc:
            ledger.dead_letter(row, f"storefront rejected status {target}: {exc}", status=exc.status, response=exc.body)
            report.dead_lettered += 1
            continue
        ledger.finish(
            row.push_id,
            "confirmed",
            response={"id": updated.get("id"), "status_id": updated.get("status_id"), "status": updated.get("status")},
            storefront_ref=str(updated.get("id")),
        )
        report.sent += 1


def redrive_dead_letters(
    connect: Connect,
    open_client: Callable[[], contextlib.AbstractContextManager[StorefrontApi]],
    settings: PushSettings,
    log: PushLog,
    *,
    run_id: str | None = None,
    bp_order_id: int | None = None,
) -> list[PushReport]:
    """Send open dead letters again (after their cause was fixed): shipments first, then statuses. Stock rows
    (not tied to an order) go back to 'planned' and are sent by the next `storefront_stock_levels` run, which
    checks them against the storefront's current level first."""
    ledger = Ledger(connect, run_id)
    reports = []
    for kind in ("shipment", "order_status"):
        ids = ledger.reopen_dead_letters(kind, bp_order_id)
        if ids:
            reports.append(
                run_push(kind, connect, open_client, settings, PushScope(), log, run_id=run_id, only_push_ids=ids)
            )
    if bp_order_id is None:
        stock = ledger.reopen_dead_letters("stock")
        if stock:
            log.info(f"{len(stock)} stock dead letter(s) re-opened; the next storefront_stock_levels run sends them")
    return reports
