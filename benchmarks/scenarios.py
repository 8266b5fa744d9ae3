"""The four benchmark scenarios. Each returns plain JSON-able dicts (stored in benchmarks/results.json).

1. API cost of a full extraction vs the documented minimum (every scale).
2. Incremental: calls after a known number of sandbox changes, a no-change rerun, a reconciliation run.
3. Throughput under a scaled-down rate window: requests/s vs the budget, throttled (503) answers.
4. No rate limit: CPU seconds, wall time and peak RSS of the materializing process per scale.
"""

from __future__ import annotations

import bisect
import math
import pstats
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .measure import (
    REPO,
    ChildRun,
    RequestTimeline,
    Sandbox,
    by_resource,
    file_mb,
    machine_busy_s,
    minimum_calls,
    pipeline_env,
    run_pipeline,
    warehouse_rows,
)

BP_RATE_LIMIT = 200  # requests per rolling window (documented: per minute)
BP_WINDOW_S = 60.0
CPU_TARGET_PER_100K = 5.0  # job execution, rate limit off
PROCESS_CPU_TARGET_100K = 10.0  # the whole make-run-equivalent process at 100k orders
RSS_TARGET_MB = 300.0  # peak RSS at 1M orders (flat in N: 100k is reported beside it)
RSS_TARGET_ORDERS = 1_000_000
CLOCK_STEP_S = 900  # sandbox time between change batches (one 15-minute schedule tick)
RATE_AUTO_FRACTION = 0.5  # auto window: budget = half the unlimited request rate
RATE_FALLBACK_SCALE = 0.05  # 200 requests per 3 s when no unlimited run measured the natural rate

# One `POST /_sandbox/changes` batch (multiplied per run). Kinds the sandbox documents; numbers are ours.
CHANGE_COUNTS: dict[str, int] = {
    "contacts_created": 2, "orders_created": 6, "storefront_orders_created": 6, "storefront_only_orders": 2,
    "status_changes": 8, "goods_out_created": 5, "goods_out_shipped": 5, "product_edits": 4, "contact_edits": 4,
    "stock_changes": 6, "order_deletions": 1, "contact_deletions": 1, "silent_edits": 3,
}
# Which change kinds an incremental run can see (they move updatedOn / createdOn / shippedOn), by resource.
VISIBLE_KINDS: dict[str, tuple[str, ...]] = {
    "orders": ("orders_created", "storefront_orders_created", "status_changes"),
    "goods_out_notes": ("goods_out_created", "goods_out_shipped"),
    "products": ("product_edits",),
    "contacts": ("contacts_created", "contact_edits"),
}
# Found only by the nightly reconciliation (no change marker) or BigCommerce-only.
HIDDEN_KINDS = ("stock_changes", "order_deletions", "contact_deletions", "silent_edits")


class BenchError(RuntimeError):
    """A pipeline run failed: the message carries the tail of its log."""


@dataclass
class BenchConfig:
    scales: list[int]
    incremental_orders: int
    rate_orders: int
    rate_scales: list[str]  # "auto" or numbers
    change_multipliers: list[int]
    profile: str  # auto | always | never
    profile_orders: int
    workdir: Path
    seed: int = 42


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _check(run: ChildRun, what: str) -> None:
    if not run.ok:
        failures = "\n".join(run.summary.get("failures", []))
        raise BenchError(f"{what}: pipeline run failed (exit {run.returncode})\n{failures}\n--- log tail ---\n"
                         f"{run.log_tail()}")


def perf_of(run: ChildRun, orders: int, sandbox_cpu_s: float) -> dict[str, Any]:
    s = run.summary
    return {
        "wall_s": round(run.wall_s, 2), "job_wall_s": s.get("job_wall_s"), "cpu_s": round(run.cpu_s, 2),
        "cpu_user_s": round(run.cpu_user_s, 2), "cpu_sys_s": round(run.cpu_sys_s, 2),
        "job_cpu_s": s.get("job_cpu_s"), "import_cpu_s": s.get("import_cpu_s"),
        "job_cpu_per_100k": round(s.get("job_cpu_s", 0) * 100_000 / orders, 2),
        "cpu_per_100k": round(run.cpu_s * 100_000 / orders, 2),
        "maxrss_mb": round(run.maxrss_mb, 1), "rss_after_import_mb": s.get("rss_after_import_mb"),
        "peak_rss_by_step_mb": s.get("peak_rss_by_step_mb", {}), "step_seconds": s.get("step_seconds", {}),
        "cpu_by_step_s": s.get("cpu_by_step_s", {}),
        "sandbox_cpu_s": round(sandbox_cpu_s, 2), "api_calls": s.get("api_calls"), "throttled": s.get("throttled"),
        "retries": s.get("retries"), "governor_waits": s.get("governor_waits"),
        "governor_wait_s": s.get("governor_wait_s"), "other_cpu_s": round(run.other_cpu_s, 1),
    }


def _measured_run(sb: Sandbox, env: Mapping[str, str], log: Path, *, mode: str = "incremental",
                  profile: Path | None = None, timeline: bool = False, window_s: float = BP_WINDOW_S,
                  ) -> tuple[ChildRun, dict[str, int], float, dict[str, Any]]:
    """One pipeline process against `sb`: (run, sandbox request counts, sandbox CPU s, request-rate stats)."""
    sb.reset_requests()
    cpu0, busy0 = sb.cpu_s(), machine_busy_s()
    poller = RequestTimeline(sb) if timeline else None
    if poller:
        poller.start()
    try:
        run = run_pipeline(env, log, mode=mode, profile=profile)
    finally:
        if poller:
            poller.stop()
    sandbox_cpu = sb.cpu_s() - cpu0
    # Other processes' CPU during the run: wall times are only comparable when this is small.
    run.other_cpu_s = max(0.0, machine_busy_s() - busy0 - sandbox_cpu - run.cpu_s)
    _check(run, f"{mode} run ({log.name})")
    rates = timeline_stats(poller.points, window_s) if poller else {}
    return run, sb.request_counts(), sandbox_cpu, rates


# --------------------------------------------------------------------------------------------- 1 + 4
def full_extraction(cfg: BenchConfig, orders: int) -> dict[str, Any]:
    """Fresh warehouse, rate limit off: API cost vs minimum (1) and CPU / wall / RSS (4); at
    `cfg.incremental_orders` also the incremental runs (2) on the same sandbox and warehouse."""
    workdir = cfg.workdir / f"o{orders}"
    shutil.rmtree(workdir, ignore_errors=True)
    warehouse = workdir / "warehouse.duckdb"
    started_at = now_iso()  # a 1M run takes an hour: rows carry their start time
    with Sandbox(orders, cfg.seed) as sb:
        print(f"  sandbox up in {sb.started_s:.1f} s", flush=True)
        sb.disable_rate_limit()
        sizes = sb.resource_sizes()
        env = pipeline_env(sb, warehouse)
        run, counts, sandbox_cpu, timeline = _measured_run(sb, env, workdir / "full.log", timeline=True)
        result: dict[str, Any] = {
            "orders": orders, "measured_at": started_at, "sandbox_start_s": round(sb.started_s, 1),
            "sizes": sizes, "counts": counts, "measured": by_resource(counts), "minimum": minimum_calls(sizes),
            "rows": warehouse_rows(warehouse), "warehouse_mb": file_mb(warehouse),
            "perf": perf_of(run, orders, sandbox_cpu), "unlimited": timeline,
        }
        print(f"  full extraction: {sum(counts.values())} calls, job CPU {run.summary.get('job_cpu_s')} s, "
              f"peak RSS {run.maxrss_mb:.0f} MB, wall {run.wall_s:.1f} s", flush=True)
        if _wants_profile(cfg, orders, result["perf"]):
            result["profile"] = profile_run(sb, pipeline_env(sb, workdir / "profile" / "warehouse.duckdb"),
                                            workdir / "profile")
        if orders == cfg.incremental_orders:
            result["incremental"] = incremental_runs(cfg, sb, env, workdir)
    shutil.rmtree(workdir, ignore_errors=True)  # a 1M-order warehouse is GBs
    return result


def _wants_profile(cfg: BenchConfig, orders: int, perf: Mapping[str, Any]) -> bool:
    if cfg.profile == "never" or orders != cfg.profile_orders:
        return False
    return cfg.profile == "always" or perf["job_cpu_per_100k"] > CPU_TARGET_PER_100K


def profile_run(sb: Sandbox, env: Mapping[str, str], workdir: Path, top: int = 15) -> dict[str, Any]:
    """cProfile of a second full extraction into a fresh warehouse: where the job's CPU goes."""
    prof = workdir / "job.prof"
    print("  profiling a second full extraction (cProfile)...", flush=True)
    run, _, _, _ = _measured_run(sb, env, workdir / "profile.log", profile=prof)
    stats = pstats.Stats(str(prof))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{_short(path)}:{line}({func})", "ncalls": ncalls,
                     "tottime_s": round(tottime, 2), "cumtime_s": round(cumtime, 2)})
    by_tot = sorted(rows, key=lambda r: r["tottime_s"], reverse=True)[:top]
    ours = sorted((r for r in rows if "bp_pipelines/" in r["function"] and "sandbox" not in r["function"]),
                  key=lambda r: r["cumtime_s"], reverse=True)[:top]
    return {"profiled_cpu_s": round(total, 2), "wall_s": round(run.wall_s, 1), "measured_at": now_iso(),
            "job_cpu_s": run.summary.get("job_cpu_s"), "top_tottime": by_tot,
            "top_bp_pipelines_cumtime": ours}


def _short(path: str) -> str:
    for marker in ("site-packages/", f"{REPO}/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


# --------------------------------------------------------------------------------------------- 2
def _scaled_changes(multiplier: int) -> dict[str, int]:
    return {kind: n * multiplier for kind, n in CHANGE_COUNTS.items()}


def _changed(changes: Mapping[str, list[int]]) -> dict[str, int]:
    """Distinct Brightpearl records per resource an incremental run should pick up, plus hidden/BC-only kinds."""
    out = {res: len({i for kind in kinds for i in changes.get(kind, [])}) for res, kinds in VISIBLE_KINDS.items()}
    out["visible_total"] = sum(out[r] for r in VISIBLE_KINDS)
    out["hidden_total"] = sum(len(changes.get(k, [])) for k in HIDDEN_KINDS)
    out["all_kinds"] = {k: len(v) for k, v in changes.items()}
    return out


def _run_row(label: str, run: ChildRun, counts: dict[str, int], changed: dict[str, Any] | None) -> dict[str, Any]:
    steps = run.summary.get("steps", {})
    fetched = {step: s.get("records_fetched") for step, s in steps.items() if s.get("records_fetched")}
    return {"label": label, "calls": sum(counts.values()), "measured": by_resource(counts), "counts": counts,
            "changed": changed, "records_fetched": fetched, "wall_s": round(run.wall_s, 2),
            "job_cpu_s": run.summary.get("job_cpu_s"), "throttled": run.summary.get("throttled")}


def incremental_runs(cfg: BenchConfig, sb: Sandbox, env: Mapping[str, str], workdir: Path) -> list[dict[str, Any]]:
    rows = []
    run, counts, _, _ = _measured_run(sb, env, workdir / "nochange.log")
    rows.append(_run_row("no-change rerun (right after the full load)", run, counts, None))
    for mult in cfg.change_multipliers:
        sb.advance_clock(CLOCK_STEP_S)
        changes = sb.apply_changes(_scaled_changes(mult))
        run, counts, _, _ = _measured_run(sb, env, workdir / f"changes_x{mult}.log")
        changed = _changed(changes)
        rows.append(_run_row(f"incremental after change batch x{mult}", run, counts, changed))
        print(f"  incremental x{mult}: {changed['visible_total']} records changed -> {sum(counts.values())} calls",
              flush=True)
    run, counts, _, _ = _measured_run(sb, env, workdir / "nochange2.log")
    rows.append(_run_row("no-change rerun (after the incremental runs)", run, counts, None))
    run, counts, _, _ = _measured_run(sb, env, workdir / "reconciliation.log", mode="reconciliation")
    rows.append(_run_row("reconciliation (nightly id sweep)", run, counts, None))
    return rows


# --------------------------------------------------------------------------------------------- 3
def auto_window_scale(natural_rps: float | None) -> float:
    """Window scale whose budget is RATE_AUTO_FRACTION of the unlimited request rate: the limit must bind,
    or the run measures the pipeline's speed instead of the governor."""
    if not natural_rps:
        return RATE_FALLBACK_SCALE
    budget = natural_rps * RATE_AUTO_FRACTION
    return float(f"{BP_RATE_LIMIT / (budget * BP_WINDOW_S):.3g}")


def rate_limited(cfg: BenchConfig, window_scale: float, natural_rps: float | None) -> dict[str, Any]:
    """Full extraction with the rate limit on and the window scaled: requests/s vs the budget, 503s."""
    workdir = cfg.workdir / "rate"
    shutil.rmtree(workdir, ignore_errors=True)
    window_s = BP_WINDOW_S * window_scale
    started_at = now_iso()
    with Sandbox(cfg.rate_orders, cfg.seed, window_scale=window_scale) as sb:
        sb.set_rate_limit(enabled=True, window_scale=window_scale)
        env = pipeline_env(sb, workdir / "warehouse.duckdb")
        run, counts, _, rates = _measured_run(sb, env, workdir / "rate.log", timeline=True, window_s=window_s)
    shutil.rmtree(workdir, ignore_errors=True)
    result = {"orders": cfg.rate_orders, "measured_at": started_at, "window_scale": window_scale,
              "window_s": window_s, "budget_rps": BP_RATE_LIMIT / window_s, "calls": sum(counts.values()),
              "natural_rps": natural_rps, "throttled_client": run.summary.get("throttled"),
              "retries": run.summary.get("retries"), "governor_waits": run.summary.get("governor_waits"),
              "governor_wait_s": run.summary.get("governor_wait_s"), "wall_s": round(run.wall_s, 2),
              "job_wall_s": run.summary.get("job_wall_s"), "measured": by_resource(counts)}
    result.update(rates)
    return result


def timeline_stats(points: list[tuple[float, int]], window_s: float) -> dict[str, Any]:
    """Rates from the polled request counter: overall busy span, after the first window, max per window."""
    if not points or points[-1][1] == 0:
        return {}
    final = points[-1][1]
    t_first = next(t for t, n in points if n > 0)
    t_last = next(t for t, n in points if n == final)
    busy = max(t_last - t_first, 1e-9)

    times = [t for t, _ in points]

    def count_at(t: float) -> int:  # counters only grow: the last poll at or before t
        i = bisect.bisect_right(times, t)
        return points[i - 1][1] if i else 0

    steady_from = t_first + window_s
    steady = None
    if t_last - steady_from > window_s:
        steady = (final - count_at(steady_from)) / (t_last - steady_from)
    max_window = max(count_at(t + window_s) - n for t, n in points if t <= t_last)
    return {"busy_s": round(busy, 2), "windows_spanned": round(busy / window_s, 1),
            "achieved_rps": round(final / busy, 2), "steady_rps": round(steady, 2) if steady is not None else None,
            "max_in_window": max_window, "poll_interval_s": round(_median_gap(points), 3)}


def _median_gap(points: list[tuple[float, int]]) -> float:
    gaps = sorted(b[0] - a[0] for a, b in zip(points, points[1:], strict=False))
    return gaps[len(gaps) // 2] if gaps else math.nan
