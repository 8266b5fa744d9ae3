"""Order composition: SO/SC/PO/PC with rows, bundles, statuses, invoices, payments and fulfilment.

All money is integer cents here and formatted as strings at the edge (4 dp rows, 2 dp tax and totals).
"""

from __future__ import annotations

import random
from collections import deque

from .batch import Batch, Ids
from .credits import CreditsMixin
from .fastrand import pick, ri, rr
from .fulfil import Note, ShipLine, group_lines, shipping_status, write_notes
from .money import m2, m4, rate_string, tax_of
from .records import Created, Priced, order_row
from .reference import (
    AMAZON_CHANNEL_ID,
    BC_INTEGRATION_INSTANCE_ID,
    CHANNELS,
    PHONE_CHANNEL_ID,
    SHIPPING_METHODS,
    STOREFRONT_CHANNEL_ID,
    SYSTEM_USER_ID,
    TAX_EXEMPT,
    TAX_RETAIL,
    WHOLESALE_CHANNEL_ID,
)
from .storefront import TopLine, bc_status, storefront_only_status, write_bc_order
from .timeutil import DAY_MS, HOUR_MS, MINUTE_MS, local_midnight, past, utc_midnight
from .world import Contact, Product, World

CHANNEL_WAREHOUSE = {c[0]: c[4] for c in CHANNELS}
METHOD_NAMES = {m[0]: m[2] for m in SHIPPING_METHODS}
SO_OPEN = {"new_web": 14, "new_phone": 3, "awaiting": 15, "ready": 16}


class OrderFactory(CreditsMixin):
    """Writes orders into a Batch. One instance per chunk (history) or per change call (live)."""

    def __init__(self, world: World, ids: Ids, batch: Batch, rng: random.Random) -> None:
        self.world, self.ids, self.batch, self.rng = world, ids, batch, rng
        self.recent_so: deque[tuple[int, int, list[TopLine], int, int]] = deque(maxlen=200)
        self.recent_po: deque[tuple[int, int, list[TopLine], int]] = deque(maxlen=100)

    # ------------------------------------------------------------------ entry point
    def history_order(self, oid: int, created: int) -> Created:
        r = self.rng.random()
        if r < 0.05 and self.recent_so:
            return self.sales_credit(oid, created)
        if r < 0.13:
            return self.purchase_order(oid, created)
        if r < 0.15 and self.recent_po:
            return self.purchase_credit(oid, created)
        return self.sales_order(oid, created)

    # ------------------------------------------------------------------ rows
    def _write_rows(
        self, oid: int, lines: list[tuple[Product, int, int, int]], tax_code: str, rate: int, nominal: str
    ) -> Priced:
        out = Priced()
        seq = 10
        rate_s = rate_string(rate)
        for product, qty, unit, disc in lines:
            net = unit * qty * (100 - disc) // 100
            tax = tax_of(net, rate)
            rid = self.ids.take("row")
            self.batch.add(
                "order_rows",
                (
                    rid,
                    oid,
                    seq,
                    product.id,
                    product.sku,
                    product.name,
                    qty,
                    m4(unit),
                    m4(product.cost),
                    f"{disc}.00",
                    m4(net),
                    m2(tax),
                    rate_s,
                    tax_code,
                    nominal,
                    int(product.bundle),
                    0,
                    0,
                    None,
                ),
            )
            top_index = len(out.top)
            out.top.append(TopLine(rid, product, qty, unit, net, tax))
            out.net += net
            out.tax += tax
            if product.bundle:
                for comp, per in product.components:
                    seq += 10
                    cid = self.ids.take("row")
                    self.batch.add(
                        "order_rows",
                        (
                            cid,
                            oid,
                            seq,
                            comp.id,
                            comp.sku,
                            comp.name,
                            qty * per,
                            "0.0000",
                            m4(comp.cost),
                            "0.00",
                            "0.0000",
                            "0.00",
                            rate_s,
                            tax_code,
                            nominal,
                            0,
                            1,
                            rid,
                            None,
                        ),
                    )
                    if comp.tracked:
                        out.ship_lines.append(ShipLine(cid, comp, qty * per, top_index, per))
            elif product.tracked:
                out.ship_lines.append(ShipLine(rid, product, qty, top_index, 1))
            seq += 10
        return out

    def _shipping_row(self, oid: int, priced: Priced, method: int, cost: int, tax_code: str, rate: int) -> int:
        if cost <= 0:
            return 0
        tax = tax_of(cost, rate)
        seq = 10 * (len(priced.top) + sum(len(t.product.components) for t in priced.top) + 1)
        self.batch.add(
            "order_rows",
            (
                self.ids.take("row"),
                oid,
                seq,
                None,
                None,
                f"Shipping – {METHOD_NAMES[method]}",
                1,
                m4(cost),
                "0.0000",
                "0.00",
                m4(cost),
                m2(tax),
                rate_string(rate),
                tax_code,
                "4040",
                0,
                0,
                0,
                None,
            ),
        )
        priced.net += cost
        priced.tax += tax
        return tax

    def _pick_lines(self, pool_web: bool, at: int, b2b: bool) -> list[tuple[Product, int, int, int]]:
        rng = self.rng
        pool = self.world.web_products if pool_web else self.world.products
        count = 1 + (rng.random() < 0.5) + (rng.random() < 0.3) + (rng.random() < 0.15) + (rng.random() < 0.05)
        picked: dict[int, tuple[Product, int, int, int]] = {}
        for _ in range(count):
            p = pool.pick(rng, at, 1.3)
            if p is None or p.id in picked:
                continue
            qty = pick(rng, (5, 10, 12, 20, 24, 50)) if b2b else pick(rng, (1, 1, 1, 1, 2, 2, 3))
            unit = p.price * 7 // 10 if b2b else p.price
            disc = 10 if not pool_web and not b2b and rng.random() < 0.05 else 0
            picked[p.id] = (p, qty, unit, disc)
        return list(picked.values())

    # ------------------------------------------------------------------ sales orders
    def _so_channel(self, at: int) -> tuple[int, Contact]:
        rng, w = self.rng, self.world
        r = rng.random()
        if r < 0.45:
            contact = w.b2b_web.pick(rng, at) if rng.random() < 0.06 and w.b2b_web.items else None
            return STOREFRONT_CHANNEL_ID, contact or w.b2c.pick(rng, at)
        if r < 0.62 and w.b2b.items:
            return WHOLESALE_CHANNEL_ID, w.b2b.pick(rng, at)
        if r < 0.80:
            return AMAZON_CHANNEL_ID, w.b2c.pick(rng, at)
        return PHONE_CHANNEL_ID, w.b2c.pick(rng, at)

    def _so_state(self, channel: int, age: int) -> str:
        r = self.rng.random()
        if r < 0.03:
            return "cancelled"
        if r < 0.05 and channel in (PHONE_CHANNEL_ID, WHOLESALE_CHANNEL_ID):
            return "draft"
        r = self.rng.random()
        if age > 21 * DAY_MS:
            return "invoiced" if r < 0.97 else "backorder"
        if age > 3 * DAY_MS:
            return "invoiced" if r < 0.6 else ("ready" if r < 0.85 else "awaiting")
        return "new" if r < 0.55 else ("awaiting" if r < 0.7 else "ready")

    def sales_order(
        self,
        oid: int,
        created: int,
        *,
        channel: int | None = None,
        contact: Contact | None = None,
        state: str | None = None,
        bc_order_id: int | None = None,
    ) -> Created:
        rng, clock = self.rng, self.world.clock_ms
        if channel is None or contact is None:
            channel, contact = self._so_channel(created)
        b2b = contact.kind == "b2b"
        web = channel == STOREFRONT_CHANNEL_ID
        state = state or self._so_state(channel, clock - created)
        lines = self._pick_lines(web, created, b2b) or self._pick_lines(False, created, b2b)
        tax_code, rate = TAX_EXEMPT if b2b else TAX_RETAIL
        method = self._method(channel)
        priced = self._write_rows(oid, lines, tax_code, rate, "4000")
        ship_cost = 0
        if web or channel == PHONE_CHANNEL_ID:
            ship_cost = 0 if method in (6, 7) or priced.net >= 7500 else {1: 599, 2: 999, 3: 2499}.get(method, 799)
        ship_tax = self._shipping_row(oid, priced, method, ship_cost, tax_code, rate)
        wh = CHANNEL_WAREHOUSE[channel] if rng.random() < 0.85 else pick(rng, (1, 2, 3))
        notes: list[Note] = []
        if state in ("invoiced", "ready", "backorder") and priced.ship_lines:
            groups = group_lines(rng, priced.ship_lines, wh)
            ship_count = (
                len(groups)
                if state == "invoiced"
                else (
                    rr(rng, 1, len(groups)) if len(groups) > 1 and (state == "backorder" or rng.random() < 0.35) else 0
                )
            )
            notes = write_notes(
                self.batch,
                self.ids,
                rng,
                order_id=oid,
                groups=groups,
                order_wh=wh,
                method_id=method,
                ready_ms=created + rr(rng, 30 * MINUTE_MS, 2 * DAY_MS),
                clock_ms=clock,
                ship_count=ship_count,
                priority=rng.random() < 0.05,
            )
        all_qty = sum(s.quantity for s in priced.ship_lines)
        times = [created] + [n.shipped_ms or n.created_ms for n in notes]
        invoice_ms = cancel_ms = None
        if state == "invoiced":
            invoice_ms = past(rng, max(times) + rr(rng, HOUR_MS), clock, max(times))
            times.append(invoice_ms)
        elif state == "cancelled":
            cancel_ms = past(rng, created + rr(rng, HOUR_MS, 5 * DAY_MS), clock, created)
            times.append(cancel_ms)
        payment = self._so_payment(state, web, b2b, invoice_ms)
        status = {
            "invoiced": 4,
            "cancelled": 5,
            "draft": pick(rng, (1, 2)),
            "backorder": 16,
            "ready": 16,
            "awaiting": 15,
            "new": 14 if web else 3,
        }[state]
        updated = past(rng, max(times) + (rr(rng, 10 * DAY_MS) if rng.random() < 0.2 else 0), clock, max(times))
        ext_ref: str | None = None
        placed = created
        if web:
            bc_order_id = bc_order_id or self.ids.take("bc_order")
            ext_ref = str(bc_order_id)
            placed = created - rr(rng, MINUTE_MS, 20 * MINUTE_MS)
            write_bc_order(
                self.batch,
                self.ids,
                rng,
                self.world,
                bc_id=bc_order_id,
                contact=contact,
                placed_ms=placed,
                lines=priced.top,
                method_id=method,
                ship_net=ship_cost,
                ship_tax=ship_tax,
                notes=notes,
                payment_status="pending" if state == "awaiting" else "captured",
                status_id=bc_status(
                    notes,
                    sum(t.quantity for t in priced.top),
                    paid=payment == "PAID",
                    cancel_ms=cancel_ms,
                    clock_ms=clock,
                ),
                clock_ms=clock,
            )
        elif channel == AMAZON_CHANNEL_ID:
            ext_ref = f"{ri(rng, 111, 114)}-{rr(rng, 10**7):07d}-{rr(rng, 10**7):07d}"
        tax_date = due = None
        if invoice_ms is not None:
            tax_date = local_midnight(invoice_ms)
            due = utc_midnight(invoice_ms) + contact.terms * DAY_MS
        ship_code = shipping_status(len(priced.ship_lines), notes, all_qty)
        open_stock = "SOA" if priced.ship_lines else "NON"
        self.batch.add(
            "orders",
            order_row(
                id=oid,
                order_type_code="SO",
                status_id=status,
                contact_id=contact.id,
                channel_id=channel,
                warehouse_id=wh,
                external_ref=ext_ref,
                customer_ref=f"PO-{ri(rng, 1000, 99999)}" if b2b else None,
                price_list_id=contact.price_list_id,
                total_net=m2(priced.net),
                total_tax=m2(priced.tax),
                total_value=m2(priced.net + priced.tax),
                payment_status=payment,
                shipping_status_code=ship_code,
                stock_status_code="SON" if state == "cancelled" else open_stock,
                allocation_status_code="ANR" if state in ("cancelled", "draft") else "AAA",
                invoice_reference=f"SI-{100000 + oid}" if invoice_ms else None,
                tax_date_ms=tax_date,
                due_date_ms=due,
                shipping_method_id=method,
                delivery_date_ms=utc_midnight(created) + ri(rng, 3, 7) * DAY_MS if rng.random() < 0.2 else None,
                placed_on_ms=placed,
                created_ms=created,
                updated_ms=updated,
                closed_ms=invoice_ms or cancel_ms,
                created_by_id=SYSTEM_USER_ID
                if channel in (STOREFRONT_CHANNEL_ID, AMAZON_CHANNEL_ID)
                else pick(rng, self.world.staff_ids),
                staff_owner_contact_id=pick(rng, self.world.staff_ids) if b2b else 0,
                installed_integration_instance_id=BC_INTEGRATION_INSTANCE_ID if web else None,
                version=1 + len(notes) * 2 + (invoice_ms is not None),
                billing_address_id=contact.def_address_id,
                delivery_address_id=contact.del_address_id,
            ),
        )
        if state == "invoiced":
            self.recent_so.append((oid, contact.id, priced.top, channel, rate))
        return Created(oid, "SO", bc_order_id if web else None)

    def _method(self, channel: int) -> int:
        choices = {
            STOREFRONT_CHANNEL_ID: (1, 1, 1, 2, 2, 3, 4, 6, 7, 7),
            WHOLESALE_CHANNEL_ID: (5, 5, 1, 1, 2),
            AMAZON_CHANNEL_ID: (1, 7),
            PHONE_CHANNEL_ID: (1, 2, 3),
        }
        return pick(self.rng, choices[channel])

    def _so_payment(self, state: str, web: bool, b2b: bool, invoice_ms: int | None) -> str:
        r = self.rng.random()
        if state in ("cancelled", "draft"):
            return "NOT_APPLICABLE"
        if state == "awaiting":
            return "UNPAID"
        if invoice_ms is not None:
            if b2b:
                recent = self.world.clock_ms - invoice_ms < 45 * DAY_MS
                return "UNPAID" if recent and r < 0.5 else ("PARTIALLY_PAID" if r < 0.6 else "PAID")
            return "PAID" if r < 0.97 else "PARTIALLY_PAID"
        return "PAID" if web else "UNPAID"

    def storefront_only(self, at: int, contact: Contact | None = None) -> int:
        """A storefront order that never reached Brightpearl (missed import, abandoned, declined...)."""
        rng = self.rng
        contact = contact or self.world.b2c.pick(rng, at)
        lines = self._pick_lines(True, at, False)
        if not lines:
            return 0
        top = []
        for p, qty, unit, _ in lines:
            net = unit * qty
            top.append(TopLine(0, p, qty, unit, net, tax_of(net, TAX_RETAIL[1])))
        method = self._method(STOREFRONT_CHANNEL_ID)
        cost = 0 if method in (6, 7) else 599
        status, pay = storefront_only_status(rng)
        bc_id = self.ids.take("bc_order")
        write_bc_order(
            self.batch,
            self.ids,
            rng,
            self.world,
            bc_id=bc_id,
            contact=contact,
            placed_ms=at,
            lines=top,
            method_id=method,
            ship_net=cost,
            ship_tax=tax_of(cost, TAX_RETAIL[1]),
            notes=[],
            status_id=status,
            payment_status=pay,
            clock_ms=self.world.clock_ms,
        )
        return bc_id
