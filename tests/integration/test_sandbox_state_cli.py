"""`make run` on the sandbox keeps the sandbox's store beside the warehouse (`<warehouse>.sandbox/`): a second run
against the resumed store writes nothing, like a second run against a real account; another `--orders` starts a
fresh store (and says the warehouse disagrees); a busy store refuses a second sandbox; `reset-warehouse` resets
both. A warehouse the sandbox filled refuses a real account until it is reset (one warehouse, one source). Real entry
points in subprocesses (`python -m bp_pipelines.cli`), real HTTP, real DuckDB file.

Both tests start where a fresh checkout is after two `run --orders 150`: the `two_runs` fixture makes those runs once
and each test continues on its own copy of the files (warehouse, sandbox store, DAGSTER_HOME)."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from .test_first_week_cli import REAL_SHAPED, REPO, base_env, cli, instance_at, one_line
from .test_reconciliation import RECONCILIATION_MARTS


def summary(stdout: str) -> dict[str, dict[str, str]]:
    """The run summary's metadata per asset: `  <asset>   key=value key=value ...`."""
    out: dict[str, dict[str, str]] = {}
    for line in stdout.splitlines():
        if m := re.match(r"^  (\w+)\s+(\S+=.*)$", line):
            out[m[1]] = dict(pair.split("=", 1) for pair in m[2].split())
    return out


def ledger(warehouse: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("SELECT push_id, state, attempts, finished_at FROM push.ledger ORDER BY push_id").fetchall()


def mart_rows(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {m: conn.execute(f"SELECT count(*) FROM analytics.{m}").fetchone()[0] for m in RECONCILIATION_MARTS}  # type: ignore[index]


@dataclass(frozen=True)
class TwoRuns:
    """A fresh checkout's `run --orders 150`, twice, in `template` (tests copy it, never change it)."""

    template: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    # What the first run left: its warehouse files, push ledger and reconciliation marts' row counts.
    files_after_first: frozenset[str]
    ledger_after_first: list[tuple[Any, ...]]
    marts_after_first: dict[str, int]

    @property
    def state_dir(self) -> Path:
        """The template's sandbox store: the one the two runs' output names."""
        return self.template / "warehouse.duckdb.sandbox"

    def copy_to(self, tmp_path: Path) -> dict[str, str]:
        """The template's files (warehouse, sandbox store, DAGSTER_HOME) copied into tmp_path; its environment."""
        for item in self.template.iterdir():
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp_path / item.name)
        return base_env(tmp_path)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    template = tmp_path_factory.mktemp("two_runs")
    env = base_env(template)
    first = cli(env, "run", "--orders", "150")
    assert first.returncode == 0, first.stdout + first.stderr
    files = frozenset(p.name for p in template.glob("warehouse*.duckdb"))
    after_first = ledger(template / "warehouse.duckdb"), mart_rows(template / "warehouse.duckdb")
    second = cli(env, "run", "--orders", "150")
    assert second.returncode == 0, second.stdout + second.stderr
    return TwoRuns(template, first, second, files, *after_first)


@contextlib.contextmanager
def dev_session(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python -m bp_pipelines.cli dev --orders 150` until its sandbox is up (its store note printed); SIGTERM after.
    Output goes to a file: Dagster's log lines would fill an undrained pipe and block the processes."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bp_pipelines.cli", "dev", "--orders", "150"],
            env={**env, "BP_DEV_PORT": str(port)},
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 120
        while not (notes := [line for line in log.read_text().splitlines() if " store " in line]):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)  # the note comes right after the sandbox starts, before Dagster does
        yield proc, notes[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)


def test_a_second_run_on_the_kept_sandbox_store_writes_nothing_and_reset_clears_both(
    two_runs: TwoRuns, tmp_path: Path
) -> None:
    first, second, template_state_dir = two_runs.first, two_runs.second, two_runs.state_dir
    assert f"bp_pipelines: starting a fresh store in {template_state_dir}: no store kept there yet" in first.stdout
    pushed = summary(first.stdout)
    assert int(pushed["storefront_stock_levels"]["sent"]) > 0  # the fresh storefront's drifted levels aligned
    assert two_runs.marts_after_first == dict.fromkeys(RECONCILIATION_MARTS, 0)
    env = two_runs.copy_to(tmp_path)  # the files as the second run left them
    warehouse, state_dir = tmp_path / "warehouse.duckdb", tmp_path / "warehouse.duckdb.sandbox"

    assert f"bp_pipelines: resuming the store kept in {template_state_dir}" in second.stdout
    assert "another sandbox store" not in second.stdout
    meta = summary(second.stdout)
    for asset in ("storefront_stock_levels", "storefront_shipments", "storefront_order_statuses"):
        assert meta[asset]["sent"] == "0", (asset, meta[asset])
    assert (meta["storefront_order_import"]["created"], meta["storefront_order_import"]["contacts_created"]) == (
        "0",
        "0",
    )
    assert (meta["storefront_accounts"]["created"], meta["storefront_accounts"]["updated"]) == ("0", "0")
    assert ledger(warehouse) == two_runs.ledger_after_first  # no push planned, sent or retried
    assert mart_rows(warehouse) == dict.fromkeys(RECONCILIATION_MARTS, 0)

    # While `make dev` serves from the kept store, a run (one line) and a reset (nothing deleted) refuse.
    with dev_session(env, tmp_path / "dev.log") as (dev, note):
        assert note == f"bp_pipelines: resuming the store kept in {state_dir}"
        busy = one_line(cli(env, "run", "--orders", "150"))
        assert re.fullmatch(
            rf"bp_pipelines: state dir {re.escape(str(state_dir))} is in use by another sandbox \(pid \d+\): "
            "stop that one first, or use another state dir",
            busy,
        ), busy
        refused = cli(env, "reset-warehouse", "--yes")
        assert refused.returncode == 1 and "a sandbox is serving from" in refused.stderr
        assert warehouse.exists() and state_dir.exists()
    assert dev.returncode == 0

    # Another scale: a fresh store, and the run says the warehouse (of the old store) disagrees with it.
    other = cli(env, "run", "--orders", "200")
    assert other.returncode == 0, other.stdout + other.stderr
    assert (
        f"bp_pipelines: starting a fresh store in {state_dir}: the kept store is of another world (orders 150 -> 200)"
        in other.stdout
    )
    assert "bp_pipelines: the warehouse holds data of another sandbox store: `make reset-warehouse` resets both" in (
        other.stdout
    )

    reset = cli(env, "reset-warehouse", "--yes")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert f"  deleted {state_dir}" in reset.stdout
    assert not state_dir.exists() and not warehouse.exists()


# --- one warehouse, one source ------------------------------------------------------------------------------------
def test_the_sandbox_warehouse_refuses_a_real_account_until_reset(two_runs: TwoRuns, tmp_path: Path) -> None:
    first, again = two_runs.first, two_runs.second
    assert "syncing the sandbox" in first.stdout
    assert two_runs.files_after_first == {"warehouse.duckdb", "warehouse.writer.duckdb"}
    # A second sandbox session (other ports) reuses the file: `again` succeeded (the fixture checks its exit code).
    assert f"into {two_runs.template / 'warehouse.duckdb'}" in again.stdout
    env = two_runs.copy_to(tmp_path)  # the files as the second run left them
    warehouse = tmp_path / "warehouse.duckdb"

    # The real-shaped account: refused before any call (its host is not even reachable from here).
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("warehouse*.duckdb")}
    started = time.monotonic()
    line = one_line(cli({**env, **REAL_SHAPED}, "run"))
    assert time.monotonic() - started < 60
    assert f"warehouse {warehouse} holds brightpearl sandbox (loopback) account sandbox" in line
    assert "brightpearl https://euw1.brightpearlconnect.com account acme" in line
    assert "BP_WAREHOUSE_PATH" in line and "make reset-warehouse" in line
    assert REAL_SHAPED["BRIGHTPEARL_ACCOUNT_TOKEN"] not in line
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("warehouse*.duckdb")} == before

    # The documented reset: asks (refuses without a terminal or --yes), then deletes the files and the history.
    refused = cli(env, "reset-warehouse")
    assert refused.returncode == 1 and "--yes" in refused.stdout
    assert warehouse.exists()
    reset = cli(env, "reset-warehouse", "--yes")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "holds brightpearl sandbox (loopback) account sandbox" in reset.stdout
    assert not list(tmp_path.glob("warehouse*.duckdb*"))
    with instance_at(env["DAGSTER_HOME"]) as instance:
        assert instance.get_latest_materialization_event(dg.AssetKey("orders")) is None
    # The file no longer stands in the way: the real-shaped account now gets as far as its (unreachable) host.
    unreachable = cli({**env, **REAL_SHAPED, "BRIGHTPEARL_BASE_URL": "https://127.0.0.1:9"}, "run")
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr
    assert (
        "cannot reach Brightpearl at BRIGHTPEARL_BASE_URL" in unreachable.stderr and "holds" not in unreachable.stderr
    )
