"""Jobs: `brightpearl_sync` extracts every Brightpearl table (reference data included), rebuilds the analyst
marts and pushes to the storefront (a no-op while the sync file keeps the push off); `make run` runs it."""

from __future__ import annotations

from typing import Any

import dagster as dg

from bp_pipelines import settings
from bp_pipelines.assets import brightpearl_assets
from bp_pipelines.lib.conventions import ANALYTICS_GROUP, BRIGHTPEARL_GROUP, STOREFRONT_GROUP

BRIGHTPEARL_SYNC = "brightpearl_sync"

brightpearl_sync = dg.define_asset_job(
    name=BRIGHTPEARL_SYNC,
    # The marts ride along so every sync leaves analysts a consistent set of tables (they need no config).
    # The storefront push rides along after the extraction it reads (nothing is pushed unless the sync file says so).
    selection=dg.AssetSelection.groups(BRIGHTPEARL_GROUP, ANALYTICS_GROUP, STOREFRONT_GROUP),
    description=(
        "Sync every Brightpearl table into the DuckDB warehouse, then push shipments and statuses to the storefront "
        "when the sync file enables it. Default mode 'auto': incremental on today's "
        "partition (or without one), partition mode for backfills of past days; set ops.<op>.config.mode to "
        "'reconciliation' for the nightly id sweep."
    ),
    tags={"bp/source": "brightpearl"},
)


def sync_run_config(mode: str, **overrides: Any) -> dict[str, Any]:
    """Run config giving every Brightpearl op the same SyncConfig: mode, the tunable settings read from the
    environment now (BP_OVERLAP_MINUTES, BP_REREAD_DAYS, BP_RECONCILE_EVERY_HOURS, BP_RECONCILE_MAX_PAGES; see
    `bp_pipelines.settings.sync_settings`), then overrides. Schedules call it on every tick, `make run` per run."""
    config = {"mode": mode, **settings.sync_settings(), **overrides}
    return {"ops": {asset.node_def.name: {"config": dict(config)} for asset in brightpearl_assets}}
