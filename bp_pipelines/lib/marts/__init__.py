"""Analyst marts (schema `analytics`): what each mart is (`marts`), its SELECT (`sql/<name>.sql`) and the
all-or-nothing rebuild (`build`). No Dagster here: the asset is `bp_pipelines.assets.analytics`."""

from .build import (
    PREVIEW_ROWS,
    MartBuild,
    preview_markdown,
    rebuild_marts,
    rebuild_marts_within_memory,
    refresh_marts,
)
from .marts import MARTS, MARTS_BY_NAME, SCHEMA, Mart

__all__ = [
    "MARTS",
    "MARTS_BY_NAME",
    "PREVIEW_ROWS",
    "SCHEMA",
    "Mart",
    "MartBuild",
    "preview_markdown",
    "rebuild_marts",
    "rebuild_marts_within_memory",
    "refresh_marts",
]
