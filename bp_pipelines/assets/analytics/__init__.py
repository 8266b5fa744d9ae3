"""Analyst marts (schema `analytics`, group `analytics`) built from the Brightpearl tables."""

from __future__ import annotations

from bp_pipelines.assets.analytics.marts import analytics_marts
from bp_pipelines.assets.analytics.specs import MARTS

analytics_assets: list = [analytics_marts]

__all__ = ["MARTS", "analytics_assets", "analytics_marts"]
