"""Harness for the browser test: the `make dev` stack (sandbox + `dagster dev`) on an ephemeral port.

It runs the real entry point, `python -m bp_pipelines.cli dev`, in its own session with a throw-away DAGSTER_HOME and
warehouse, so the test also covers `make dev`'s start-up and its SIGTERM shutdown. Every process of the stack carries
a marker environment variable: teardown finds them all that way, even ones that were re-parented to init.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Flags measured to work for Debian's chromium on these machines (see stack-notes.md).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
MARKER_VAR = "BP_BROWSER_TEST_STACK"
# Variables that would point the stack at real services: dropped so it always runs against the sandbox.
CREDENTIAL_VARS = (
    "BRIGHTPEARL_BASE_URL",
    "BRIGHTPEARL_ACCOUNT",
    "BRIGHTPEARL_APP_REF",
    "BRIGHTPEARL_ACCOUNT_TOKEN",
    "BIGCOMMERCE_BASE_URL",
    "BIGCOMMERCE_STORE_HASH",
    "BIGCOMMERCE_ACCESS_TOKEN",
)

LOCATIONS_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""
ASSET_NODES_QUERY = "{ assetNodes { assetKey { path } groupName isPartitioned } }"
RUNS_QUERY = """
query Runs($limit: Int) { runsOrError(limit: $limit) { __typename ... on Runs { results {
    runId status jobName assetSelection { path }
} } } }
"""


class StackError(RuntimeError):
    """The stack did not come up or a GraphQL call failed; the message carries the log tail."""


def free_port() -> int:
    """A port that was free a moment ago (the tiny race with other binders is acceptable for a test)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class AssetNode:
    path: tuple[str, ...]
    group: str
    partitioned: bool

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def selection(self) -> str:
        """The node in Dagster's asset selection syntax, as typed into the UI filter."""
        return 'key:"{}"'.format("/".join(self.path))


@dataclass(frozen=True)
class StopReport:
    seconds: float
    exit_code: int | None
    survivors: tuple[str, ...]  # "pid cmdline" of stack processes still alive after the graceful stop


class DagsterStack:
    """`python -m bp_pipelines.cli dev` with its own DAGSTER_HOME, warehouse and port; a context manager."""

    def __init__(
        self,
        workdir: Path,
        *,
        orders: int = 200,
        command: Sequence[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dagster_home = workdir / "dagster_home"
        self.warehouse_path = workdir / "warehouse.duckdb"
        self.log_path = workdir / "stack.log"
        self.marker = uuid.uuid4().hex
        # `{port}` in a custom command is filled in (lets the harness drive any `dagster dev` variant).
        self.command = (
            [part.format(port=self.port) for part in command]
            if command
            else [sys.executable, "-m", "bp_pipelines.cli", "dev"]
        )
        self.env = self._environment(orders, extra_env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(timeout=30.0)
        self._stopped: StopReport | None = None

    def _environment(self, orders: int, extra_env: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
        env.update(
            {
                "DAGSTER_HOME": str(self.dagster_home),
                "BP_WAREHOUSE_PATH": str(self.warehouse_path),
                "BP_DEV_PORT": str(self.port),
                "BP_SANDBOX_ORDERS": str(orders),
                "PYTHONUNBUFFERED": "1",
                MARKER_VAR: self.marker,
            }
        )
        env.update(extra_env)
        return env

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def __enter__(self) -> DagsterStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout_s: float = 180.0) -> None:
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        # The same instance config `make install` copies into .dagster_home (telemetry off, pools, run queue).
        shutil.copyfile(REPO_ROOT / "dagster.yaml", self.dagster_home / "dagster.yaml")
        with self.log_path.open("wb") as log:
            # Own session: the harness signals the stack like a terminal user would, never the pytest process.
            self.proc = subprocess.Popen(
                self.command,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout_s)
            self.mark_nux_seen()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        """Until /graphql answers and every code location has loaded (the UI shows nothing useful before)."""
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise StackError(f"stack exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                entries = self.graphql(LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
            except (httpx.HTTPError, StackError) as exc:
                last = repr(exc)
            else:
                errors = [
                    e
                    for e in entries
                    if e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"] == "PythonError"
                ]
                if errors:
                    raise StackError(f"code location failed to load: {errors}\n{self.log_tail()}")
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    return
                last = f"locations: {entries}"
            time.sleep(0.5)
        raise StackError(f"stack not ready after {timeout_s:.0f} s ({last}):\n{self.log_tail()}")

    def stop(self, timeout_s: float = 30.0) -> StopReport:
        """SIGTERM the entry point (what `kill`/Ctrl-C do to `make dev`), then SIGKILL anything of ours left over."""
        if self._stopped is not None:
            return self._stopped
        started = time.monotonic()
        exit_code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                exit_code = self.proc.wait(timeout=timeout_s)
        survivors = self._wait_for_marked_processes(started + timeout_s)
        seconds = time.monotonic() - started
        for proc in survivors:  # the safety net: a broken shutdown must not leak processes into the next test
            with contextlib.suppress(psutil.Error):
                proc.kill()
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._http.close()
        self._stopped = StopReport(seconds, exit_code, tuple(_describe(p) for p in survivors))
        return self._stopped

    def _wait_for_marked_processes(self, deadline: float) -> list[psutil.Process]:
        """Stack processes still alive at the deadline (zombies count as gone: they hold no port or file)."""
        while True:
            alive = [p for p in marked_processes(self.marker) if _alive(p)]
            if not alive or time.monotonic() >= deadline:
                return alive
            time.sleep(0.2)

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    # -- GraphQL -----------------------------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._http.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise StackError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def mark_nux_seen(self) -> None:
        """Dismiss the 'Join the Dagster community' modal for this DAGSTER_HOME (it would cover the page)."""
        assert self.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True

    def asset_nodes(self) -> list[AssetNode]:
        nodes = self.graphql(ASSET_NODES_QUERY)["assetNodes"]
        return [AssetNode(tuple(n["assetKey"]["path"]), n["groupName"], n["isPartitioned"]) for n in nodes]

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        result = self.graphql(RUNS_QUERY, {"limit": limit})["runsOrError"]
        if result["__typename"] != "Runs":
            raise StackError(f"runsOrError: {result}")
        return list(result["results"])


def marked_processes(marker: str) -> list[psutil.Process]:
    """Every process whose environment carries our marker (children inherit it, wherever they are re-parented)."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.pid != os.getpid() and proc.environ().get(MARKER_VAR) == marker:
                found.append(proc)
    return found


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline())[:160]}"
    except psutil.Error:
        return str(proc.pid)
