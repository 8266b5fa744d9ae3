"""Analyst marts (schema `analytics`): what each mart is (`marts`), its SELECT (`sql/<name>.sql`) and the
all-or-nothing rebuild (`build`). No Dagster here: the asset is `bp_pipelines.assets.analytics`."""

from .build import PREVIEW_ROWS, preview_markdown, rebuild_marts, rebuild_marts_within_memory
from .marts import MARTS, MARTS_BY_NAME, SCHEMA, Mart

__all__ = [
    "MARTS",
    "MARTS_BY_NAME",
    "PREVIEW_ROWS",
    "SCHEMA",
    "Mart",
    "preview_markdown",
    "rebuild_marts",
    "rebuild_marts_within_memory",
]
