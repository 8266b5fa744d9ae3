"""Sales credits (refunds of invoiced SOs), purchase orders and purchase credits (OrderFactory mixin)."""

from __future__ import annotations

import random
from collections import deque
from typing import TYPE_CHECKING

from .batch import Batch, Ids
from .fastrand import pick, ri, rr
from .money import m2
from .records import Created, Priced, order_row
from .reference import TAX_EXEMPT, TAX_RETAIL
from .timeutil import DAY_MS, local_midnight, past, utc_midnight
from .world import Product, World

if TYPE_CHECKING:
    from .storefront import TopLine


class CreditsMixin:
    world: World
    ids: Ids
    batch: Batch
    rng: random.Random
    recent_so: deque[tuple[int, int, list[TopLine], int, int]]
    recent_po: deque[tuple[int, int, list[TopLine], int]]

    def _write_rows(
        self, oid: int, lines: list[tuple[Product, int, int, int]], tax_code: str, rate: int, nominal: str
    ) -> Priced:
        raise NotImplementedError

    def _staff(self) -> int:
        return pick(self.rng, self.world.staff_ids)

    def sales_credit(self, oid: int, created: int) -> Created:
        rng, clock = self.rng, self.world.clock_ms
        parent_id, contact_id, top, channel, rate = pick(rng, self.recent_so)
        returned = rng.sample(top, min(len(top), 1 + (rng.random() < 0.3)))
        lines = [(t.product, ri(rng, 1, t.quantity), t.unit, 0) for t in returned]
        tax_code = TAX_RETAIL[0] if rate else TAX_EXEMPT[0]
        priced = self._write_rows(oid, lines, tax_code, rate, "4000")
        complete = clock - created > 14 * DAY_MS
        done_ms = past(rng, created + rr(rng, DAY_MS, 10 * DAY_MS), clock, created) if complete else None
        contact = self.world.contacts[contact_id]
        self.batch.add(
            "orders",
            order_row(
                id=oid,
                order_type_code="SC",
                parent_order_id=parent_id,
                status_id=11 if complete else 10,
                contact_id=contact_id,
                channel_id=channel,
                customer_ref=f"RMA-{ri(rng, 1000, 99999)}",
                price_list_id=contact.price_list_id,
                total_net=m2(priced.net),
                total_tax=m2(priced.tax),
                total_value=m2(priced.net + priced.tax),
                payment_status="PAID" if complete else "UNPAID",
                invoice_reference=f"SC-{100000 + oid}" if done_ms else None,
                tax_date_ms=local_midnight(done_ms) if done_ms else None,
                due_date_ms=utc_midnight(done_ms) if done_ms else None,
                placed_on_ms=created,
                created_ms=created,
                updated_ms=done_ms or created,
                closed_ms=done_ms,
                created_by_id=self._staff(),
                version=2 if done_ms else 1,
                billing_address_id=contact.def_address_id,
                delivery_address_id=contact.del_address_id,
            ),
        )
        return Created(oid, "SC")

    def purchase_order(self, oid: int, created: int) -> Created:
        rng, clock = self.rng, self.world.clock_ms
        supplier = pick(rng, self.world.suppliers)
        candidates = [p for p in self.world.by_supplier.get(supplier.id, ()) if p.created_ms <= created]
        if not candidates:
            candidates = [p for p in self.world.products.items[:50] if p.tracked and not p.bundle]
        chosen = rng.sample(candidates, min(len(candidates), ri(rng, 1, 5)))
        lines = [(p, pick(rng, (10, 20, 50, 100, 200)), p.cost, 0) for p in chosen]
        priced = self._write_rows(oid, lines, TAX_EXEMPT[0], 0, "5000")
        age, r = clock - created, rng.random()
        state = (
            "cancelled"
            if r < 0.03
            else (
                "received"
                if age > 30 * DAY_MS and r < 0.93
                else ("pending" if age < 10 * DAY_MS and r < 0.5 else "placed")
            )
        )
        received = (
            past(rng, created + rr(rng, 7 * DAY_MS, 30 * DAY_MS), clock, created) if state == "received" else None
        )
        wh = pick(rng, (1, 1, 2))
        payment = {
            "cancelled": "NOT_APPLICABLE",
            "pending": "UNPAID",
            "placed": "UNPAID",
            "received": "PAID" if rng.random() < 0.85 else "UNPAID",
        }[state]
        self.batch.add(
            "orders",
            order_row(
                id=oid,
                order_type_code="PO",
                status_id={"pending": 6, "placed": 7, "received": 8, "cancelled": 9}[state],
                contact_id=supplier.id,
                warehouse_id=wh,
                customer_ref=f"REQ-{oid}",
                price_list_id=1,
                total_net=m2(priced.net),
                total_tax=m2(priced.tax),
                total_value=m2(priced.net + priced.tax),
                payment_status=payment,
                shipping_status_code="ASS" if received else "SNS",
                stock_status_code="PAR" if received else "PON",
                invoice_reference=f"PI-{ri(rng, 10000, 99999)}" if received else None,
                tax_date_ms=local_midnight(received) if received else None,
                due_date_ms=utc_midnight(received) + 30 * DAY_MS if received else None,
                delivery_date_ms=utc_midnight(created) + ri(rng, 14, 30) * DAY_MS,
                placed_on_ms=created,
                created_ms=created,
                updated_ms=received or created,
                closed_ms=received if received else (created + DAY_MS if state == "cancelled" else None),
                created_by_id=self._staff(),
                version=3 if received else 1,
                billing_address_id=supplier.def_address_id,
                delivery_address_id=supplier.def_address_id,
            ),
        )
        if received:
            self.recent_po.append((oid, supplier.id, priced.top, wh))
        return Created(oid, "PO")

    def purchase_credit(self, oid: int, created: int) -> Created:
        rng, clock = self.rng, self.world.clock_ms
        parent_id, supplier_id, top, wh = pick(rng, self.recent_po)
        line = pick(rng, top)
        priced = self._write_rows(
            oid, [(line.product, ri(rng, 1, line.quantity), line.unit, 0)], TAX_EXEMPT[0], 0, "5000"
        )
        complete = clock - created > 14 * DAY_MS
        supplier = self.world.contacts[supplier_id]
        self.batch.add(
            "orders",
            order_row(
                id=oid,
                order_type_code="PC",
                parent_order_id=parent_id,
                status_id=13 if complete else 12,
                contact_id=supplier_id,
                warehouse_id=wh,
                customer_ref=f"DEBIT-{oid}",
                price_list_id=1,
                total_net=m2(priced.net),
                total_tax=m2(priced.tax),
                total_value=m2(priced.net + priced.tax),
                payment_status="PAID" if complete else "UNPAID",
                placed_on_ms=created,
                created_ms=created,
                updated_ms=past(rng, created + DAY_MS, clock, created) if complete else created,
                closed_ms=past(rng, created + DAY_MS, clock, created) if complete else None,
                created_by_id=self._staff(),
                billing_address_id=supplier.def_address_id,
                delivery_address_id=supplier.def_address_id,
            ),
        )
        return Created(oid, "PC")
