"""pytest plugin: sandbox fixtures for any test suite (registered through the ``pytest11`` entry point).

Installing ``bp-sandbox`` makes these fixtures available everywhere, with no conftest import:

* ``sandbox`` (session): one shared sandbox subprocess (seed 42, 300 orders, rate windows x0.01) on
  ephemeral loopback ports. Treat it as read-only: tests that write data, inject faults they do not clear,
  or need full-length rate windows should use ``fresh_sandbox``.
* ``fresh_sandbox`` (function): factory ``fresh_sandbox(seed=7, orders=300, rate_window_scale=0.01)`` that
  starts a private sandbox (stopped at test end).
* ``module_sandbox`` (module): the same factory, but sandboxes live until the test module ends (share one
  mutable sandbox between the tests of a module).

Both yield a :class:`SandboxHandle` with the URLs/credentials of ``python -m bp_sandbox`` and
helpers for the control API (``advance_clock``, ``apply_changes``, ``add_fault``, ``clear_faults``,
``set_rate_limit``, ``request_counts``, ``reset_request_counts``), plus ``bp_get`` for quick raw calls and
``storefront_state`` for the storefront as the sandbox holds it.
:func:`start_sandbox` starts one directly. The sandbox always runs as a subprocess: this module imports
nothing else from ``bp_sandbox``.
"""

from __future__ import annotations

import functools
import json
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .generator.changes import DEFAULT_COUNTS

__all__ = ["SandboxHandle", "fresh_sandbox", "http_client", "module_sandbox", "sandbox", "start_sandbox"]

SESSION_SEED, SESSION_ORDERS, SESSION_WINDOW_SCALE = 42, 300, 0.01
# Tests run on a fixed clock (deterministic content); `python -m bp_sandbox` alone follows the machine's clock.
FIXED_CLOCK = "2026-11-20T12:00:00Z"


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def http_client(**kwargs: Any) -> httpx.Client:
    """An `httpx.Client` sharing one TLS context: httpx builds one per client otherwise (~30 ms: the CA bundle is
    loaded), even for the sandbox's plain-HTTP URLs, and tests make many clients."""
    return httpx.Client(verify=_ssl_context(), **kwargs)


@dataclass
class SandboxHandle:
    """A running sandbox subprocess. URLs follow the CLI state file (see docs/sandbox.md)."""

    state: dict[str, Any]
    process: subprocess.Popen[bytes]
    log_path: Path
    _client: httpx.Client = field(default_factory=lambda: http_client(timeout=60.0))

    # -- connection details -------------------------------------------------------------------
    @property
    def brightpearl_base_url(self) -> str:
        return self.state["brightpearl_base_url"]

    @property
    def brightpearl_account(self) -> str:
        return self.state["brightpearl_account"]

    @property
    def brightpearl_app_ref(self) -> str:
        return self.state["brightpearl_app_ref"]

    @property
    def brightpearl_account_token(self) -> str:
        return self.state["brightpearl_account_token"]

    @property
    def bigcommerce_base_url(self) -> str:
        return self.state["bigcommerce_base_url"]

    @property
    def bigcommerce_store_hash(self) -> str:
        return self.state["bigcommerce_store_hash"]

    @property
    def bigcommerce_access_token(self) -> str:
        return self.state["bigcommerce_access_token"]

    @property
    def control_url(self) -> str:
        return self.state["control_url"]

    @property
    def brightpearl_api(self) -> str:
        """`{base}/public-api/{account}` — what a client prefixes to `order-service/...`."""
        return f"{self.brightpearl_base_url}/public-api/{self.brightpearl_account}"

    def bp_headers(self) -> dict[str, str]:
        return {
            "brightpearl-app-ref": self.brightpearl_app_ref,
            "brightpearl-account-token": self.brightpearl_account_token,
        }

    def bc_headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.bigcommerce_access_token, "Accept": "application/json"}

    # -- raw helpers ----------------------------------------------------------------------------
    def bp_get(self, path: str, **params: Any) -> httpx.Response:
        return self._client.get(f"{self.brightpearl_api}/{path}", params=params, headers=self.bp_headers())

    def storefront_state(self, path: str, **params: Any) -> Any:
        """The storefront's state as the sandbox holds it (`/_sandbox/storefront/<path>`, JSON), for assertions."""
        resp = self._client.get(f"{self.bigcommerce_base_url}/_sandbox/storefront/{path.lstrip('/')}", params=params)
        resp.raise_for_status()
        return resp.json()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        resp = self._client.request(method, f"{self.control_url}/{path.lstrip('/')}", json=body)
        resp.raise_for_status()
        return resp.json()

    # -- control API ------------------------------------------------------------------------------
    def clock_ms(self) -> int:
        return self.control("GET", "clock")["clock_ms"]

    def advance_clock(self, seconds: float) -> int:
        return self.control("POST", "clock/advance", {"seconds": seconds})["clock_ms"]

    def apply_changes(self, **counts: int) -> dict[str, list[int]]:
        """Simulate activity at the current clock; returns affected ids per kind. A kind not named gets its default
        count (`generator.changes.DEFAULT_COUNTS`)."""
        return self.control("POST", "changes", {"counts": counts})["changes"]

    def apply_only(self, **counts: int) -> dict[str, list[int]]:
        """`apply_changes` of just the kinds named: every other kind 0, not its default count."""
        return self.apply_changes(**{**dict.fromkeys(DEFAULT_COUNTS, 0), **counts})

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        """e.g. add_fault(api="brightpearl", kind="status", status=503, path="order-search", count=2)."""
        return self.control("POST", "faults", fault)

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def set_rate_limit(self, window_scale: float | None = None, enabled: bool | None = None) -> dict[str, Any]:
        body = {k: v for k, v in (("window_scale", window_scale), ("enabled", enabled)) if v is not None}
        return self.control("POST", "rate-limit", body)

    def request_counts(self) -> dict[str, int]:
        return self.control("GET", "requests")["counts"]

    def reset_request_counts(self) -> None:
        self.control("DELETE", "requests")

    def stop(self) -> None:
        self._client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_sandbox(
    work_dir: Path,
    *,
    seed: int = SESSION_SEED,
    orders: int = SESSION_ORDERS,
    rate_window_scale: float = SESSION_WINDOW_SCALE,
    data_dir: Path | None = None,
    timeout: float = 300.0,
    extra_args: list[str] | None = None,
    clock: str = FIXED_CLOCK,
) -> SandboxHandle:
    """Start `python -m bp_sandbox` and wait for its state file (raises with the log on failure). Tests get the
    fixed clock (deterministic content) unless they pass `clock="now"` (the live clock `make run` uses)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    state_file, log_path = work_dir / "sandbox_state.json", work_dir / "sandbox.log"
    cmd = [
        sys.executable,
        "-m",
        "bp_sandbox",
        "--seed",
        str(seed),
        "--orders",
        str(orders),
        "--host",
        "127.0.0.1",
        "--bp-port",
        "0",
        "--bc-port",
        "0",
        "--rate-window-scale",
        str(rate_window_scale),
        "--state-file",
        str(state_file),
        "--clock",
        clock,
        *(["--data-dir", str(data_dir)] if data_dir else []),
        *(extra_args or []),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"sandbox did not start (exit {process.poll()}):\n{log_path.read_text()[-3000:]}")
        time.sleep(0.05)
    return SandboxHandle(json.loads(state_file.read_text()), process, log_path)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Shared sandbox (seed 42, 300 orders, rate windows x0.01). Do not mutate its data."""
    handle = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield handle
    finally:
        handle.stop()


def _factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SandboxHandle]]:
    started: list[SandboxHandle] = []

    def factory(**kwargs: Any) -> SandboxHandle:
        handle = start_sandbox(tmp_path_factory.mktemp("fresh_sandbox"), **kwargs)
        started.append(handle)
        return handle

    try:
        yield factory
    finally:
        for handle in started:
            handle.stop()


@pytest.fixture
def fresh_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SandboxHandle]]:
    """Factory: `fresh_sandbox(seed=7, orders=300, rate_window_scale=0.01, data_dir=None)` -> private sandbox."""
    yield from _factory(tmp_path_factory)


@pytest.fixture(scope="module")
def module_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SandboxHandle]]:
    """Like `fresh_sandbox`, but the sandboxes are stopped when the test module ends."""
    yield from _factory(tmp_path_factory)
