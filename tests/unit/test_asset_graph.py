"""A snapshot of the whole Dagster graph: asset keys, deps, groups, kinds, partitions, pools, checks, jobs and
schedules. An intended change updates the snapshot (`pytest tests/unit/test_asset_graph.py --snapshot-update`)
and shows in review; an unintended one fails here."""

from __future__ import annotations

from typing import Any

import dagster as dg
from syrupy.assertion import SnapshotAssertion

from bp_pipelines.definitions import defs


def _partitions(assets_def: dg.AssetsDefinition) -> str | None:
    partitions = assets_def.partitions_def
    if partitions is None:
        return None
    if isinstance(partitions, dg.TimeWindowPartitionsDefinition):
        return f"{type(partitions).__name__}(cron={partitions.cron_schedule!r}, timezone={partitions.timezone!r})"
    return type(partitions).__name__


def graph_outline() -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    assets: dict[str, Any] = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets_def = node.assets_def
        assets[key.to_user_string()] = {
            "op": assets_def.node_def.name,
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "kinds": sorted(node.kinds),
            "tags": dict(sorted((k, v) for k, v in node.tags.items() if not k.startswith("dagster/kind/"))),
            "partitions": _partitions(assets_def),
            "backfill_policy": str(assets_def.backfill_policy.policy_type) if assets_def.backfill_policy else None,
            "pool": next(iter(assets_def.node_def.pools), None) if assets_def.node_def.pools else None,
        }
    checks = sorted(str(key) for key in graph.asset_check_keys)
    jobs = {
        job.name: sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys)
        for job in defs.resolve_all_job_defs()
        if not job.name.startswith("__")
    }
    schedules = {
        s.name: {"cron": s.cron_schedule, "job": s.job_name, "default_status": str(s.default_status)}
        for s in defs.schedules or []
    }
    return {"assets": assets, "asset_checks": checks, "jobs": jobs, "schedules": schedules}


def test_asset_graph_snapshot(snapshot: SnapshotAssertion) -> None:
    assert graph_outline() == snapshot
