"""Individual change kinds for `apply_changes`; each returns the affected ids (deterministic given the rng)."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable

from .batch import Batch, Ids
from .fastrand import pick, rr
from .fulfil import ShipLine, group_lines, tracking_reference, write_notes
from .mutations import add_note, next_id, ship_note, touch_order
from .people import address_json, make_email, make_phone, person_name, random_address
from .reference import RETAIL_PRICE_LIST, STOREFRONT_CHANNEL_ID
from .timeutil import DAY_MS, local_midnight, utc_midnight
from .world import Product

When = Callable[[], int]
NEXT_STATUS = {1: 2, 2: 3, 3: 15, 14: 16, 15: 16}


def _sample(conn: sqlite3.Connection, rng: random.Random, sql: str, n: int) -> list[tuple]:
    rows = [tuple(r) for r in conn.execute(sql).fetchall()]
    return rng.sample(rows, min(n, len(rows)))


def create_contacts(conn: sqlite3.Connection, rng: random.Random, n: int, when: When) -> list[int]:
    out = []
    for _ in range(n):
        cid, ts = next_id(conn, "contacts", 200), when()
        first, last = person_name(rng)
        email, phone = make_email(first, last, cid, rng), make_phone(rng)
        addr_id = next_id(conn, "postal_addresses")
        addr = random_address(rng)
        conn.execute(
            "INSERT INTO postal_addresses VALUES (?, ?)",
            (addr_id, address_json(addr, f"{first} {last}", "", email, phone)),
        )
        small = json.dumps(
            dict(
                zip(
                    ("addressLine1", "addressLine2", "addressLine3", "addressLine4", "postalCode", "countryIsoCode"),
                    addr,
                    strict=True,
                )
            ),
            ensure_ascii=False,
        )
        conn.execute(
            "INSERT INTO contacts (id, first_name, last_name, email, organisation_id, price_list_id, phone, mobile, "
            "address_json, created_ms, updated_ms, def_address_id, bil_address_id, del_address_id, newsletter) "
            "VALUES (?,?,?,?,?,?,?,'',?,?,?,?,?,?,?)",
            (
                cid,
                first,
                last,
                email,
                cid,
                RETAIL_PRICE_LIST,
                phone,
                small,
                ts,
                ts,
                addr_id,
                addr_id,
                addr_id,
                int(rng.random() < 0.4),
            ),
        )
        if rng.random() < 0.5:  # also signed up on the storefront
            conn.execute(
                "INSERT INTO bc_customers (id, email, first_name, last_name, customer_group_id, "
                "date_created_ms, date_modified_ms) VALUES (?,?,?,?,1,?,?)",
                (next_id(conn, "bc_customers"), email, first, last, ts, ts),
            )
            conn.execute("UPDATE contacts SET contact_tags = '9' WHERE id = ?", (cid,))
        out.append(cid)
    return out


def _invoice(conn: sqlite3.Connection, order_id: int, ts: int) -> None:
    terms = conn.execute(
        "SELECT c.credit_term_days FROM orders o JOIN contacts c ON c.id = o.contact_id WHERE o.id = ?", (order_id,)
    ).fetchone()
    conn.execute(
        "UPDATE orders SET status_id = 4, invoice_reference = ?, tax_date_ms = ?, due_date_ms = ?, "
        "closed_ms = ?, payment_status = CASE WHEN payment_status = 'UNPAID' AND ? = 0 THEN 'PAID' "
        "ELSE payment_status END WHERE id = ?",
        (
            f"SI-{100000 + order_id}",
            local_midnight(ts),
            utc_midnight(ts) + (terms[0] if terms else 0) * DAY_MS,
            ts,
            terms[0] if terms else 0,
            order_id,
        ),
    )


def move_statuses(conn: sqlite3.Connection, rng: random.Random, n: int, when: When) -> list[int]:
    rows = _sample(
        conn,
        rng,
        "SELECT id, status_id, shipping_status_code FROM orders WHERE deleted = 0 AND "
        "order_type_code = 'SO' AND status_id IN (1, 2, 3, 14, 15, 16) ORDER BY id DESC "
        "LIMIT 400",
        n,
    )
    out = []
    for order_id, status, shipping in rows:
        ts = when()
        if status == 16 and shipping in ("ASS", "NST"):
            _invoice(conn, order_id, ts)
        elif status in NEXT_STATUS:
            conn.execute("UPDATE orders SET status_id = ? WHERE id = ?", (NEXT_STATUS[status], order_id))
        else:
            continue
        add_note(conn, order_id, "Status changed by the sandbox change simulator", ts)
        touch_order(conn, order_id, ts)
        out.append(order_id)
    return out


def create_notes(conn: sqlite3.Connection, rng: random.Random, n: int, when: When, seed: int, now: int) -> list[int]:
    orders = _sample(
        conn,
        rng,
        "SELECT o.id, o.warehouse_id, o.shipping_method_id FROM orders o WHERE o.deleted = 0 "
        "AND o.order_type_code = 'SO' AND o.status_id IN (3, 14, 15, 16) AND "
        "o.shipping_status_code = 'SNS' AND NOT EXISTS (SELECT 1 FROM goods_out_notes g "
        "WHERE g.order_id = o.id AND g.deleted = 0) ORDER BY o.id DESC LIMIT 400",
        n,
    )
    ids, batch, created = Ids.after_existing(conn), Batch(), []
    for order_id, wh, method in orders:
        lines = []
        for row_id, pid, sku, name, qty in conn.execute(
            "SELECT r.id, p.id, p.sku, p.name, r.quantity FROM order_rows r JOIN products p ON p.id = r.product_id "
            "WHERE r.order_id = ? AND p.stock_tracked = 1 ORDER BY r.id",
            (order_id,),
        ):
            whs = tuple(
                w for (w,) in conn.execute("SELECT warehouse_id FROM stock WHERE product_id = ? ORDER BY 1", (pid,))
            )
            lines.append(ShipLine(row_id, Product(pid, sku, name, 0, 0, True, False, True, 0, 0, whs), int(qty), 0, 1))
        if not lines:
            continue
        ts = when()
        notes = write_notes(
            batch,
            ids,
            rng,
            order_id=order_id,
            groups=group_lines(rng, lines, wh or 1),
            order_wh=wh or 1,
            method_id=method,
            ready_ms=ts,
            clock_ms=now + 60_000,
            ship_count=0,
        )
        batch.flush(conn)
        conn.execute("UPDATE orders SET status_id = 16 WHERE id = ?", (order_id,))
        touch_order(conn, order_id, ts)
        created += [note.id for note in notes]
    return created


def ship_notes(
    conn: sqlite3.Connection, rng: random.Random, n: int, when: When, now: int, *, storefront_only: bool = False
) -> list[int]:
    """`storefront_only`: notes of storefront orders (on the storefront channel, with their BigCommerce id), so a
    test that needs a shipment to push gets one from one call instead of drawing until one lands there."""
    where = (
        f" AND o.channel_id = {STOREFRONT_CHANNEL_ID} AND coalesce(o.external_ref, '') <> ''" if storefront_only else ""
    )
    notes = _sample(
        conn,
        rng,
        "SELECT g.id, g.order_id, g.shipping_method_id FROM goods_out_notes g JOIN orders o "
        f"ON o.id = g.order_id WHERE g.shipped = 0 AND g.deleted = 0 AND o.deleted = 0{where} "
        "ORDER BY g.id DESC LIMIT 400",
        n,
    )
    out = []
    for note_id, order_id, method in notes:
        ts = when()
        ship_note(conn, note_id, ts, ts, tracking=tracking_reference(rng, method) or None)
        shipping = conn.execute("SELECT shipping_status_code FROM orders WHERE id = ?", (order_id,)).fetchone()[0]
        if shipping == "ASS":
            _invoice(conn, order_id, ts)
        out.append(note_id)
    return out


def edit_products(conn: sqlite3.Connection, rng: random.Random, n: int, when: When) -> list[int]:
    out = []
    for pid, name, price in _sample(
        conn, rng, "SELECT id, name, price FROM products WHERE deleted = 0 ORDER BY id DESC LIMIT 2000", n
    ):
        ts = when()
        if rng.random() < 0.6:
            conn.execute(
                "UPDATE products SET price = ? WHERE id = ?", (f"{float(price) * pick(rng, (0.9, 1.05, 1.1)):.4f}", pid)
            )
        else:
            conn.execute(
                "UPDATE products SET name = ? WHERE id = ?", (name[:-2] if name.endswith(" ✨") else name + " ✨", pid)
            )
        conn.execute(
            "UPDATE products SET updated_ms = max(updated_ms, ?), version = max(updated_ms, ?) WHERE id = ?",
            (ts, ts, pid),
        )
        out.append(pid)
    return out


def edit_contacts(conn: sqlite3.Connection, rng: random.Random, n: int, when: When) -> list[int]:
    out = []
    for cid, first, last, company, email in _sample(
        conn,
        rng,
        "SELECT id, first_name, last_name, coalesce(company_name, ''), email FROM contacts "
        "WHERE deleted = 0 AND is_customer = 1 ORDER BY id DESC LIMIT 2000",
        n,
    ):
        ts, r = when(), rng.random()
        if r < 0.5:
            conn.execute("UPDATE contacts SET phone = ? WHERE id = ?", (make_phone(rng), cid))
        elif r < 0.8:  # moved house: a new postal address; existing orders keep their snapshot
            addr_id = next_id(conn, "postal_addresses")
            conn.execute(
                "INSERT INTO postal_addresses VALUES (?, ?)",
                (addr_id, address_json(random_address(rng), f"{first} {last}", company, email, make_phone(rng))),
            )
            conn.execute(
                "UPDATE contacts SET def_address_id = ?, bil_address_id = ?, del_address_id = ?, "
                "address_json = (SELECT address_json FROM postal_addresses WHERE id = ?) WHERE id = ?",
                (addr_id, addr_id, addr_id, addr_id, cid),
            )
        else:
            conn.execute("UPDATE contacts SET email = ? WHERE id = ?", (make_email(first, last, cid + 7, rng), cid))
        conn.execute("UPDATE contacts SET updated_ms = max(updated_ms, ?) WHERE id = ?", (ts, cid))
        out.append(cid)
    return out


def stock_changes(conn: sqlite3.Connection, rng: random.Random, n: int) -> list[int]:
    """Stock moves do not touch the product's updatedOn (availability has no change marker)."""
    out = []
    for pid, wh in _sample(
        conn, rng, "SELECT product_id, warehouse_id FROM stock ORDER BY product_id DESC, warehouse_id LIMIT 3000", n
    ):
        conn.execute(
            "UPDATE stock SET in_stock = max(allocated, in_stock + ?) WHERE product_id = ? AND warehouse_id = ?",
            (pick(rng, (-5, -3, -1, 2, 10, 24)), pid, wh),
        )
        out.append(pid)
    return sorted(set(out))


def delete_orders(conn: sqlite3.Connection, rng: random.Random, n: int) -> list[int]:
    rows = _sample(
        conn,
        rng,
        "SELECT o.id FROM orders o WHERE o.deleted = 0 AND o.order_type_code = 'SO' AND "
        "o.status_id IN (1, 2, 3, 5, 14) AND NOT EXISTS (SELECT 1 FROM goods_out_notes g "
        "WHERE g.order_id = o.id) ORDER BY o.id DESC LIMIT 400",
        n,
    )
    conn.executemany("UPDATE orders SET deleted = 1 WHERE id = ?", rows)
    return [r[0] for r in rows]


def delete_contacts(conn: sqlite3.Connection, rng: random.Random, n: int) -> list[int]:
    rows = _sample(
        conn,
        rng,
        "SELECT c.id FROM contacts c WHERE c.deleted = 0 AND c.is_customer = 1 AND NOT EXISTS "
        "(SELECT 1 FROM orders o WHERE o.contact_id = c.id) ORDER BY c.id DESC LIMIT 400",
        n,
    )
    conn.executemany("UPDATE contacts SET deleted = 1 WHERE id = ?", rows)
    return [r[0] for r in rows]


def silent_edits(conn: sqlite3.Connection, rng: random.Random, n: int) -> list[int]:
    """Edit the order reference without bumping updatedOn/version (invisible to updatedOn filters)."""
    rows = _sample(
        conn, rng, "SELECT id FROM orders WHERE deleted = 0 AND order_type_code = 'SO' ORDER BY id DESC LIMIT 1000", n
    )
    for (order_id,) in rows:
        conn.execute("UPDATE orders SET customer_ref = ? WHERE id = ?", (f"EDIT-{rr(rng, 10**6):06d}", order_id))
    return [r[0] for r in rows]


def rename_storefront_skus(conn: sqlite3.Connection, rng: random.Random, n: int, when: When) -> list[int]:
    """A SKU renamed on the storefront only (a catalog edit nobody made in Brightpearl): storefront variants of
    products sold on the storefront channel with stock in warehouse 1 get `<sku>-WEB`. Afterwards the storefront
    lists a SKU Brightpearl lacks, and Brightpearl's SKU, still sold and stocked, is on no storefront variant.
    Returns the variant ids. Not in the default changes (count 0): the default world stays consistent."""
    if n <= 0:
        return []
    out = []
    for variant_id, product_id in _sample(
        conn,
        rng,
        "SELECT v.id, v.product_id FROM bc_variants v JOIN products p ON p.sku = v.sku "
        "JOIN stock s ON s.product_id = p.id AND s.warehouse_id = 1 AND s.in_stock - s.allocated > 0 "
        "WHERE p.deleted = 0 AND p.status = 'LIVE' AND p.stock_tracked = 1 AND v.sku NOT LIKE '%-WEB' "
        "AND EXISTS (SELECT 1 FROM order_rows r JOIN orders o ON o.id = r.order_id "
        f"           WHERE r.product_id = p.id AND o.order_type_code = 'SO' AND o.channel_id = {STOREFRONT_CHANNEL_ID}) "
        "ORDER BY v.id",
        n,
    ):
        ts = when()
        conn.execute("UPDATE bc_variants SET sku = sku || '-WEB' WHERE id = ?", (variant_id,))
        conn.execute(
            "UPDATE bc_products SET sku = CASE WHEN base_variant_id = ? THEN sku || '-WEB' ELSE sku END, "
            "date_modified_ms = max(date_modified_ms, ?) WHERE id = ?",
            (variant_id, ts, product_id),
        )
        out.append(variant_id)
    return out
