"""The BigCommerce side of storefront orders: bc_orders, lines, shipping address and synced shipments.

History model: a shipment older than SYNC_LAG was already pushed to the storefront (bc_shipments row,
status Shipped / Partially Shipped); newer ones are still waiting for the sync to push them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from . import vocab
from .batch import Batch, Ids
from .fastrand import pick, rr
from .fulfil import CARRIER, Note
from .money import m4, m4_from_ten_thousandths
from .reference import SHIPPING_METHODS
from .timeutil import DAY_MS, HOUR_MS, MINUTE_MS, past
from .world import Contact, Product, World

SYNC_LAG_MS = 7 * DAY_MS
BC_METHOD_NAMES = {m[0]: m[5] for m in SHIPPING_METHODS if m[5]}
GIFT_MESSAGES = (
    "Happy birthday! 🎂",
    "Joyeux anniversaire, Zoë ✨",
    "お誕生日おめでとう",
    "Congrats on the new home 🏡",
    "Please leave at the back door",
    "",
)


@dataclass(slots=True)
class TopLine:
    row_id: int
    product: Product
    quantity: int
    unit: int  # cents
    net: int
    tax: int


def bc_address_json(world: World, contact: Contact, address_id: int) -> str:
    """Storefront address JSON for a contact's postal address (memoised: contacts order many times)."""
    key = (contact.id, address_id, contact.email)
    cached = world.bc_address_cache.get(key)
    if cached is None:
        if len(world.bc_address_cache) > 50_000:
            world.bc_address_cache.clear()
        cached = json.dumps(bc_address(world, contact, address_id), ensure_ascii=False)
        world.bc_address_cache[key] = cached
    return cached


def bc_address(world: World, contact: Contact, address_id: int) -> dict[str, str]:
    a = world.address(address_id)
    iso = a.get("countryIsoCode", "US")
    return {
        "first_name": contact.first,
        "last_name": contact.last,
        "company": contact.company,
        "street_1": a.get("addressLine1", ""),
        "street_2": a.get("addressLine2", ""),
        "city": a.get("addressLine3", ""),
        "state": a.get("addressLine4", ""),
        "zip": a.get("postalCode", ""),
        "country": vocab.COUNTRIES.get(iso, (0, iso, ""))[1],
        "country_iso2": iso,
        "phone": contact.phone,
        "email": contact.email or "",
    }


def bc_status(notes: list[Note], total_qty: int, *, paid: bool, cancel_ms: int | None, clock_ms: int) -> int:
    synced = clock_ms - SYNC_LAG_MS
    if cancel_ms is not None and cancel_ms <= synced:
        return 5
    shipped = sum(ln.quantity for n in notes if n.shipped_ms and n.shipped_ms <= synced for ln in n.lines)
    if shipped:
        return 2 if shipped >= total_qty else 3
    return 11 if paid else 7


def write_bc_order(
    batch: Batch,
    ids: Ids,
    rng: random.Random,
    world: World,
    *,
    bc_id: int,
    contact: Contact,
    placed_ms: int,
    lines: list[TopLine],
    method_id: int,
    ship_net: int,
    ship_tax: int,
    notes: list[Note],
    status_id: int,
    payment_status: str,
    clock_ms: int,
) -> None:
    """Write one storefront order (also used for storefront-only orders, with no notes)."""
    addr_id = ids.take("bc_address")
    line_ids = [ids.take("bc_line") for _ in lines]
    shipped_by_top: dict[int, int] = {}
    last_ship = None
    synced = clock_ms - SYNC_LAG_MS
    for note in notes:
        if not note.shipped_ms or note.shipped_ms > synced:
            continue
        items: dict[int, int] = {}
        for ln in note.lines:
            qty = ln.quantity // ln.per_top
            items[ln.top_index] = qty if ln.per_top > 1 else items.get(ln.top_index, 0) + qty
        for top, qty in items.items():
            shipped_by_top[top] = shipped_by_top.get(top, 0) + qty
        at = note.shipped_ms + HOUR_MS
        last_ship = max(last_ship or 0, at)
        carrier = CARRIER.get(method_id, "").split(" ")[0].lower()
        payload = [
            {"order_product_id": line_ids[t], "product_id": lines[t].product.bc_product_id, "quantity": q}
            for t, q in sorted(items.items())
        ]
        batch.add(
            "bc_shipments",
            (
                ids.take("bc_shipment"),
                bc_id,
                addr_id,
                note.tracking,
                carrier if note.tracking else "",
                BC_METHOD_NAMES.get(method_id, ""),
                "",
                "",
                json.dumps(payload, separators=(",", ":")),
                contact.bc_customer_id,
                at,
            ),
        )
    items_total = items_shipped = 0
    for i, (line, line_id) in enumerate(zip(lines, line_ids, strict=True)):
        q_shipped = min(line.quantity, shipped_by_top.get(i, 0))
        items_total += line.quantity
        items_shipped += q_shipped
        unit_tax = line.tax * 100 // line.quantity  # ten-thousandths of a dollar
        batch.add(
            "bc_order_products",
            (
                line_id,
                bc_id,
                line.product.bc_product_id,
                line.product.bc_variant_id,
                addr_id,
                line.product.name,
                line.product.sku,
                line.quantity,
                q_shipped,
                m4(line.unit),
                m4(line.unit),
                m4_from_ten_thousandths(line.unit * 100 + unit_tax),
                m4_from_ten_thousandths(unit_tax),
                m4(line.net),
                m4(line.net + line.tax),
                m4(line.tax),
                "physical",
            ),
        )
    sub_net = sum(x.net for x in lines)
    sub_tax = sum(x.tax for x in lines)
    batch.add(
        "bc_shipping_addresses",
        (
            addr_id,
            bc_id,
            bc_address_json(world, contact, contact.del_address_id),
            BC_METHOD_NAMES.get(method_id, "Standard Shipping"),
            items_total,
            items_shipped,
            m4(ship_net),
            m4(ship_net + ship_tax),
        ),
    )
    fully = items_total > 0 and items_shipped >= items_total
    modified = max(placed_ms + rr(rng, MINUTE_MS, 30 * MINUTE_MS), last_ship or 0)
    batch.add(
        "bc_orders",
        (
            bc_id,
            contact.bc_customer_id,
            status_id,
            1,
            "USD",
            m4(sub_net),
            m4(sub_net + sub_tax),
            m4(sub_tax),
            m4(ship_net),
            m4(ship_net + ship_tax),
            m4(sub_net + ship_net),
            m4(sub_net + sub_tax + ship_net + ship_tax),
            m4(sub_tax + ship_tax),
            items_total,
            items_shipped,
            pick(rng, ("Credit Card", "Credit Card", "PayPal", "Apple Pay")),
            payment_status,
            bc_address_json(world, contact, contact.def_address_id),
            "",
            pick(rng, GIFT_MESSAGES) if rng.random() < 0.08 else "",
            None,
            placed_ms,
            past(rng, modified, clock_ms, placed_ms),
            last_ship if fully else None,
            0,
        ),
    )


def storefront_only_status(rng: random.Random) -> tuple[int, str]:
    """Orders never imported into Brightpearl: mostly awaiting fulfilment, some that should not be imported."""
    r = rng.random()
    if r < 0.6:
        return 11, "captured"
    if r < 0.75:
        return 7, "pending"
    if r < 0.85:
        return 0, ""
    if r < 0.9:
        return 6, "declined"
    return 12, "held for review"
