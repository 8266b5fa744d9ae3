"""Goods-out notes: one per warehouse, sometimes split (partial shipments), shipped or not, with tracking."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .batch import Batch, Ids
from .fastrand import ri, rr
from .reference import SHIPPING_METHODS, SYSTEM_USER_ID
from .timeutil import DAY_MS, HOUR_MS, MINUTE_MS, past
from .world import Product

CARRIER = {m[0]: m[4] for m in SHIPPING_METHODS}


@dataclass(slots=True)
class ShipLine:
    row_id: int
    product: Product
    quantity: int
    top_index: int  # index of the order's top-level line (bundle children point at their bundle)
    per_top: int  # component quantity per bundle unit (1 for plain lines)


@dataclass(slots=True)
class Note:
    id: int
    lines: list[ShipLine]
    created_ms: int
    shipped_ms: int | None
    tracking: str


def tracking_reference(rng: random.Random, method_id: int) -> str:
    carrier = CARRIER.get(method_id, "UPS")
    if not carrier or rng.random() < 0.08:
        return ""  # pickups and the occasional note shipped without a tracking number
    if carrier == "UPS":
        return f"1Z{rng.getrandbits(28):07X}{rng.getrandbits(30):09d}"[:18]
    if carrier == "USPS":
        return f"9400{rng.getrandbits(60):018d}"[:22]
    return f"{rr(rng, 10**12):012d}"


def group_lines(rng: random.Random, lines: list[ShipLine], order_wh: int) -> list[list[ShipLine]]:
    """One note per warehouse; ~10% of multi-line notes split in two, ~4% split a single line's quantity."""
    by_wh: dict[int, list[ShipLine]] = {}
    for line in lines:
        wh = (
            order_wh
            if order_wh in line.product.warehouses or not line.product.warehouses
            else line.product.warehouses[0]
        )
        by_wh.setdefault(wh, []).append(line)
    groups: list[list[ShipLine]] = []
    for wh_lines in by_wh.values():
        r = rng.random()
        if len(wh_lines) >= 2 and r < 0.10:
            cut = rr(rng, 1, len(wh_lines))
            groups += [wh_lines[:cut], wh_lines[cut:]]
        elif r < 0.14 and wh_lines[0].quantity >= 2:
            first = wh_lines[0]
            part = rr(rng, 1, first.quantity)
            a = ShipLine(first.row_id, first.product, part, first.top_index, first.per_top)
            b = ShipLine(first.row_id, first.product, first.quantity - part, first.top_index, first.per_top)
            groups += [[a], [b, *wh_lines[1:]]]
        else:
            groups.append(wh_lines)
    return groups


def note_warehouse(lines: list[ShipLine], order_wh: int) -> int:
    wh = lines[0].product.warehouses
    return order_wh if order_wh in wh or not wh else wh[0]


def write_notes(
    batch: Batch,
    ids: Ids,
    rng: random.Random,
    *,
    order_id: int,
    groups: list[list[ShipLine]],
    order_wh: int,
    method_id: int,
    ready_ms: int,
    clock_ms: int,
    ship_count: int,
    priority: bool = False,
) -> list[Note]:
    """Create the notes; the first `ship_count` are shipped. Times never pass the sandbox clock."""
    notes: list[Note] = []
    t = ready_ms
    for seq, lines in enumerate(groups, start=1):
        gid = ids.take("gon")
        created = past(rng, t, clock_ms, 0)
        shipped = None
        printed = picked = packed = None
        if seq <= ship_count:
            shipped = past(rng, created + HOUR_MS * 2 + rr(rng, 3 * DAY_MS), clock_ms, created)
            printed = picked = packed = shipped  # shipping auto-creates the print/pick/pack events
            if rng.random() < 0.5:
                printed = min(shipped, created + rr(rng, 1, 4) * 10 * MINUTE_MS)
                picked = packed = min(shipped, printed + 15 * MINUTE_MS)
        elif rng.random() < 0.4:
            printed = past(rng, created + 20 * MINUTE_MS, clock_ms, created)
            picked = printed if rng.random() < 0.5 else None
        tracking = tracking_reference(rng, method_id) if shipped else ""
        events = 1 + sum(x is not None for x in (printed, picked, packed, shipped))
        batch.add(
            "goods_out_notes",
            (
                gid,
                order_id,
                note_warehouse(lines, order_wh),
                0,
                int(priority),
                int(printed is not None),
                int(picked is not None),
                int(packed is not None),
                int(shipped is not None),
                printed,
                picked,
                packed,
                shipped,
                method_id,
                tracking,
                ri(rng, 1, 3) if shipped else None,
                f"{ri(rng, 200, 9000) / 1000:.3f}" if shipped else None,
                created,
                created,
                SYSTEM_USER_ID,
                seq,
                gid * 10 + events,
                0,
            ),
        )
        merged: dict[tuple[int, int], int] = {}
        for line in lines:
            key = (line.row_id, line.product.id)
            merged[key] = merged.get(key, 0) + line.quantity
        for (row_id, product_id), qty in merged.items():
            batch.add("goods_out_note_rows", (gid, row_id, product_id, qty, 0))
        notes.append(Note(gid, lines, created, shipped, tracking))
        t = (shipped or created) + rr(rng, HOUR_MS, 4 * DAY_MS)
    return notes


def shipping_status(total_lines: int, notes: list[Note], all_quantity: int) -> str:
    if total_lines == 0:
        return "NST"
    shipped = sum(line.quantity for n in notes if n.shipped_ms for line in n.lines)
    if shipped == 0:
        return "SNS"
    return "ASS" if shipped >= all_quantity else "SPS"
