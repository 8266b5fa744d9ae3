"""Run `brightpearl_sync` once in THIS process and print its measurements as one JSON line.

    python -m benchmarks.run_job --mode incremental [--force] [--profile out.prof]

The harness starts this module as a subprocess (environment: BRIGHTPEARL_* of the sandbox, BP_WAREHOUSE_PATH),
so CPU time and peak RSS belong to the materializing process alone. The job runs with `execute_in_process` on
an ephemeral instance: no DAGSTER_HOME, no run storage left behind.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import sys
import threading
import time
from collections import defaultdict
from typing import Any

import psutil

RESULT_PREFIX = "BENCH_RESULT "
JOB_NAME = "brightpearl_sync"
SAMPLE_INTERVAL_S = 0.1
# Metadata summed per asset (rows_*) or taken once per step (client counters: a multi-asset yields two
# materializations carrying the same client's stats).
ROW_KEYS = ("rows_inserted", "rows_updated", "rows_deleted", "rows_undeleted", "rows_quarantined")
STEP_KEYS = ("api_calls", "throttled", "retries", "records_fetched")


class RssSampler(threading.Thread):
    """Samples this process's RSS so the peak can be attributed to the step that was running."""

    def __init__(self, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        super().__init__(daemon=True)
        self.interval_s = interval_s
        self.samples: list[tuple[float, int]] = []
        self.cpu_samples: list[tuple[float, float]] = []  # (time, process CPU s): CPU per step
        self._halt = threading.Event()
        self._proc = psutil.Process()

    def run(self) -> None:
        while not self._halt.is_set():
            now, cpu = time.time(), self._proc.cpu_times()
            self.samples.append((now, self._proc.memory_info().rss))
            self.cpu_samples.append((now, cpu.user + cpu.system))
            self._halt.wait(self.interval_s)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _count_governor_waits() -> dict[str, float]:
    """Process-wide total of the client's pre-emptive rate waits. Per-asset metadata does not carry them, so
    the benchmark wraps `ClientStats.record_wait` (instrumentation only: the behaviour is unchanged)."""
    from bp_pipelines.lib.brightpearl.stats import ClientStats

    totals = {"waits": 0.0, "wait_s": 0.0}
    original = ClientStats.record_wait

    def record_wait(self: ClientStats, seconds: float) -> None:
        if seconds > 0:
            totals["waits"] += 1
            totals["wait_s"] += seconds
        original(self, seconds)

    ClientStats.record_wait = record_wait  # type: ignore[method-assign]
    return totals


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _plain(value: Any) -> Any:
    inner = getattr(value, "value", value)
    return inner if isinstance(inner, int | float | str | bool | dict | list) or inner is None else str(inner)


def _step_windows(instance: Any, run_id: str) -> dict[str, list[float]]:
    """step key -> [start, end] wall-clock timestamps from the run's event log."""
    windows: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            windows[event.step_key] = [entry.timestamp, entry.timestamp]
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in windows:
            windows[event.step_key][1] = entry.timestamp
    return windows


def _step_peaks(windows: dict[str, list[float]], samples: list[tuple[float, int]]) -> dict[str, float]:
    peaks: dict[str, float] = {}
    for step, (start, end) in windows.items():
        inside = [rss for t, rss in samples if start <= t <= end]
        if inside:
            peaks[step] = round(max(inside) / 2**20, 1)
    return peaks


def _step_cpu(windows: dict[str, list[float]], samples: list[tuple[float, float]]) -> dict[str, float]:
    """Process CPU seconds spent while each step ran (sampled every SAMPLE_INTERVAL_S: steps shorter than that read
    0; the few steps that overlap in time share their CPU)."""

    def at(t: float) -> float:
        before = [cpu for ts, cpu in samples if ts <= t]
        return before[-1] if before else 0.0

    return {step: round(max(0.0, at(end) - at(start)), 2) for step, (start, end) in windows.items()}


def _materializations(result: Any) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(per asset: row counts + metadata, per step: client counters)."""
    assets: dict[str, dict[str, Any]] = {}
    steps: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        meta = {k: _plain(v) for k, v in mat.metadata.items()}
        assets[mat.asset_key.to_user_string()] = {
            "step": event.step_key, **{k: meta.get(k) for k in ROW_KEYS}, "mode": meta.get("mode"),
            "outcome": meta.get("outcome"), "refresh": meta.get("refresh"),
        }
        if event.step_key not in steps:
            steps[event.step_key] = {**{k: meta.get(k, 0) for k in STEP_KEYS},
                                     "api_calls_by_endpoint": meta.get("api_calls_by_endpoint") or {}}
    return assets, steps


def _failures(result: Any) -> list[str]:
    return [f"{e.step_key}: {e.event_specific_data.error.message.strip()[:2000]}"
            for e in result.all_events if e.is_step_failure]


def run(mode: str, force: bool, profile_path: str | None) -> dict[str, Any]:
    started_wall, started_cpu = time.monotonic(), _cpu_s()
    import dagster as dg

    from bp_pipelines.definitions import defs
    from bp_pipelines.schedules import sync_run_config

    job = defs.resolve_job_def(JOB_NAME)
    partition_key = job.partitions_def.get_last_partition_key() if job.partitions_def else None
    run_config = sync_run_config(mode, force=force)
    governor = _count_governor_waits()
    import_cpu, import_rss = _cpu_s() - started_cpu, psutil.Process().memory_info().rss
    sampler = RssSampler()
    sampler.start()
    # CPU clock, not wall: waiting for the sandbox's answers (socket recv) must not look like a hot spot.
    profiler = cProfile.Profile(time.process_time) if profile_path else None
    with dg.DagsterInstance.ephemeral() as instance:
        job_wall, job_cpu = time.monotonic(), _cpu_s()
        if profiler:
            profiler.enable()
        result = job.execute_in_process(run_config=run_config, instance=instance, partition_key=partition_key,
                                        raise_on_error=False)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile_path)
        job_wall, job_cpu = time.monotonic() - job_wall, _cpu_s() - job_cpu
        sampler.stop()
        windows = _step_windows(instance, result.run_id)
    assets, steps = _materializations(result)
    peak_step = _step_peaks(windows, sampler.samples)
    return {
        "success": result.success, "mode": mode, "force": force, "partition_key": partition_key,
        "failures": _failures(result),
        "import_cpu_s": round(import_cpu, 3), "rss_after_import_mb": round(import_rss / 2**20, 1),
        "job_wall_s": round(job_wall, 3), "job_cpu_s": round(job_cpu, 3),
        "process_wall_s": round(time.monotonic() - started_wall, 3),
        "peak_rss_sampled_mb": round(max((r for _, r in sampler.samples), default=0) / 2**20, 1),
        "peak_rss_by_step_mb": peak_step,
        "cpu_by_step_s": _step_cpu(windows, sampler.cpu_samples),
        "step_seconds": {k: round(v[1] - v[0], 3) for k, v in windows.items()},
        "assets": assets, "steps": steps,
        "api_calls": sum(s["api_calls"] or 0 for s in steps.values()),
        "throttled": sum(s["throttled"] or 0 for s in steps.values()),
        "retries": sum(s["retries"] or 0 for s in steps.values()),
        "governor_waits": int(governor["waits"]), "governor_wait_s": round(governor["wait_s"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_job")
    parser.add_argument("--mode", default="incremental", choices=["auto", "incremental", "partition", "reconciliation"])
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--profile", default=None, help="write cProfile stats of the job execution here")
    args = parser.parse_args(argv)
    summary = run(args.mode, args.force, args.profile)
    aggregated: dict[str, int] = defaultdict(int)
    for step in summary["steps"].values():
        for endpoint, n in (step.get("api_calls_by_endpoint") or {}).items():
            aggregated[endpoint] += int(n)
    summary["client_calls_by_endpoint"] = dict(sorted(aggregated.items()))
    print(RESULT_PREFIX + json.dumps(summary, default=str), flush=True)
    return 0 if summary["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
