"""`POST /_sandbox/changes`: realistic activity at the sandbox clock, deterministic per (seed, call number).

Change times are spread over (previous call's clock, current clock]; with a clock that did not move they
all happen "now". `silent_edits` change an order without bumping updatedOn (the unreliable-updatedOn quirk).
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

from ..state import Store
from .batch import Batch, Ids
from .changes_ops import (
    create_contacts,
    create_notes,
    delete_contacts,
    delete_orders,
    edit_contacts,
    edit_products,
    move_statuses,
    rename_storefront_skus,
    ship_notes,
    silent_edits,
    stock_changes,
)
from .currency import add_payments, assign_currencies
from .fastrand import pick, rr
from .mutations import next_id
from .orders import OrderFactory
from .reference import AMAZON_CHANNEL_ID, PHONE_CHANNEL_ID, STOREFRONT_CHANNEL_ID, WHOLESALE_CHANNEL_ID
from .world import load_world

DEFAULT_COUNTS: dict[str, int] = {
    "contacts_created": 2,
    "orders_created": 6,
    "storefront_orders_created": 6,
    "storefront_only_orders": 2,
    "status_changes": 8,
    "goods_out_created": 5,
    "goods_out_shipped": 5,
    "storefront_goods_out_shipped": 0,  # notes of storefront orders only (tests that need a shipment to push)
    "product_edits": 4,
    "contact_edits": 4,
    "stock_changes": 6,
    "order_deletions": 1,
    "contact_deletions": 1,
    "silent_edits": 3,
    # Deliberate inconsistencies, none by default (tests inject them): storefront SKUs renamed on the storefront only.
    "storefront_sku_renames": 0,
}


class Timeline:
    def __init__(self, rng: random.Random, since: int, now: int) -> None:
        self.rng, self.since, self.now = rng, since, now

    def at(self) -> int:
        return self.now if self.now <= self.since else self.since + 1 + rr(self.rng, self.now - self.since)


def _new_orders(
    conn: sqlite3.Connection, store: Store, rng: random.Random, counts: dict[str, int], t: Timeline, seed: int
) -> dict[str, list[int]]:
    world = load_world(conn, seed, t.now, live_only=True)
    ids, batch = Ids.after_existing(conn), Batch()
    factory = OrderFactory(world, ids, batch, rng)
    out: dict[str, list[int]] = {
        "orders_created": [],
        "storefront_orders_created": [],
        "storefront_orders_created_bc": [],
        "storefront_only_orders": [],
    }
    next_order = next_id(conn, "orders")
    for _ in range(counts["orders_created"]):
        channel = pick(rng, (PHONE_CHANNEL_ID, WHOLESALE_CHANNEL_ID, AMAZON_CHANNEL_ID))
        contact = (world.b2b if channel == WHOLESALE_CHANNEL_ID and world.b2b.items else world.b2c).pick(rng, t.now)
        factory.sales_order(next_order, t.at(), channel=channel, contact=contact, state="new")
        out["orders_created"].append(next_order)
        next_order += 1
    for _ in range(counts["storefront_orders_created"]):
        contact = world.b2c.pick(rng, t.now)
        made = factory.sales_order(next_order, t.at(), channel=STOREFRONT_CHANNEL_ID, contact=contact, state="new")
        out["storefront_orders_created"].append(next_order)
        out["storefront_orders_created_bc"].append(made.bc_order_id or 0)
        next_order += 1
    for _ in range(counts["storefront_only_orders"]):
        bc_id = factory.storefront_only(t.at())
        if bc_id:
            out["storefront_only_orders"].append(bc_id)
    batch.flush(conn)
    return out


def apply_changes(store: Store, counts: dict[str, int]) -> dict[str, Any]:
    wanted = {**DEFAULT_COUNTS, **counts}
    with store.transaction() as conn:
        call = int(store.get_meta("changes_calls", "0") or 0) + 1
        seed = int(store.get_meta("seed", "0") or 0)
        now = store.now_ms()
        since = int(store.get_meta("changes_clock_ms", str(now)) or now)
        rng = random.Random(f"{seed}/changes/{call}")
        t = Timeline(rng, since, now)
        result: dict[str, list[int]] = {}
        result["contacts_created"] = create_contacts(conn, rng, wanted["contacts_created"], t.at)
        result.update(_new_orders(conn, store, rng, wanted, t, seed))
        result["status_changes"] = move_statuses(conn, rng, wanted["status_changes"], t.at)
        result["goods_out_created"] = create_notes(conn, rng, wanted["goods_out_created"], t.at, seed, now)
        result["goods_out_shipped"] = ship_notes(conn, rng, wanted["goods_out_shipped"], t.at, now)
        if n := wanted["storefront_goods_out_shipped"]:
            result["goods_out_shipped"] += ship_notes(conn, rng, n, t.at, now, storefront_only=True)
        result["product_edits"] = edit_products(conn, rng, wanted["product_edits"], t.at)
        result["contact_edits"] = edit_contacts(conn, rng, wanted["contact_edits"], t.at)
        result["stock_changes"] = stock_changes(conn, rng, wanted["stock_changes"])
        result["order_deletions"] = delete_orders(conn, rng, wanted["order_deletions"])
        result["contact_deletions"] = delete_contacts(conn, rng, wanted["contact_deletions"])
        result["silent_edits"] = silent_edits(conn, rng, wanted["silent_edits"])
        result["storefront_sku_renames"] = rename_storefront_skus(conn, rng, wanted["storefront_sku_renames"], t.at)
        # new orders get their currency; orders paid by now (new web orders, invoiced ones) their payment
        assign_currencies(conn, min(result["orders_created"] + result["storefront_orders_created"], default=1 << 62))
        add_payments(conn, now + 1)
        store.set_meta("changes_calls", call)
        store.set_meta("changes_clock_ms", now)
    return {"clock_ms": now, "call": call, "changes": result}
