"""One check per synced resource: red while dead-lettered records of that resource are unresolved."""

from collections.abc import Iterator

import dagster as dg

from bp_pipelines.checks.common import count_and_sample, violation_result
from bp_pipelines.checks.registry import QUARANTINE_RESOURCES
from bp_pipelines.lib.conventions import WRITER_POOL
from bp_pipelines.resources.warehouse import WarehouseResource

CHECK_NAME = "quarantine_is_empty"

OPEN_QUARANTINE_SQL = """
    SELECT record_id, reason, attempts, first_seen, last_seen
    FROM _sync.quarantine
    WHERE resource = ? AND resolved_at IS NULL
    ORDER BY first_seen, record_id
"""

_SPECS = [
    dg.AssetCheckSpec(
        CHECK_NAME,
        asset=resource,
        description=(
            f"No unresolved rows in _sync.quarantine for resource '{resource}'. Dead letters are retried "
            "on every run; see the sample for ids and reasons."
        ),
    )
    for resource in QUARANTINE_RESOURCES
]


@dg.multi_asset_check(specs=_SPECS, can_subset=True, name="brightpearl_quarantine_checks", pool=WRITER_POOL)
def brightpearl_quarantine_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    """ERROR while `_sync.quarantine` holds unresolved records of the resource (count + sample ids in metadata)."""
    with warehouse.connect() as conn:
        for key in sorted(context.selected_asset_check_keys, key=str):
            resource = key.asset_key.to_user_string()
            n, sample = count_and_sample(conn, OPEN_QUARANTINE_SQL, [resource])
            yield violation_result(
                key,
                n,
                sample,
                severity=dg.AssetCheckSeverity.ERROR,
                description=(
                    f"{n} unresolved quarantined record(s) for '{resource}': SELECT * FROM "
                    f"_sync.quarantine WHERE resource = '{resource}' AND resolved_at IS NULL"
                ),
                extra={"sample_ids": dg.MetadataValue.json([s["record_id"] for s in sample])},
            )
