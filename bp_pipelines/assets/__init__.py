"""Dagster asset definitions only: thin wrappers of `bp_pipelines.lib` (config -> sync -> MaterializeResult)."""

from bp_pipelines.assets.analytics import analytics_assets
from bp_pipelines.assets.brightpearl import brightpearl_account, brightpearl_assets, reference_assets
from bp_pipelines.assets.storefront import storefront_assets

__all__ = ["analytics_assets", "brightpearl_account", "brightpearl_assets", "reference_assets", "storefront_assets"]
