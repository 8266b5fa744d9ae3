"""The storefront push: Brightpearl changes in the warehouse -> ledger -> BigCommerce, exactly once.

plan (SQL over the warehouse, `plan.py`) -> ledger rows written before anything is sent (`ledger.py`) ->
send with reconciliation of anything possibly sent before (`shipments.py`, `statuses.py`) -> ledger marked,
failures to `push.dead_letters`. Never imports Dagster definitions; the assets call `run_push`.
"""

from .engine import PushReport, PushScope, StorefrontApi, redrive_dead_letters, run_push
from .settings import Carrier, PushSettings

__all__ = [
    "Carrier",
    "PushReport",
    "PushScope",
    "PushSettings",
    "StorefrontApi",
    "redrive_dead_letters",
    "run_push",
]
