"""Jobs, schedules and sensors."""

from __future__ import annotations

from .brightpearl import brightpearl_incremental, brightpearl_reconciliation
from .jobs import BRIGHTPEARL_SYNC, brightpearl_sync, sync_run_config
from .partition_status import partition_status

brightpearl_schedules = [brightpearl_incremental, brightpearl_reconciliation]
jobs = [brightpearl_sync]
sensors = [partition_status]

__all__ = [
    "BRIGHTPEARL_SYNC",
    "brightpearl_schedules",
    "brightpearl_sync",
    "jobs",
    "partition_status",
    "sensors",
    "sync_run_config",
]
