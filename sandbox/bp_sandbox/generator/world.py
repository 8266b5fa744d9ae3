"""Compact in-memory view of master data that order generation picks from (loaded from the SQLite world).

Built once in the parent before worker processes fork, so workers share it copy-on-write; the change
simulator loads it again from the live database.
"""

from __future__ import annotations

import bisect
import json
import random
import sqlite3
from dataclasses import dataclass, field
from typing import Generic, TypeVar


@dataclass(slots=True)
class Product:
    id: int
    sku: str
    name: str
    price: int  # cents
    cost: int  # cents
    tracked: bool
    bundle: bool
    live: bool
    created_ms: int
    supplier_id: int
    warehouses: tuple[int, ...]
    components: list[tuple[Product, int]] = field(default_factory=list)
    bc_product_id: int = 0
    bc_variant_id: int = 0


@dataclass(slots=True)
class Contact:
    id: int
    kind: str  # staff | supplier | b2b | b2c
    created_ms: int
    first: str
    last: str
    company: str
    email: str | None
    phone: str
    def_address_id: int
    del_address_id: int
    terms: int
    price_list_id: int
    bc_customer_id: int = 0


T = TypeVar("T", Product, Contact)


@dataclass
class Pool(Generic[T]):
    """Items ordered by creation time; `pick` only returns items that existed at the given time."""

    items: list[T] = field(default_factory=list)
    created: list[int] = field(default_factory=list)

    def add(self, item: T) -> None:
        self.items.append(item)
        self.created.append(item.created_ms)

    def pick(self, rng: random.Random, at_ms: int, skew: float = 1.0) -> T | None:
        n = bisect.bisect_right(self.created, at_ms) or min(1, len(self.items))
        if not n:
            return None
        return self.items[int(n * rng.random() ** skew)]


@dataclass
class World:
    seed: int
    clock_ms: int
    products: Pool[Product] = field(default_factory=Pool)  # everything sellable in Brightpearl
    web_products: Pool[Product] = field(default_factory=Pool)  # on the storefront catalog
    by_supplier: dict[int, list[Product]] = field(default_factory=dict)
    b2c: Pool[Contact] = field(default_factory=Pool)
    b2b: Pool[Contact] = field(default_factory=Pool)
    b2b_web: Pool[Contact] = field(default_factory=Pool)  # B2B buyers with a storefront account
    suppliers: list[Contact] = field(default_factory=list)
    staff_ids: list[int] = field(default_factory=list)
    contacts: dict[int, Contact] = field(default_factory=dict)
    addresses: dict[int, str] = field(default_factory=dict)  # postal address id -> JSON snapshot
    bc_address_cache: dict[tuple[int, int, str | None], str] = field(default_factory=dict)

    def address(self, address_id: int) -> dict[str, str]:
        return json.loads(self.addresses[address_id])


def load_world(conn: sqlite3.Connection, seed: int, clock_ms: int, *, live_only: bool = False) -> World:
    world = World(seed=seed, clock_ms=clock_ms)
    bc_variants = {sku: (pid, vid) for vid, pid, sku in conn.execute("SELECT id, product_id, sku FROM bc_variants")}
    stock: dict[int, list[int]] = {}
    for pid, wh in conn.execute("SELECT product_id, warehouse_id FROM stock ORDER BY product_id, warehouse_id"):
        stock.setdefault(pid, []).append(wh)
    products: dict[int, Product] = {}
    for row in conn.execute(
        "SELECT id, sku, name, price, cost, stock_tracked, is_bundle, status, created_ms, primary_supplier_id "
        "FROM products WHERE deleted = 0 ORDER BY created_ms, id"
    ):
        pid, sku, name, price, cost, tracked, bundle, status, created, supplier = row
        bc = bc_variants.get(sku, (0, 0))
        p = Product(
            pid,
            sku,
            name,
            round(float(price) * 100),
            round(float(cost) * 100),
            bool(tracked),
            bool(bundle),
            status == "LIVE",
            created,
            supplier or 0,
            tuple(stock.get(pid, ())),
            bc_product_id=bc[0],
            bc_variant_id=bc[1],
        )
        products[pid] = p
    for bundle_id, comp_id, qty in conn.execute(
        "SELECT bundle_product_id, component_product_id, quantity FROM bundle_components ORDER BY 1, 2"
    ):
        if bundle_id in products and comp_id in products:
            products[bundle_id].components.append((products[comp_id], qty))
    for p in products.values():
        if live_only and not p.live:
            continue
        if p.bundle and not p.components:
            continue
        world.products.add(p)
        if p.bc_variant_id and p.live:
            world.web_products.add(p)
        if p.tracked and not p.bundle:
            world.by_supplier.setdefault(p.supplier_id, []).append(p)
    _load_contacts(conn, world)
    return world


def _load_contacts(conn: sqlite3.Connection, world: World) -> None:
    bc_ids = {email.lower(): cid for cid, email in conn.execute("SELECT id, email FROM bc_customers")}
    for row in conn.execute(
        "SELECT id, is_customer, is_supplier, is_staff, is_b2b, created_ms, first_name, last_name, "
        "coalesce(company_name, ''), email, coalesce(phone, ''), def_address_id, del_address_id, "
        "credit_term_days, price_list_id FROM contacts WHERE deleted = 0 ORDER BY created_ms, id"
    ):
        cid, is_cust, is_sup, is_staff, is_b2b, created, first, last, company, email, phone, d, dl, terms, pl = row
        kind = "staff" if is_staff else "supplier" if is_sup else "b2b" if is_b2b else "b2c" if is_cust else ""
        c = Contact(
            cid,
            kind,
            created,
            first or "",
            last or "",
            company,
            email,
            phone,
            d or 0,
            dl or d or 0,
            terms,
            pl or 2,
            bc_ids.get(email.lower(), 0) if email else 0,
        )
        world.contacts[cid] = c
        if kind == "staff":
            world.staff_ids.append(cid)
        elif kind == "supplier":
            world.suppliers.append(c)
        elif kind == "b2b":
            world.b2b.add(c)
            if c.bc_customer_id:
                world.b2b_web.add(c)
        elif kind == "b2c" and email:
            world.b2c.add(c)
    world.addresses = dict(conn.execute("SELECT id, address_json FROM postal_addresses"))
