"""Goods-out note documents, keyed by note id as recorded (goods_out_note/get/*.yml)."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..generator.reference import SYSTEM_USER_ID
from ..state import Store
from .formatting import Formatter
from .idsets import Ranges, sql_in

# Same-instant events are listed SHW first, then PRI/PIC/PAC, as in the recording (shipping auto-creates them).
EVENT_ORDER = {"PLA": 0, "SHW": 1, "PRI": 2, "PIC": 3, "PAC": 4}


def _note_doc(g: sqlite3.Row, fmt: Formatter, rows: list[sqlite3.Row]) -> dict[str, Any]:
    status: dict[str, Any] = {
        "shipped": bool(g["shipped"]),
        "packed": bool(g["packed"]),
        "picked": bool(g["picked"]),
        "printed": bool(g["printed"]),
    }
    for step in ("picked", "packed", "shipped", "printed"):
        if g[f"{step}_ms"] is not None:
            status[f"{step}On"] = fmt.dt(g[f"{step}_ms"])
    for step in ("picked", "packed", "shipped", "printed"):
        if g[f"{step}_ms"] is not None:
            status[f"{step}ById"] = SYSTEM_USER_ID
    shipping: dict[str, Any] = {"reference": g["tracking_reference"], "shippingMethodId": g["shipping_method_id"]}
    if g["boxes"] is not None:
        shipping["boxes"] = g["boxes"]
    if g["weight"] is not None:
        shipping["weight"] = g["weight"]
    order_rows: dict[str, list[dict[str, int]]] = {}
    for r in rows:
        order_rows.setdefault(str(r["order_row_id"]), []).append(
            {
                "productId": r["product_id"],
                "quantity": r["quantity"],
                "locationId": r["location_id"] or g["warehouse_id"],
            }
        )
    events = [(g["created_ms"], "PLA", g["created_by"])]
    for code, col in (("SHW", "shipped_ms"), ("PRI", "printed_ms"), ("PIC", "picked_ms"), ("PAC", "packed_ms")):
        if g[col] is not None:
            events.append((g[col], code, SYSTEM_USER_ID))
    events.sort(key=lambda e: (e[0], EVENT_ORDER[e[1]]))
    return {
        "orderId": g["order_id"],
        "warehouseId": g["warehouse_id"],
        "transfer": bool(g["transfer"]),
        "priority": bool(g["priority"]),
        "status": status,
        "shipping": shipping,
        "releaseDate": fmt.dt(g["release_ms"]),
        "createdOn": fmt.dt(g["created_ms"]),
        "createdBy": g["created_by"],
        "orderRows": order_rows,
        "sequence": g["sequence"],
        "events": [{"occured": fmt.dt(t), "eventOwnerId": owner, "eventCode": code} for t, code, owner in events],
        "lastEventVersion": g["last_event_version"],
    }


def load_notes(store: Store, fmt: Formatter, order_ranges: Ranges | None, note_ranges: Ranges | None) -> dict[str, Any]:
    """Notes matching both sets (None = any); deleted notes and notes of deleted orders are invisible."""
    where = ["g.deleted = 0", "o.deleted = 0"]
    if order_ranges is not None:
        where.append(sql_in("g.order_id", order_ranges))
    if note_ranges is not None:
        where.append(sql_in("g.id", note_ranges))
    with store.lock:
        notes = store.conn.execute(
            f"SELECT g.* FROM goods_out_notes g JOIN orders o ON o.id = g.order_id "
            f"WHERE {' AND '.join(where)} ORDER BY g.id LIMIT 2000"
        ).fetchall()
        ids = [n["id"] for n in notes]
        rows: dict[int, list[sqlite3.Row]] = {}
        if ids:
            for r in store.conn.execute(
                f"SELECT * FROM goods_out_note_rows WHERE note_id IN "
                f"({','.join('?' * len(ids))}) ORDER BY note_id, order_row_id",
                ids,
            ):
                rows.setdefault(r["note_id"], []).append(r)
    return {str(n["id"]): _note_doc(n, fmt, rows.get(n["id"], [])) for n in notes}
