"""Row buffers flushed with executemany, and id allocators for generated rows."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

# table -> number of columns (positional inserts; the order is schema.sql's)
TABLE_WIDTH: dict[str, int] = {
    "orders": 36,
    "order_rows": 19,
    "goods_out_notes": 23,
    "goods_out_note_rows": 5,
    "order_notes": 5,
    "bc_orders": 25,
    "bc_order_products": 17,
    "bc_shipping_addresses": 8,
    "bc_shipments": 11,
}


@dataclass
class Ids:
    """Next id per generated table. Chunk workers start at 1 (re-based when merged); live changes at max+1."""

    row: int = 1
    gon: int = 1
    bc_order: int = 1
    bc_line: int = 1
    bc_address: int = 1
    bc_shipment: int = 1
    note: int = 1

    def take(self, name: str) -> int:
        value = getattr(self, name)
        setattr(self, name, value + 1)
        return value

    @classmethod
    def after_existing(cls, conn: sqlite3.Connection) -> Ids:
        def nxt(table: str, floor: int = 1) -> int:
            return max(floor, (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1)

        return cls(
            row=nxt("order_rows"),
            gon=nxt("goods_out_notes"),
            bc_order=nxt("bc_orders", 100),
            bc_line=nxt("bc_order_products"),
            bc_address=nxt("bc_shipping_addresses"),
            bc_shipment=nxt("bc_shipments"),
            note=nxt("order_notes"),
        )


@dataclass
class Batch:
    rows: dict[str, list[tuple[object, ...]]] = field(default_factory=lambda: {t: [] for t in TABLE_WIDTH})

    def add(self, table: str, row: tuple[object, ...]) -> None:
        self.rows[table].append(row)

    def size(self) -> int:
        return sum(len(v) for v in self.rows.values())

    def flush(self, conn: sqlite3.Connection) -> None:
        for table, rows in self.rows.items():
            if rows:
                conn.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * TABLE_WIDTH[table])})", rows)
                rows.clear()
