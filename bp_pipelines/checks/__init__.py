"""Asset checks on the Brightpearl tables: keys, references, quarantine and freshness.

Each family is one multi-asset check op (one short warehouse connection evaluates all its selected checks), but
every check is its own `AssetCheckSpec` on the asset it judges, e.g. `orders:key_is_unique`.
"""

from bp_pipelines.checks.freshness import FreshnessConfig, brightpearl_freshness_checks
from bp_pipelines.checks.keys import brightpearl_key_checks
from bp_pipelines.checks.quarantine import brightpearl_quarantine_checks
from bp_pipelines.checks.references import brightpearl_reference_checks
from bp_pipelines.checks.storefront import storefront_push_checks, storefront_reconciliation_checks

brightpearl_checks: list = [
    brightpearl_key_checks,
    brightpearl_reference_checks,
    brightpearl_quarantine_checks,
    brightpearl_freshness_checks,
]
storefront_checks: list = [storefront_push_checks, storefront_reconciliation_checks]

__all__ = ["FreshnessConfig", "brightpearl_checks", "storefront_checks"]
