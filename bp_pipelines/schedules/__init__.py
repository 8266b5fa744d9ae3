"""Jobs and schedules."""

from __future__ import annotations

from .brightpearl import brightpearl_incremental, brightpearl_reconciliation
from .jobs import BRIGHTPEARL_SYNC, brightpearl_sync, sync_run_config
from .storefront import storefront_jobs, storefront_sensors

brightpearl_schedules = [brightpearl_incremental, brightpearl_reconciliation]
jobs = [brightpearl_sync, *storefront_jobs]
sensors = [*storefront_sensors]

__all__ = ["BRIGHTPEARL_SYNC", "brightpearl_schedules", "brightpearl_sync", "jobs", "sensors", "sync_run_config"]
