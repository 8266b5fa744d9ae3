"""Jobs and schedules."""

from __future__ import annotations

from .brightpearl import brightpearl_incremental, brightpearl_reconciliation
from .jobs import BRIGHTPEARL_SYNC, brightpearl_sync, sync_run_config

brightpearl_schedules = [brightpearl_incremental, brightpearl_reconciliation]
jobs = [brightpearl_sync]

__all__ = ["BRIGHTPEARL_SYNC", "brightpearl_schedules", "brightpearl_sync", "jobs", "sync_run_config"]
