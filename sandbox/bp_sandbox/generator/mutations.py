"""Small write operations on the world, shared by the API write endpoints and the change simulator.

Every function expects to run inside `Store.transaction()` and takes the connection explicitly.
"""

from __future__ import annotations

import sqlite3
from decimal import ROUND_HALF_UP, Decimal

TWO = Decimal("0.01")


def next_id(conn: sqlite3.Connection, table: str, floor: int = 1) -> int:
    return max(floor, (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1)


def shippable_quantity(conn: sqlite3.Connection, order_id: int) -> int:
    return conn.execute(
        "SELECT coalesce(sum(r.quantity), 0) FROM order_rows r JOIN products p ON p.id = r.product_id "
        "WHERE r.order_id = ? AND p.stock_tracked = 1",
        (order_id,),
    ).fetchone()[0]


def shipped_quantity(conn: sqlite3.Connection, order_id: int) -> int:
    return conn.execute(
        "SELECT coalesce(sum(gr.quantity), 0) FROM goods_out_note_rows gr JOIN goods_out_notes g ON g.id = gr.note_id "
        "WHERE g.order_id = ? AND g.shipped = 1 AND g.deleted = 0",
        (order_id,),
    ).fetchone()[0]


def shipping_status_code(conn: sqlite3.Connection, order_id: int) -> str:
    total = shippable_quantity(conn, order_id)
    if total == 0:
        return "NST"
    shipped = shipped_quantity(conn, order_id)
    return "SNS" if shipped == 0 else ("ASS" if shipped >= total else "SPS")


def refresh_order(conn: sqlite3.Connection, order_id: int, now_ms: int, *, bump: bool = True) -> None:
    """Recompute totals and shipping/stock status from rows and notes; optionally bump updatedOn/version."""
    net = tax = Decimal(0)
    for row_net, row_tax in conn.execute("SELECT row_net, row_tax FROM order_rows WHERE order_id = ?", (order_id,)):
        net += Decimal(row_net)
        tax += Decimal(row_tax)
    net = net.quantize(TWO, ROUND_HALF_UP)
    tax = tax.quantize(TWO, ROUND_HALF_UP)
    ship = shipping_status_code(conn, order_id)
    conn.execute(
        "UPDATE orders SET total_net = ?, total_tax = ?, total_value = ?, shipping_status_code = ?, "
        "stock_status_code = CASE WHEN ? = 'NST' THEN 'NON' WHEN stock_status_code = 'NON' "
        "AND order_type_code = 'SO' THEN 'SOA' ELSE stock_status_code END WHERE id = ?",
        (str(net), str(tax), str(net + tax), ship, ship, order_id),
    )
    if bump:
        touch_order(conn, order_id, now_ms)


def touch_order(conn: sqlite3.Connection, order_id: int, now_ms: int) -> None:
    conn.execute(
        "UPDATE orders SET updated_ms = max(updated_ms, ?), version = version + 1 WHERE id = ?", (now_ms, order_id)
    )


def ship_note(
    conn: sqlite3.Connection, note_id: int, at_ms: int, now_ms: int, *, tracking: str | None = None, events: int = 1
) -> None:
    """Mark a note shipped at `at_ms` (SHW auto-creates print/pick/pack); the order is modified at `now_ms`."""
    conn.execute(
        "UPDATE goods_out_notes SET shipped = 1, shipped_ms = ?, printed = 1, picked = 1, packed = 1, "
        "printed_ms = coalesce(printed_ms, ?), picked_ms = coalesce(picked_ms, ?), packed_ms = coalesce(packed_ms, ?), "
        "tracking_reference = coalesce(?, tracking_reference), boxes = coalesce(boxes, 1), "
        "last_event_version = last_event_version + ? WHERE id = ?",
        (at_ms, at_ms, at_ms, at_ms, tracking, events, note_id),
    )
    order_id = conn.execute("SELECT order_id FROM goods_out_notes WHERE id = ?", (note_id,)).fetchone()[0]
    refresh_order(conn, order_id, now_ms)


def add_note(conn: sqlite3.Connection, order_id: int, text: str, now_ms: int, public: bool = False) -> int:
    note_id = next_id(conn, "order_notes")
    conn.execute("INSERT INTO order_notes VALUES (?,?,?,?,?)", (note_id, order_id, text, int(public), now_ms))
    return note_id
