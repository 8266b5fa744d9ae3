"""The Dagster code location: `defs`.

Loading needs no environment variable (tests, `dagster dev` before the sandbox is up): credentials are
`dg.EnvVar`s resolved only when a run starts, and the warehouse path is resolved at run time too.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from bp_pipelines import settings

# The code location reads `.env` at the repo root like `make run` does (variables already set win), so `dagster dev`
# or a daemon started by hand sees the same credentials and settings.
settings.load_env_file()
settings.quiet_library_warnings()

from bp_pipelines.assets import (  # noqa: E402
    analytics_assets,
    brightpearl_account,
    brightpearl_assets,
    storefront_assets,
)
from bp_pipelines.checks import brightpearl_checks, storefront_checks  # noqa: E402
from bp_pipelines.resources.bigcommerce import BigCommerceResource  # noqa: E402
from bp_pipelines.resources.brightpearl import BrightpearlResource  # noqa: E402
from bp_pipelines.resources.warehouse import WarehouseResource  # noqa: E402
from bp_pipelines.schedules import brightpearl_schedules, jobs, sensors  # noqa: E402


def _env_or(name: str, default: str) -> Any:
    """`dg.EnvVar` when the variable is set (the value stays out of run config), else the documented default."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def resources() -> dict[str, Any]:
    return {
        "brightpearl": BrightpearlResource(
            base_url=_env_or("BRIGHTPEARL_BASE_URL", settings.DEFAULT_BRIGHTPEARL_BASE_URL),
            account=dg.EnvVar("BRIGHTPEARL_ACCOUNT"),
            app_ref=dg.EnvVar("BRIGHTPEARL_APP_REF"),
            account_token=dg.EnvVar("BRIGHTPEARL_ACCOUNT_TOKEN"),
        ),
        # Without credentials `make run`/`make dev` export the sandbox's BIGCOMMERCE_* values, as for Brightpearl.
        # Resolved only by runs that use the store, so a Brightpearl-only set-up needs none of them.
        "bigcommerce": BigCommerceResource(
            base_url=_env_or("BIGCOMMERCE_BASE_URL", settings.DEFAULT_BIGCOMMERCE_BASE_URL),
            # Empty when unset: a Brightpearl-only set-up (push off) then runs the main job without them; a push
            # enabled without them fails its step with one line naming the missing variable.
            store_hash=_env_or("BIGCOMMERCE_STORE_HASH", ""),
            access_token=_env_or("BIGCOMMERCE_ACCESS_TOKEN", ""),
        ),
        # Empty path = BP_WAREHOUSE_PATH (or warehouse.duckdb at the repo root), read when the run starts.
        "warehouse": WarehouseResource(path=_env_or("BP_WAREHOUSE_PATH", "")),
    }


# Every job runs its steps in the run's own process. The writer pool lets one step write at a time anyway, and under
# the default multiprocess executor each step (and asset check) first starts a fresh Python that imports dagster and
# this code location (2.2-2.7 s before the step began, measured) for steps that mostly take well under a second. In
# process, a scheduled or UI-launched run costs what `make run` costs (docs/stack.md: Executors).
defs = dg.Definitions(
    executor=dg.in_process_executor,
    assets=[brightpearl_account, *brightpearl_assets, *analytics_assets, *storefront_assets],
    asset_checks=[*brightpearl_checks, *storefront_checks],
    jobs=jobs,
    schedules=brightpearl_schedules,
    sensors=sensors,
    resources=resources(),
)
