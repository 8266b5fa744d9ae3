"""Measuring tools: the pipeline child process (CPU, peak RSS via wait4), the sandbox control API, request
timelines, and the documented minimum API cost of a full extraction."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psutil

from bp_pipelines.sandbox_process import SandboxProcess

from .run_job import RESULT_PREFIX

REPO = Path(__file__).resolve().parent.parent
MB = 1024  # ru_maxrss is in KiB on Linux

# Documented limits (../shared/reference/brightpearl-api.md, docs/architecture.md).
SEARCH_PAGE = 500
AVAILABILITY_IDS = 100
NO_LIMIT_WINDOW_SCALE = 0.0001  # 60 s x 0.0001 = 6 ms


@dataclass(frozen=True)
class ResourceSpec:
    """One searchable resource: which sandbox endpoints belong to it and its ID-set GET limit."""

    name: str
    search: str
    get_prefix: str  # "" = no GET by id: the search row is the whole record (customer payments)
    get_batch: int
    table: str


RESOURCES = (
    ResourceSpec("orders", "order-service/order-search", "order-service/order/", 200, "orders"),
    ResourceSpec("products", "product-service/product-search", "product-service/product/", 200, "products"),
    ResourceSpec("contacts", "contact-service/contact-search", "contact-service/contact", 200, "contacts"),
    ResourceSpec("goods_out_notes", "warehouse-service/goods-note/goods-out-search", "warehouse-service/order/", 500,
                 "goods_out_notes"),
    ResourceSpec("customer_payments", "accounting-service/customer-payment-search", "", 0, "customer_payments"),
)
STOCK_PREFIX = "warehouse-service/product-availability"
REFERENCE_ENDPOINTS = ("order-service/order-status", "warehouse-service/warehouse", "product-service/channel",
                       "warehouse-service/shipping-method", "contact-service/tag")
ACCOUNT_CHECK_GETS = 1  # the `brightpearl_account` asset's one cheap authenticated GET (warehouse list) per run
RESOURCE_ORDER = (*(r.name for r in RESOURCES), "stock_levels", "reference", "other")


def classify(endpoint: str) -> str:
    """Sandbox endpoint key (`GET order-service/order/{ids}`) -> resource name used in the tables."""
    path = endpoint.split(" ", 1)[-1]
    for spec in RESOURCES:
        if path == spec.search or (spec.get_prefix and path.startswith(spec.get_prefix) and "search" not in path):
            return spec.name
    if path.startswith(STOCK_PREFIX):
        return "stock_levels"
    if any(path == ref or path.startswith(ref + "/") for ref in REFERENCE_ENDPOINTS):
        return "reference"
    return "other"


def by_resource(counts: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """{resource: {"search": n, "get": n}} from endpoint counts."""
    out: dict[str, dict[str, int]] = {}
    for endpoint, n in counts.items():
        resource = classify(endpoint)
        kind = "search" if endpoint.endswith("-search") else "get"
        slot = out.setdefault(resource, {"search": 0, "get": 0})
        slot[kind] += n
    return out


def minimum_calls(sizes: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Documented minimum of a full extraction: ceil(n/500) search pages + ceil(n/batch) ID-set GETs per resource
    (none for customer payments: the search row is the record), ceil(products/100) availability calls, one list GET
    per reference table, plus the account check's one GET."""
    out = {spec.name: {"search": max(1, math.ceil(sizes[spec.name] / SEARCH_PAGE)),
                       "get": math.ceil(sizes[spec.name] / spec.get_batch) if spec.get_batch else 0}
           for spec in RESOURCES}
    out["stock_levels"] = {"search": 0, "get": math.ceil(sizes["products"] / AVAILABILITY_IDS)}
    out["reference"] = {"search": 0, "get": len(REFERENCE_ENDPOINTS) + ACCOUNT_CHECK_GETS}
    return out


# --------------------------------------------------------------------------------------------- sandbox
class Sandbox:
    """A sandbox subprocess plus its control API."""

    def __init__(self, orders: int, seed: int = 42, window_scale: float | None = None) -> None:
        # A fixed sandbox clock: reproducible worlds, cached once (the live default would build one per day).
        extra = ("--clock", "2026-11-20T12:00:00Z") + (("--rate-window-scale", str(window_scale)) if window_scale else ())
        self.process = SandboxProcess(seed=seed, orders=orders, extra_args=extra, startup_timeout_s=1800.0)
        self.orders = orders
        self.http = httpx.Client(timeout=600.0)
        self.started_s = 0.0

    def __enter__(self) -> Sandbox:
        t0 = time.monotonic()
        self.process.start()
        self.started_s = time.monotonic() - t0
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.process.stop()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.http.request(method, f"{self.process.control_url}/{path}", json=body)
        resp.raise_for_status()
        return resp.json()

    def set_rate_limit(self, *, enabled: bool | None = None, window_scale: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if enabled is not None:
            body["enabled"] = enabled
        if window_scale is not None:
            body["window_scale"] = window_scale
        return self.control("POST", "rate-limit", body)

    def disable_rate_limit(self) -> None:
        """No rate limit. `enabled: false` alone stops the 503s, but the sandbox still counts requests and sends a
        falling `requests-remaining` header, on which the client's governor waits out the "period" anyway. A
        tiny window (6 ms) keeps that header near 200, so nothing throttles the client."""
        self.set_rate_limit(enabled=False, window_scale=NO_LIMIT_WINDOW_SCALE)

    def reset_requests(self) -> None:
        self.control("DELETE", "requests")

    def request_counts(self) -> dict[str, int]:
        """Brightpearl requests since the last reset, keyed `GET order-service/order/{ids}` (503s included)."""
        counts = self.control("GET", "requests")["counts"]
        return {k.split(" ", 1)[1]: int(v) for k, v in counts.items() if k.startswith("brightpearl ")}

    def advance_clock(self, seconds: float) -> None:
        self.control("POST", "clock/advance", {"seconds": seconds})

    def apply_changes(self, counts: Mapping[str, int]) -> dict[str, list[int]]:
        return self.control("POST", "changes", {"counts": dict(counts)})["changes"]

    def cpu_s(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def results_available(self, search_path: str) -> int:
        """Record count of a search (one pageSize=1 request: counted by the sandbox, so reset afterwards)."""
        state = self.process.state or {}
        url = f"{state['brightpearl_base_url']}/public-api/{state['brightpearl_account']}/{search_path}"
        headers = {"brightpearl-app-ref": state["brightpearl_app_ref"],
                   "brightpearl-account-token": state["brightpearl_account_token"]}
        resp = self.http.get(url, params={"pageSize": 1, "firstResult": 1}, headers=headers)
        resp.raise_for_status()
        return int(resp.json()["response"]["metaData"]["resultsAvailable"])

    def resource_sizes(self) -> dict[str, int]:
        return {spec.name: self.results_available(spec.search) for spec in RESOURCES}


class RequestTimeline(threading.Thread):
    """Polls the sandbox's request counters: (monotonic time, total Brightpearl requests) every `interval_s`."""

    def __init__(self, sandbox: Sandbox, interval_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.sandbox, self.interval_s = sandbox, interval_s
        self.points: list[tuple[float, int]] = []
        self._halt = threading.Event()
        self._http = httpx.Client(timeout=30.0)

    def run(self) -> None:
        url = f"{self.sandbox.process.control_url}/requests"
        while not self._halt.is_set():
            counts = self._http.get(url).json()["counts"]
            total = sum(int(v) for k, v in counts.items() if k.startswith("brightpearl "))
            self.points.append((time.monotonic(), total))
            self._halt.wait(self.interval_s)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self._http.close()


# --------------------------------------------------------------------------------------------- child run
@dataclass
class ChildRun:
    """One pipeline process: its own rusage (wait4) and the JSON summary it printed."""

    returncode: int
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    maxrss_mb: float
    summary: dict[str, Any] = field(default_factory=dict)
    log_path: str = ""
    other_cpu_s: float = 0.0  # CPU of unrelated processes on the machine during the run

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.summary.get("success"))

    def log_tail(self, chars: int = 3000) -> str:
        return Path(self.log_path).read_text(errors="replace")[-chars:] if self.log_path else ""


def run_pipeline(env: Mapping[str, str], log_path: Path, *, mode: str = "incremental", force: bool = False,
                 profile: Path | None = None) -> ChildRun:
    cmd = [sys.executable, "-m", "benchmarks.run_job", "--mode", mode]
    if force:
        cmd.append("--force")
    if profile is not None:
        cmd += ["--profile", str(profile)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(env), cwd=REPO)
        # wait4 returns the rusage of exactly this child (and its reaped descendants): not the sandbox's.
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    summary: dict[str, Any] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith(RESULT_PREFIX):
            summary = json.loads(line[len(RESULT_PREFIX):])
    return ChildRun(proc.returncode, wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / MB, summary,
                    str(log_path))


def machine_busy_s() -> float:
    """CPU seconds spent by every process on the machine so far (to tell how busy it was during a run)."""
    t = psutil.cpu_times()
    # guest time is already inside user/nice on Linux; idle and iowait are not work.
    return sum(getattr(t, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq", "steal"))


def pipeline_env(sandbox: Sandbox, warehouse: Path) -> dict[str, str]:
    env = {**os.environ, **sandbox.process.env(), "BP_WAREHOUSE_PATH": str(warehouse)}
    env.pop("DAGSTER_HOME", None)  # the child uses an ephemeral instance
    return env


def warehouse_rows(warehouse: Path) -> dict[str, int]:
    """Live (not deleted) rows per table of the published warehouse."""
    tables = ("orders", "order_rows", "products", "contacts", "goods_out_notes", "goods_out_note_rows",
              "stock_levels")
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {t: int(conn.execute(f"SELECT count(*) FROM brightpearl.{t} WHERE NOT is_deleted").fetchone()[0])  # type: ignore[index]
                for t in tables}


def file_mb(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 1) if path.exists() else 0.0
