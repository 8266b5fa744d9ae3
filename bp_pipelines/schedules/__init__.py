"""Jobs, schedules and sensors."""

from __future__ import annotations

from .brightpearl import brightpearl_incremental, brightpearl_reconciliation
from .jobs import BRIGHTPEARL_SYNC, brightpearl_sync, sync_run_config
from .partition_status import partition_status
from .storefront import storefront_jobs, storefront_sensors

brightpearl_schedules = [brightpearl_incremental, brightpearl_reconciliation]
jobs = [brightpearl_sync, *storefront_jobs]
sensors = [partition_status, *storefront_sensors]

__all__ = [
    "BRIGHTPEARL_SYNC",
    "brightpearl_schedules",
    "brightpearl_sync",
    "jobs",
    "partition_status",
    "sensors",
    "sync_run_config",
]
