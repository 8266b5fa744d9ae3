"""What the Brightpearl checks cover: keys (from the table registry), references, synced resources.

Asset keys are the table names (noun assets of the `brightpearl` group). Key columns come from
`bp_pipelines.lib.warehouse.tables`, the same registry the upserts use, so a new table is checked for free.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from bp_pipelines.lib.warehouse.tables import ALL_TABLES, Table

# Rows of these tables are written with their parent record: quarantine and watermarks are the parent's.
CHILD_TABLES: dict[str, str] = {"order_rows": "orders", "goods_out_note_rows": "goods_out_notes"}

KEYED_TABLES: tuple[Table, ...] = ALL_TABLES

# One quarantine check per synced resource (`_sync.quarantine.resource` = the parent table / asset name).
QUARANTINE_RESOURCES: tuple[str, ...] = tuple(t.name for t in ALL_TABLES if t.name not in CHILD_TABLES)

# Every synced resource writes `_sync.watermarks` (resource) and `_sync.runs` (asset) under the same name.
FRESHNESS_RESOURCES: tuple[str, ...] = QUARANTINE_RESOURCES

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Reference:
    """Every live `child` row must point at an existing `parent` row (deleted or not: history keeps its parent)."""

    child: str
    parent: str
    columns: tuple[tuple[str, str], ...]  # (child column, parent column)
    severity: dg.AssetCheckSeverity
    child_filter: str = "true"  # rows the rule applies to, e.g. only non-null optional references
    why: str = ""

    @property
    def check_name(self) -> str:
        return f"{self.parent}_exist"

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(dg.AssetKey(self.child), self.check_name)

    def spec(self) -> dg.AssetCheckSpec:
        cols = ", ".join(c for c, _ in self.columns)
        return dg.AssetCheckSpec(
            name=self.check_name,
            asset=self.child,
            additional_deps=[self.parent],
            description=f"Every live {self.child} row's {cols} exists in brightpearl.{self.parent}. {self.why}".strip(),
        )


REFERENCES: tuple[Reference, ...] = (
    Reference(
        "order_rows",
        "orders",
        (("order_id", "order_id"),),
        dg.AssetCheckSeverity.ERROR,
        why="Rows are written with their order, so an orphan means a broken write.",
    ),
    Reference(
        "order_rows",
        "products",
        (("product_id", "product_id"),),
        dg.AssetCheckSeverity.WARN,
        child_filter="product_id IS NOT NULL AND product_id <> 0",
        why="Free-text rows (no product) are skipped; a miss usually means products need a sync.",
    ),
    Reference(
        "goods_out_note_rows",
        "goods_out_notes",
        (("goods_out_note_id", "goods_out_note_id"),),
        dg.AssetCheckSeverity.ERROR,
        why="Rows are written with their note, so an orphan means a broken write.",
    ),
    Reference(
        "goods_out_notes",
        "orders",
        (("order_id", "order_id"),),
        dg.AssetCheckSeverity.WARN,
        child_filter="order_id IS NOT NULL AND order_id <> 0 AND is_transfer IS NOT TRUE",
        why="Transfers (no order) are skipped; a miss usually means the order predates the synced history.",
    ),
)
