"""`make run`'s entry point as a user meets it: a wrong token, an unknown account, an unreachable host or a
partial setup end with one or two lines naming the variable to fix, a non-zero exit and no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BRIGHTPEARL_VARS = ("BRIGHTPEARL_BASE_URL", "BRIGHTPEARL_ACCOUNT", "BRIGHTPEARL_APP_REF", "BRIGHTPEARL_ACCOUNT_TOKEN")


def run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BRIGHTPEARL_", "BIGCOMMERCE_"))}
    full = {
        **clean,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "BP_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bp_pipelines.cli", "run", *args],
        env=full,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sandbox_env(sb: Any, **overrides: str) -> dict[str, str]:
    return {
        "BRIGHTPEARL_BASE_URL": sb.brightpearl_base_url,
        "BRIGHTPEARL_ACCOUNT": sb.brightpearl_account,
        "BRIGHTPEARL_APP_REF": sb.brightpearl_app_ref,
        "BRIGHTPEARL_ACCOUNT_TOKEN": sb.brightpearl_account_token,
        **overrides,
    }


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *names: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, result.stderr
    for name in names:
        assert name in result.stderr, result.stderr
    assert not (Path(result.args[0]).parent / "warehouse.duckdb").exists()


def test_a_wrong_token_is_one_line(sandbox: Any, tmp_path: Path) -> None:
    result = run_cli(tmp_path, sandbox_env(sandbox, BRIGHTPEARL_ACCOUNT_TOKEN="wrong-token-123"))
    assert_one_clear_line(result, "BRIGHTPEARL_ACCOUNT_TOKEN")
    assert "wrong-token-123" not in result.stderr + result.stdout  # secrets never printed
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing ran


def test_an_unknown_account_names_the_account_variable(sandbox: Any, tmp_path: Path) -> None:
    result = run_cli(tmp_path, sandbox_env(sandbox, BRIGHTPEARL_ACCOUNT="no-such-account"))
    # Brightpearl answers an unknown account with 401 like a wrong token: the line names both, with its words.
    assert_one_clear_line(result, "BRIGHTPEARL_ACCOUNT (the account code)", "BRIGHTPEARL_ACCOUNT_TOKEN")
    assert "no-such-account" in result.stderr and "Not authenticated" in result.stderr


def test_an_unreachable_host_names_the_base_url(tmp_path: Path, sandbox: Any) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli(tmp_path, sandbox_env(sandbox, BRIGHTPEARL_BASE_URL=f"http://127.0.0.1:{port}"))
    assert_one_clear_line(result, "BRIGHTPEARL_BASE_URL")


@pytest.mark.parametrize("present", [("BRIGHTPEARL_ACCOUNT_TOKEN",), ("BRIGHTPEARL_ACCOUNT", "BRIGHTPEARL_APP_REF")])
def test_a_partial_setup_names_exactly_the_missing_variables(tmp_path: Path, present: tuple[str, ...]) -> None:
    result = run_cli(tmp_path, {name: "x" for name in present})
    assert_one_clear_line(result)
    missing = [n for n in BRIGHTPEARL_VARS[1:] if n not in present]
    named = result.stderr.split("half configured: ", 1)[1].split(" not set", 1)[0].split(", ")
    assert named == missing, result.stderr
