"""Freshness of the synced resources, read from the warehouse's own bookkeeping (not Dagster's event log).

Last sync = the later of `_sync.watermarks.updated_at` (written by every successful sync of the resource, even
when nothing changed) and the last `_sync.runs.finished_at` of the asset. The Brightpearl watermark itself
(max updatedOn seen) is reported but not judged: a quiet account legitimately has an old watermark.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from bp_pipelines.checks.registry import FRESHNESS_RESOURCES
from bp_pipelines.lib.conventions import WRITER_POOL
from bp_pipelines.resources.warehouse import WarehouseResource

CHECK_NAME = "synced_recently"
DEFAULT_MAX_LAG_MINUTES = 360

LAST_SYNC_SQL = """
    SELECT
        (SELECT watermark FROM _sync.watermarks WHERE resource = $resource) AS watermark,
        (SELECT updated_at FROM _sync.watermarks WHERE resource = $resource) AS watermark_updated_at,
        (SELECT max(finished_at) FROM _sync.runs WHERE asset = $resource) AS last_run_finished_at
"""


class FreshnessConfig(dg.Config):
    """How old the last successful sync of a resource may be before the check warns."""

    max_lag_minutes: int = Field(
        default=DEFAULT_MAX_LAG_MINUTES, ge=1, description="Allowed age of the last sync, for every resource."
    )
    max_lag_minutes_by_resource: dict[str, int] = Field(
        default_factory=dict, description="Per-resource overrides, e.g. {'stock_levels': 60}."
    )


_SPECS = [
    dg.AssetCheckSpec(
        CHECK_NAME,
        asset=resource,
        description=(
            f"The last successful sync of '{resource}' (per _sync.watermarks / _sync.runs) is no older "
            f"than the configured lag (default {DEFAULT_MAX_LAG_MINUTES} minutes)."
        ),
    )
    for resource in FRESHNESS_RESOURCES
]


def _latest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


@dg.multi_asset_check(specs=_SPECS, can_subset=True, name="brightpearl_freshness_checks", pool=WRITER_POOL)
def brightpearl_freshness_checks(
    context: dg.AssetCheckExecutionContext, config: FreshnessConfig, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    """WARN when a resource has never synced or its last sync is older than the allowed lag."""
    now = datetime.now(UTC)
    with warehouse.connect() as conn:
        for key in sorted(context.selected_asset_check_keys, key=str):
            resource = key.asset_key.to_user_string()
            max_lag = config.max_lag_minutes_by_resource.get(resource, config.max_lag_minutes)
            row = conn.execute(LAST_SYNC_SQL, {"resource": resource}).fetchone()
            watermark, watermark_updated_at, last_run = row if row else (None, None, None)
            last_sync = _latest(watermark_updated_at, last_run)
            lag = (now - last_sync).total_seconds() / 60 if last_sync else None
            passed = lag is not None and lag <= max_lag
            if last_sync is None:
                description = f"'{resource}' has never synced (no _sync.watermarks or _sync.runs row)"
            elif not passed:
                description = f"last sync of '{resource}' was {lag:.0f} minutes ago (allowed {max_lag})"
            else:
                description = None
            yield dg.AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=description,
                metadata={
                    "last_synced_at": dg.MetadataValue.text(last_sync.isoformat() if last_sync else "never"),
                    "lag_minutes": dg.MetadataValue.float(round(lag, 1) if lag is not None else -1.0),
                    "max_lag_minutes": dg.MetadataValue.int(max_lag),
                    "watermark": dg.MetadataValue.text(watermark.isoformat() if watermark else "none"),
                },
            )
