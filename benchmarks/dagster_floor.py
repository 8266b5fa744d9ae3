"""Dagster's own CPU for a run shaped like `brightpearl_sync` whose steps do nothing.

    python -m benchmarks.dagster_floor      # prints one JSON line

Every node of the real job (`bp_pipelines.definitions`) is copied as a multi-asset (or multi-asset check) with
the same asset keys, dependencies and check specs; each step yields one `MaterializeResult` per asset (20
metadata entries, about what the real assets attach) and a passing `AssetCheckResult` per check, and does
nothing else. The job then runs with `execute_in_process` on an ephemeral instance, as `benchmarks/run_job.py`
runs the real one. The first run in a process is what the benchmark's job CPU pays (one run per process); the
later runs show how much of it is one-off set-up.
"""

from __future__ import annotations

import json
import resource
from collections.abc import Iterator
from typing import Any

import dagster as dg

JOB_NAME = "brightpearl_sync"
METADATA_ENTRIES = 20
RUNS = 3


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _empty_node(assets_def: dg.AssetsDefinition) -> dg.AssetsDefinition | dg.AssetChecksDefinition:
    """A node with the keys, dependencies and checks of `assets_def` whose body only reports success."""
    keys = list(assets_def.keys)
    # A multi-asset yields its assets in dependency order (order_rows after orders).
    keys.sort(key=lambda k: len([d for d in assets_def.asset_deps.get(k, set()) if d in assets_def.keys]))
    checks = list(assets_def.check_specs)
    name = assets_def.node_def.name

    def results() -> Iterator[Any]:
        for key in keys:
            yield dg.MaterializeResult(asset_key=key, metadata={f"m{i}": i for i in range(METADATA_ENTRIES)})
        for check in checks:
            yield dg.AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True)

    if not keys:
        return dg.multi_asset_check(specs=checks, name=name)(results)
    specs = [dg.AssetSpec(k, deps=list(assets_def.asset_deps.get(k, set()))) for k in keys]
    return dg.multi_asset(specs=specs, check_specs=checks, name=name, can_subset=False)(results)


def measure() -> dict[str, Any]:
    started = cpu_s()
    from bp_pipelines.definitions import defs

    definitions_s = cpu_s() - started
    graph = defs.resolve_job_def(JOB_NAME).asset_layer.asset_graph
    nodes: dict[str, dg.AssetsDefinition] = {}
    for assets_def in graph.assets_defs:
        nodes.setdefault(assets_def.node_def.name, assets_def)
    empty = [_empty_node(a) for a in nodes.values()]
    assets = [n for n in empty if isinstance(n, dg.AssetsDefinition) and n.keys]
    checks = [n for n in empty if n not in assets]
    job = dg.Definitions(
        assets=assets, asset_checks=checks, jobs=[dg.define_asset_job("empty", selection=dg.AssetSelection.all())]
    ).resolve_job_def("empty")
    runs = []
    for _ in range(RUNS):
        with dg.DagsterInstance.ephemeral() as instance:  # made outside the measured span, as run_job.py does
            before = cpu_s()
            result = job.execute_in_process(instance=instance)
            runs.append(round(cpu_s() - before, 2))
        if not result.success:
            raise RuntimeError("the empty job failed")
    return {
        "steps": len(nodes),
        "assets": sum(len(list(a.keys)) for a in assets),
        "checks": sum(len(list(n.check_specs)) for n in empty),
        "definitions_import_s": round(definitions_s, 2),
        "run_cpu_s": runs,
    }


if __name__ == "__main__":
    print(json.dumps(measure()))
