"""Products (variants, bundles, services), stock per warehouse, and the storefront catalog + inventory."""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field

from . import vocab
from .fastrand import pick, ri, rr
from .reference import CATEGORIES
from .timeutil import DAY_MS, HISTORY_START_MS, past

FIRST_PRODUCT_ID = 1000
FIRST_GROUP_ID = 200
FIRST_BC_PRODUCT_ID = 100
NOUN_CATEGORIES = {
    "TEA": 303,
    "ESPR": 303,
    "MUG": 297,
    "BORD": 297,
    "CNDL": 297,
    "BLNK": 297,
    "NOTE": 298,
    "JRNL": 298,
    "BPCK": 302,
    "BOTL": 302,
    "UMBR": 302,
    "YOGA": 302,
}


@dataclass(slots=True)
class NewProduct:
    id: int
    sku: str
    name: str
    group: int | None
    kind: str  # standard | bundle | service
    price: int  # cents
    web: bool
    variations: list[dict[str, object]] = field(default_factory=list)
    components: list[tuple[int, int]] = field(default_factory=list)


def _ean13(rng: random.Random) -> str:
    digits = [rr(rng, 10) for _ in range(12)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def _codes(rng: random.Random, sku_stem: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(ean, upc, isbn, mpn) with realistic gaps: null and empty string both occur."""
    r = rng.random()
    ean = _ean13(rng) if r < 0.6 else ("" if r < 0.8 else None)
    r = rng.random()
    upc = _ean13(rng)[1:] if r < 0.35 else ("" if r < 0.5 else None)
    isbn = "978" + _ean13(rng)[3:] if sku_stem in ("NOTE", "JRNL") and rng.random() < 0.3 else None
    mpn = f"MPN-{rr(rng, 10**6):06d}" if rng.random() < 0.3 else None
    return ean, upc, isbn, mpn


def _plan(rng: random.Random, total: int) -> list[NewProduct]:
    """Decide names, SKUs, groups and kinds; ids ascend in creation order."""
    out: list[NewProduct] = []
    group_id = FIRST_GROUP_ID - 1
    while len(out) < total:
        adj = pick(rng, vocab.PRODUCT_ADJECTIVES)
        noun, stem = pick(rng, vocab.PRODUCT_NOUNS)
        pid = FIRST_PRODUCT_ID + len(out)
        name, base_sku = f"{adj} {noun}", f"{stem}-{pid:06d}"
        price = pick(rng, (499, 899, 1299, 1599, 1999, 2499, 2999, 3999, 4999, 7999, 12999))
        web = rng.random() < 0.8
        r = rng.random()
        if r < 0.3 and stem in vocab.SIZED_NOUNS and len(out) + 6 < total:
            group_id += 1
            colours = rng.sample(vocab.COLOURS, pick(rng, (1, 1, 2)))
            sizes = vocab.SIZES[rr(rng, 2) :]
            for colour in colours:
                for size in sizes:
                    v = [
                        {
                            "optionId": 1,
                            "optionName": "Size",
                            "optionValueId": 1 + vocab.SIZES.index(size),
                            "optionValue": size,
                        },
                        {
                            "optionId": 2,
                            "optionName": "Colour",
                            "optionValueId": 5 + vocab.COLOURS.index(colour),
                            "optionValue": colour,
                        },
                    ]
                    out.append(
                        NewProduct(
                            FIRST_PRODUCT_ID + len(out),
                            f"{base_sku}-{colour[:3].upper()}-{size}",
                            f"{name} – {colour} / {size}",
                            group_id,
                            "standard",
                            price,
                            web,
                            v,
                        )
                    )
        elif (kind_r := rng.random()) < 0.04 and len(out) > 20:
            parts = rng.sample([p for p in out[-40:] if p.kind == "standard"], 2 + (rng.random() < 0.4))
            comps = [(p.id, pick(rng, (1, 1, 2))) for p in parts]
            bundle_price = int(sum(p.price * q for p, (_, q) in zip(parts, comps, strict=True)) * 0.85)
            out.append(
                NewProduct(
                    pid,
                    f"BNDL-{pid:06d}",
                    f"{adj} Gift Set 🎁",
                    None,
                    "bundle",
                    bundle_price,
                    rng.random() < 0.5,
                    components=comps,
                )
            )
        elif kind_r < 0.07:
            svc = pick(rng, (("Gift Wrapping", 499), ("Personal Engraving", 1299), ("Extended Warranty", 999)))
            out.append(NewProduct(pid, f"SVC-{pid:06d}", svc[0], None, "service", svc[1], rng.random() < 0.3))
        else:
            out.append(NewProduct(pid, base_sku, name, None, "standard", price, web))
    return out[:total]


def generate_products(
    conn: sqlite3.Connection, seed: int, total: int, clock_ms: int, supplier_ids: list[int]
) -> list[NewProduct]:
    rng = random.Random(f"{seed}/products")
    planned = _plan(rng, total)
    span = clock_ms - HISTORY_START_MS - 14 * DAY_MS
    times = sorted(HISTORY_START_MS + (rr(rng, 31 * DAY_MS) if rng.random() < 0.6 else rr(rng, span)) for _ in planned)
    rows, stock_rows, comp_rows = [], [], []
    for p, created in zip(planned, times, strict=True):
        stem = p.sku.split("-")[0]
        ean, upc, isbn, mpn = _codes(rng, stem)
        status = "DISCONTINUED" if rng.random() < 0.05 else "LIVE"
        p.web = p.web and status == "LIVE"
        updated = past(rng, created + (rr(rng, 400 * DAY_MS) if rng.random() < 0.6 else 0), clock_ms, created)
        cats = [NOUN_CATEGORIES.get(stem, pick(rng, CATEGORIES)[0])]
        if rng.random() < 0.3:
            cats.append(pick(rng, (300, 301)))
        tracked = p.kind == "standard"
        rows.append(
            (
                p.id,
                p.sku,
                p.name,
                ri(rng, 1, 8),
                {"standard": 1, "bundle": 2, "service": 3}[p.kind],
                p.group,
                ean,
                upc,
                ean or "",
                isbn,
                mpn,
                status,
                int(tracked),
                int(p.kind == "bundle"),
                json.dumps(p.variations, ensure_ascii=False) if p.variations else None,
                f"{p.price / 100:.4f}",
                f"{p.price * ri(rng, 35, 60) / 10000:.4f}",
                f"{ri(rng, 50, 3000) / 1000:.3f}",
                created,
                updated,
                updated,
                0,
                ",".join(str(c) for c in dict.fromkeys(cats)),
                pick(rng, supplier_ids),
            )
        )
        comp_rows += [(p.id, cid, qty) for cid, qty in p.components]
        if tracked:
            for wh, chance in ((1, 1.0), (2, 0.5), (3, 0.25)):
                if rng.random() < chance:
                    in_stock = 0 if rng.random() < 0.1 else ri(rng, 1, 400)
                    stock_rows.append(
                        (p.id, wh, in_stock, min(in_stock, ri(rng, 0, 20)), ri(rng, 0, 50) if rng.random() < 0.1 else 0)
                    )
    conn.executemany(f"INSERT INTO products VALUES ({','.join('?' * 24)})", rows)
    conn.executemany("INSERT INTO bundle_components VALUES (?,?,?)", comp_rows)
    conn.executemany("INSERT INTO stock VALUES (?,?,?,?,?)", stock_rows)
    return planned


def generate_bc_catalog(conn: sqlite3.Connection, seed: int, products: list[NewProduct]) -> None:
    """One storefront product per Brightpearl group/standalone web product; ~3% of web SKUs left out."""
    rng = random.Random(f"{seed}/bc_catalog")
    on_hand = {
        pid: max(0, s - a)
        for pid, s, a in conn.execute("SELECT product_id, in_stock, allocated FROM stock WHERE warehouse_id = 1")
    }
    times = {
        pid: (c, u, upc or "")
        for pid, c, u, upc in conn.execute("SELECT id, created_ms, updated_ms, upc FROM products")
    }
    groups: dict[object, list[NewProduct]] = {}
    for p in products:
        if p.web:
            groups.setdefault(p.group if p.group is not None else f"p{p.id}", []).append(p)
    prod_rows, var_rows, inv_rows = [], [], []
    for members in groups.values():
        if rng.random() < 0.03:
            continue  # deliberately missing from the storefront catalog
        bc_id = FIRST_BC_PRODUCT_ID + len(prod_rows)
        first = members[0]
        tracking = "none" if first.kind != "standard" else ("variant" if first.group else "product")
        level = 0
        base_variant = None
        for p in members:
            var_id = len(var_rows) + 1
            qty = on_hand.get(p.id, 0)
            if rng.random() < 0.1:
                qty = max(0, qty + ri(rng, -5, 5))  # drift between the two systems
            level += qty
            options = [{"option_display_name": v["optionName"], "label": v["optionValue"]} for v in p.variations]
            var_rows.append(
                (
                    var_id,
                    bc_id,
                    p.sku,
                    times[p.id][2],
                    f"{p.price / 100:.4f}",
                    qty,
                    json.dumps(options, ensure_ascii=False),
                )
            )
            if tracking != "none":
                inv_rows.append((1, var_id, qty))
            base_variant = var_id if not first.group else None
        name = first.name.split(" – ")[0]
        sku = first.sku if not first.group else first.sku.rsplit("-", 2)[0]
        created, updated, _ = times[first.id]
        prod_rows.append(
            (
                bc_id,
                name,
                sku,
                "physical",
                f"{first.price / 100:.4f}",
                tracking,
                level,
                base_variant,
                created + 3_600_000,
                max(updated, created + 3_600_000),
            )
        )
    for sku, name, price in (("BC-GIFTCARD", "Gift Card", 2500), ("BC-SAMPLE", "Sample Pack", 0)):
        bc_id = FIRST_BC_PRODUCT_ID + len(prod_rows)  # storefront-only products (no Brightpearl SKU)
        var_rows.append((len(var_rows) + 1, bc_id, sku, "", f"{price / 100:.4f}", 0, "[]"))
        prod_rows.append(
            (
                bc_id,
                name,
                sku,
                "digital" if price else "physical",
                f"{price / 100:.4f}",
                "none",
                0,
                len(var_rows),
                HISTORY_START_MS,
                HISTORY_START_MS,
            )
        )
    conn.executemany("INSERT INTO bc_products VALUES (?,?,?,?,?,?,?,?,?,?)", prod_rows)
    conn.executemany("INSERT INTO bc_variants VALUES (?,?,?,?,?,?,?)", var_rows)
    conn.executemany("INSERT INTO bc_inventory VALUES (?,?,?)", inv_rows)
