"""`make run` on the sandbox keeps the sandbox's store beside the warehouse (`<warehouse>.sandbox/`): a second run
against the resumed store writes nothing, like a second run against a real account; another `--orders` starts a
fresh store (and says the warehouse disagrees); a busy store refuses a second sandbox; `reset-warehouse` resets
both. Real entry points in subprocesses (`python -m bp_pipelines.cli`), real HTTP, real DuckDB file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from .test_first_week_cli import base_env, cli, one_line

RECONCILIATION_MARTS = (
    "storefront_sku_mismatches",
    "storefront_stock_drift",
    "storefront_orders_not_imported",
    "storefront_accounts_out_of_step",
)


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


def test_a_second_run_on_the_kept_sandbox_store_writes_nothing_and_reset_clears_both(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    env = base_env(tmp_path)
    warehouse, state_dir = tmp_path / "warehouse.duckdb", tmp_path / "warehouse.duckdb.sandbox"
    first = cli(env, "run", "--orders", "150")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"bp_pipelines: starting a fresh store in {state_dir}: no store kept there yet" in first.stdout
    pushed = summary(first.stdout)
    assert int(pushed["storefront_stock_levels"]["sent"]) > 0  # the fresh storefront's drifted levels aligned
    assert mart_rows(warehouse) == dict.fromkeys(RECONCILIATION_MARTS, 0)
    after_first = ledger(warehouse)

    second = cli(env, "run", "--orders", "150")
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"bp_pipelines: resuming the store kept in {state_dir}" in second.stdout
    assert "another sandbox store" not in second.stdout
    meta = summary(second.stdout)
    for asset in ("storefront_stock_levels", "storefront_shipments", "storefront_order_statuses"):
        assert meta[asset]["sent"] == "0", (asset, meta[asset])
    assert (meta["storefront_order_import"]["created"], meta["storefront_order_import"]["contacts_created"]) == (
        "0",
        "0",
    )
    assert (meta["storefront_accounts"]["created"], meta["storefront_accounts"]["updated"]) == ("0", "0")
    assert ledger(warehouse) == after_first  # no push planned, sent or retried
    assert mart_rows(warehouse) == dict.fromkeys(RECONCILIATION_MARTS, 0)

    # While a sandbox serves from the kept store, a run (one line) and a reset (nothing deleted) refuse.
    holder = fresh_sandbox(seed=42, orders=150, clock="now", extra_args=["--state-dir", str(state_dir)])
    assert holder.state["resumed"] is True
    busy = one_line(cli(env, "run", "--orders", "150"))
    assert busy == (
        f"bp_pipelines: state dir {state_dir} is in use by another sandbox (pid {holder.process.pid}): "
        "stop that one first, or use another state dir"
    )
    refused = cli(env, "reset-warehouse", "--yes")
    assert refused.returncode == 1 and "a sandbox is serving from" in refused.stderr
    assert warehouse.exists() and state_dir.exists()
    holder.stop()

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
