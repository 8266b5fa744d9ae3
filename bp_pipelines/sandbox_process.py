"""Start the sandbox as a separate process (the pipeline never imports it: they meet over HTTP).

Used by `make run`, `make dev`, the benchmark and tests: the sandbox prints its URLs and credentials to a JSON
state file once both servers listen. The sandbox is its own distribution (`bp-sandbox`, in `sandbox/`, import
package `bp_sandbox`); it only has to be installed in this interpreter, never imported here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

# Environment variables the pipeline reads, keyed by the sandbox state-file field that fills them.
ENV_FROM_STATE = {
    "BRIGHTPEARL_BASE_URL": "brightpearl_base_url",
    "BRIGHTPEARL_ACCOUNT": "brightpearl_account",
    "BRIGHTPEARL_APP_REF": "brightpearl_app_ref",
    "BRIGHTPEARL_ACCOUNT_TOKEN": "brightpearl_account_token",
    "BIGCOMMERCE_BASE_URL": "bigcommerce_base_url",
    "BIGCOMMERCE_STORE_HASH": "bigcommerce_store_hash",
    "BIGCOMMERCE_ACCESS_TOKEN": "bigcommerce_access_token",
}


SANDBOX_MODULE = "bp_sandbox"
NOT_INSTALLED = (
    "the sandbox (bp_sandbox) is not installed: install it with `pip install -e ./sandbox` (`make run` does it), "
    "or set the BRIGHTPEARL_* credentials to use a real account"
)


# `python -m bp_sandbox` exits with this when another sandbox holds its --state-dir (its one stderr line says so).
EXIT_STATE_DIR_BUSY = 3


class SandboxStartError(RuntimeError):
    """The sandbox process did not come up (or is not installed); the message carries its output."""


@dataclass
class SandboxProcess:
    """A running sandbox subprocess; use as a context manager."""

    seed: int = 42
    orders: int = 5000
    startup_timeout_s: float = 300.0  # a cold 1M-order generation takes a while; small scales start in seconds
    extra_args: tuple[str, ...] = ()
    state_dir: Path | None = None  # keep the sandbox's store here between starts (`make run`: beside the warehouse)
    state: dict[str, str] | None = None
    notes: list[str] = field(default_factory=list)  # the sandbox's own one-line notes at start (kept store or not)
    _proc: subprocess.Popen[bytes] | None = None
    _dir: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def control_url(self) -> str:
        assert self.state is not None
        return self.state["control_url"]

    def env(self) -> dict[str, str]:
        """Pipeline environment variables pointing at this sandbox."""
        assert self.state is not None
        return {var: str(self.state[key]) for var, key in ENV_FROM_STATE.items()}

    def start(self) -> None:
        if importlib.util.find_spec(SANDBOX_MODULE) is None:  # looked up, not imported
            raise SandboxStartError(NOT_INSTALLED)
        self._dir = tempfile.TemporaryDirectory(prefix="bp_sandbox_")
        state_file = Path(self._dir.name) / "state.json"
        log_file = Path(self._dir.name) / "sandbox.log"
        cmd = [
            sys.executable,
            "-m",
            SANDBOX_MODULE,
            "--seed",
            str(self.seed),
            "--orders",
            str(self.orders),
            "--bp-port",
            "0",
            "--bc-port",
            "0",
            "--state-file",
            str(state_file),
            *(["--state-dir", str(self.state_dir)] if self.state_dir is not None else []),
            *self.extra_args,
        ]
        with log_file.open("wb") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        try:
            self._wait_for_state(state_file, log_file, cmd)
        except BaseException:
            self.stop()  # never leave a sandbox behind on Ctrl-C or a failed start
            raise

    def _wait_for_state(self, state_file: Path, log_file: Path, cmd: list[str]) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if state_file.exists() and state_file.stat().st_size > 0:
                try:
                    self.state = json.loads(state_file.read_text())
                    lines = log_file.read_text(errors="replace").splitlines()
                    self.notes = [line.removeprefix("sandbox: ") for line in lines if line.startswith("sandbox: ")]
                    return
                except json.JSONDecodeError:
                    pass  # written but not yet flushed completely
            if self._proc.poll() is not None:
                break
            time.sleep(0.1)
        if self._proc.poll() == EXIT_STATE_DIR_BUSY:
            lines = log_file.read_text(errors="replace").strip().splitlines()
            raise SandboxStartError(lines[-1].removeprefix("sandbox: ") if lines else "the sandbox state dir is busy")
        output = log_file.read_text(errors="replace")[-4000:]
        raise SandboxStartError(f"sandbox did not start (command: {' '.join(cmd)}):\n{output}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
