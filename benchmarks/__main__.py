"""`make bench` = `python -m benchmarks`: run the scenarios, print the results, rewrite BENCHMARKS.md "Extraction".

Environment (all optional):
    BENCH_SCALES              full-extraction scales in orders, default 10000,100000 (add 1000000 for the memory
                              target; that run takes tens of minutes)
    BENCH_INCREMENTAL_ORDERS  scale of the incremental runs (default: smallest scale; 0 skips them)
    BENCH_RATE_ORDERS         scale of the rate-limited runs (default 100000: ~1,500 requests); BENCH_RATE=0 skips
    BENCH_RATE_SCALES         sandbox rate-window scales, comma-separated (default auto = the window whose budget
                              is half the unlimited request rate measured at that scale; 0.05 = 200 requests / 3 s)
    BENCH_CHANGES             change-batch multipliers of the incremental runs (default 1,10)
    BENCH_PROFILE             auto (profile when the CPU target is missed) | always | never
    BENCH_PROFILE_ORDERS      scale profiled (default 100000, else the largest scale run)
    BENCH_WORKDIR             scratch directory (default: a temp dir, removed afterwards)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import report
from .scenarios import (
    BP_RATE_LIMIT,
    BP_WINDOW_S,
    BenchConfig,
    BenchError,
    auto_window_scale,
    full_extraction,
    rate_limited,
)


def _ints(name: str, default: str) -> list[int]:
    raw = os.environ.get(name) or default
    return [int(x.replace("_", "")) for x in raw.split(",") if x.strip()]


def config(workdir: Path) -> BenchConfig:
    scales = sorted(set(_ints("BENCH_SCALES", "10000,100000")))
    profile_default = 100_000 if 100_000 in scales else max(scales)
    profile = (os.environ.get("BENCH_PROFILE") or "auto").lower()
    if profile not in ("auto", "always", "never"):
        raise SystemExit(f"BENCH_PROFILE must be auto, always or never, not {profile!r}")
    return BenchConfig(
        scales=scales,
        incremental_orders=_ints("BENCH_INCREMENTAL_ORDERS", str(min(scales)))[0],
        rate_orders=_ints("BENCH_RATE_ORDERS", "100000")[0] if os.environ.get("BENCH_RATE", "1") != "0" else 0,
        rate_scales=[x.strip() for x in (os.environ.get("BENCH_RATE_SCALES") or "auto").split(",") if x.strip()],
        change_multipliers=_ints("BENCH_CHANGES", "1,10"),
        profile=profile,
        profile_orders=_ints("BENCH_PROFILE_ORDERS", str(profile_default))[0],
        workdir=workdir,
    )


def describe(cfg: BenchConfig) -> str:
    rate = (f"rate-limited runs at {cfg.rate_orders:,} orders, window scales {', '.join(cfg.rate_scales)}"
            if cfg.rate_orders else "no rate-limited run")
    incremental = f"incremental runs at {cfg.incremental_orders:,}" if cfg.incremental_orders else \
        "no incremental runs"
    return f"This run: scales {', '.join(f'{s:,}' for s in cfg.scales)} orders; {incremental}; {rate}."


def natural_rps(results: dict[str, Any], orders: int) -> float | None:
    """Requests/s of the unlimited full extraction at `orders` (this run's, else the stored one)."""
    scale = results["scales"].get(str(orders)) or {}
    return (scale.get("unlimited") or {}).get("achieved_rps")


def rate_runs(cfg: BenchConfig, results: dict[str, Any]) -> list[dict[str, Any]]:
    runs = []
    natural = natural_rps(results, cfg.rate_orders)
    for raw in cfg.rate_scales:
        scale = auto_window_scale(natural) if raw == "auto" else float(raw)
        code = report.machine()
        print(f"bench: rate-limited extraction at {cfg.rate_orders:,} orders, window scale {scale:g} "
              f"({BP_RATE_LIMIT} requests per {BP_WINDOW_S * scale:.1f} s)", flush=True)
        run = rate_limited(cfg, scale, natural)
        print(f"  {run['calls']} requests, {run.get('achieved_rps')} req/s of {run['budget_rps']:.2f} budget, "
              f"{run['throttled_client']} throttled", flush=True)
        runs.append({**run, "auto": raw == "auto", "machine": code})
    return runs


def main() -> int:
    own_workdir = not os.environ.get("BENCH_WORKDIR")
    workdir = Path(os.environ.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="bp_bench_"))
    cfg = config(workdir)
    if cfg.incremental_orders and cfg.incremental_orders not in cfg.scales:
        cfg.scales = sorted({*cfg.scales, cfg.incremental_orders})
    results = report.load_results()
    started = time.monotonic()
    try:
        for orders in cfg.scales:
            print(f"bench: full extraction at {orders:,} orders", flush=True)
            code = report.machine()  # before the run: the code measured is the code at its start
            results["scales"][str(orders)] = {**full_extraction(cfg, orders), "machine": code}
            report.save_results(results)
        if cfg.rate_orders:
            results["rate"] = rate_runs(cfg, results)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report.stamp(results)
    report.save_results(results)
    section = report.render(results, describe(cfg))
    report.write_section(section)
    print()
    print(section)
    print(f"bench: done in {time.monotonic() - started:.0f} s; wrote {report.BENCHMARKS_MD} (section "
          f"\"{report.HEADING[3:]}\") and {report.RESULTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
