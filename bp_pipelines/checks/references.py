"""Referential integrity between Brightpearl tables: no live child row points at a missing parent."""

from collections.abc import Iterator

import dagster as dg

from bp_pipelines.checks.common import sample_rows, violation_result
from bp_pipelines.checks.registry import REFERENCES, Reference
from bp_pipelines.lib.conventions import WRITER_POOL
from bp_pipelines.resources.warehouse import WarehouseResource


def orphans_sql(ref: Reference) -> str:
    """Live child rows matching the rule's filter whose parent row does not exist (in any deletion state)."""
    child_cols = ", ".join(f"c.{c}" for c, _ in ref.columns)
    join = " AND ".join(f"p.{p} = c.{c}" for c, p in ref.columns)
    return (
        f"SELECT DISTINCT {child_cols} FROM brightpearl.{ref.child} AS c "
        f"WHERE c.is_deleted IS NOT TRUE AND ({ref.child_filter}) "
        f"AND NOT EXISTS (SELECT 1 FROM brightpearl.{ref.parent} AS p WHERE {join}) "
        f"ORDER BY {child_cols}"
    )


def orphan_counts_sql(ref: Reference) -> str:
    """(orphan rows, distinct missing keys) in one anti-join: on a healthy warehouse the only scan of the check
    (at 1M orders the four checks cost 1.1 CPU-s this way, 2.2 s counting keys and rows in separate scans)."""
    child_cols = ", ".join(f"c.{c}" for c, _ in ref.columns)
    join = " AND ".join(f"p.{p} = c.{c}" for c, p in ref.columns)
    return (
        # row(...): a NULL key counts as a missing key too, as in `orphans_sql`'s DISTINCT
        f"SELECT count(*), count(DISTINCT row({child_cols})) FROM brightpearl.{ref.child} AS c "
        f"WHERE c.is_deleted IS NOT TRUE AND ({ref.child_filter}) "
        f"AND NOT EXISTS (SELECT 1 FROM brightpearl.{ref.parent} AS p WHERE {join})"
    )


_REFS_BY_KEY = {ref.key: ref for ref in REFERENCES}


@dg.multi_asset_check(
    specs=[ref.spec() for ref in REFERENCES],
    can_subset=True,
    name="brightpearl_reference_checks",
    pool=WRITER_POOL,
)
def brightpearl_reference_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    """order_rows -> orders / products, goods_out_note_rows -> goods_out_notes, goods_out_notes -> orders."""
    with warehouse.connect() as conn:
        for key in sorted(context.selected_asset_check_keys, key=str):
            ref = _REFS_BY_KEY[key]
            rows, missing = conn.execute(orphan_counts_sql(ref)).fetchone() or (0, 0)
            sample = sample_rows(conn, orphans_sql(ref)) if missing else []
            yield violation_result(
                key,
                missing,
                sample,
                severity=ref.severity,
                description=f"{rows} live {ref.child} row(s) point at {missing} missing {ref.parent} key(s)",
                extra={"orphan_rows": dg.MetadataValue.int(rows)},
            )
