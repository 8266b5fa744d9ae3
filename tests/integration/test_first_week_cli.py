"""A user's first week at the command line, each failure of the issue replayed through the real entry points
(`python -m bp_pipelines.cli ...`, `dagster asset materialize`, the systemd unit's commands) in subprocesses."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REAL_SHAPED = {
    "BRIGHTPEARL_BASE_URL": "https://euw1.brightpearlconnect.com",
    "BRIGHTPEARL_ACCOUNT": "acme",
    "BRIGHTPEARL_APP_REF": "acme-warehouse",
    "BRIGHTPEARL_ACCOUNT_TOKEN": "not-a-real-token-4711",
}


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no credentials, no .env, a private DAGSTER_HOME and warehouse."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("BRIGHTPEARL_", "BIGCOMMERCE_", "BP_", "DAGSTER_"))
    }
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return {
        **clean,
        "DAGSTER_HOME": str(home),
        "BP_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "BP_ENV_FILE": "none",
        "BP_PROGRESS": "lines",
        **extra,
    }


def cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bp_pipelines.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def instance_at(dagster_home: str) -> Iterator[dg.DagsterInstance]:
    """The Dagster instance of another DAGSTER_HOME (a CLI run's): dagster.yaml places the run history with
    `env: DAGSTER_HOME`, so the variable must name that home while the instance is open, as in the CLI's process."""
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = dagster_home
    try:
        with dg.DagsterInstance.from_config(dagster_home) as instance:
            yield instance
    finally:
        if before is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = before


def sandbox_vars(sb: Any) -> dict[str, str]:
    return {
        "BRIGHTPEARL_BASE_URL": sb.brightpearl_base_url,
        "BRIGHTPEARL_ACCOUNT": sb.brightpearl_account,
        "BRIGHTPEARL_APP_REF": sb.brightpearl_app_ref,
        "BRIGHTPEARL_ACCOUNT_TOKEN": sb.brightpearl_account_token,
    }


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- credentials that just work ------------------------------------------------------------------------------------
def test_a_dotenv_file_alone_configures_the_run_and_the_environment_wins(sandbox: Any, tmp_path: Path) -> None:
    env_file = tmp_path / "checkout" / ".env"
    env_file.parent.mkdir()
    env_file.write_text(
        "# copied from .env.example\n"
        + "".join(f"{name}={value}\n" for name, value in sandbox_vars(sandbox).items())
        + "BP_WAREHOUSE_PATH=data/shop.duckdb\n"
    )
    env = base_env(tmp_path, BP_ENV_FILE=str(env_file))
    del env["BP_WAREHOUSE_PATH"]
    result = cli(env, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    # The .env's account was used (no sandbox of its own was started) and its relative path is the .env's folder.
    assert f"syncing Brightpearl at {sandbox.brightpearl_base_url} into {env_file.parent / 'data' / 'shop.duckdb'}" in (
        result.stdout
    )
    with duckdb.connect(str(env_file.parent / "data" / "shop.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM brightpearl.orders").fetchone()[0] > 0  # type: ignore[index]
    # A variable set in the environment wins over the file.
    line = one_line(cli({**env, "BRIGHTPEARL_ACCOUNT_TOKEN": "wrong-token-from-env"}, "check"))
    assert "BRIGHTPEARL_ACCOUNT_TOKEN" in line and "wrong-token-from-env" not in line
    ok = cli(env, "check")
    assert ok.returncode == 0 and "answers" in ok.stdout, ok.stdout + ok.stderr


@pytest.mark.parametrize(
    ("command", "present", "missing"),
    [
        ("dev", ["BRIGHTPEARL_ACCOUNT_TOKEN"], "BRIGHTPEARL_ACCOUNT, BRIGHTPEARL_APP_REF"),
        ("run", ["BIGCOMMERCE_ACCESS_TOKEN", *REAL_SHAPED], "BIGCOMMERCE_STORE_HASH"),
        ("check", ["BRIGHTPEARL_ACCOUNT", "BRIGHTPEARL_APP_REF"], "BRIGHTPEARL_ACCOUNT_TOKEN"),
    ],
)
def test_a_partial_setup_is_one_line_naming_the_missing_variables(
    tmp_path: Path, command: str, present: list[str], missing: str
) -> None:
    env = base_env(tmp_path, **{name: REAL_SHAPED.get(name, "x") for name in present})
    line = one_line(cli(env, command, timeout=60))
    assert f"{missing} not set" in line
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_the_service_check_requires_credentials(tmp_path: Path) -> None:
    """Without credentials `check` says the sandbox would be used; the daemon unit's `--require-credentials` fails."""
    env = base_env(tmp_path)
    plain = cli(env, "check", timeout=60)
    assert plain.returncode == 0 and "sandbox" in plain.stdout
    line = one_line(cli(env, "check", "--require-credentials", timeout=60))
    assert "BRIGHTPEARL_ACCOUNT, BRIGHTPEARL_APP_REF, BRIGHTPEARL_ACCOUNT_TOKEN" in line


# --- a tested command-line backfill recipe ------------------------------------------------------------------------
def test_the_documented_backfill_recipe_materializes_a_date_range(sandbox: Any, tmp_path: Path) -> None:
    env = base_env(tmp_path, **sandbox_vars(sandbox))
    recipe = (REPO / "docs" / "operations.md").read_text()
    command = "dagster asset materialize -m bp_pipelines.definitions --select orders,order_rows --partition-range 2026-10-01...2026-11-19"
    assert command in recipe  # the test runs what the docs show
    result = subprocess.run(
        [str(BIN / "dagster"), *command.split()[1:]],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    days = {(date(2026, 10, 1) + timedelta(days=i)).isoformat() for i in range(50)}  # through 2026-11-19
    with instance_at(env["DAGSTER_HOME"]) as instance:
        for asset in ("orders", "order_rows"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == days
    expected = sandbox.bp_get(
        "order-service/order-search", updatedOn="2026-10-01T00:00:00.000Z/2026-11-20T00:00:00.000Z", pageSize=1
    ).json()["response"]["metaData"]["resultsAvailable"]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM brightpearl.orders WHERE updated_on >= '2026-10-01' AND updated_on < '2026-11-20'"
        ).fetchone()[0]  # type: ignore[index]
        [(mode, partition_range)] = conn.execute("SELECT DISTINCT mode, partition_range FROM _sync.runs").fetchall()
    assert stored == expected > 0
    assert (mode, partition_range) == ("partition", "2026-10-01..2026-11-19")


# --- the daemon, unattended ---------------------------------------------------------------------------------------
def unit(name: str, root: Path) -> dict[str, list[str]]:
    """The [Service] entries of a shipped unit, with the documented install path replaced by `root`."""
    entries: dict[str, list[str]] = {}
    section = ""
    for raw in (REPO / "deploy" / name).read_text().replace("/opt/bp_pipelines", str(root)).splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            entries.setdefault(key, []).append(value)
    return entries


@pytest.mark.parametrize("name", ["bp-pipelines-daemon.service", "bp-pipelines-webserver.service"])
def test_the_systemd_units_verify(name: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # Installed at this checkout; the service user `bp` need not exist on the test machine.
    text = (REPO / "deploy" / name).read_text().replace("/opt/bp_pipelines", str(REPO)).replace("User=bp\n", "")
    (tmp_path / name).write_text(text)
    result = subprocess.run([analyze, "verify", str(tmp_path / name)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if name in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_the_daemon_unit_starts_a_working_daemon(sandbox: Any, tmp_path: Path) -> None:
    """The unit's ExecStartPre passes with a .env holding the credentials, and its ExecStart runs a daemon that
    heartbeats (schedules and sensors tick), then stops on SIGTERM."""
    service = unit("bp-pipelines-daemon.service", REPO)
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in sandbox_vars(sandbox).items()))
    env = base_env(tmp_path)
    env.update(dict(entry.split("=", 1) for entry in service["Environment"]))
    env.update(BP_ENV_FILE=str(env_file), DAGSTER_HOME=str(tmp_path / "dagster_home"))
    [pre] = service["ExecStartPre"]
    check = subprocess.run(pre.split(), env=env, cwd=service["WorkingDirectory"][0], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    [start] = service["ExecStart"]
    daemon = subprocess.Popen(start.split(), env=env, cwd=service["WorkingDirectory"][0], start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        with instance_at(env["DAGSTER_HOME"]) as instance:
            while time.monotonic() < deadline:
                beats = instance.get_daemon_heartbeats()
                if {"SCHEDULER", "SENSOR"} <= set(beats):
                    break
                assert daemon.poll() is None, "the daemon exited"
                time.sleep(0.2)  # short polls: the heartbeats come a few seconds after start-up
            else:
                raise AssertionError(f"no scheduler/sensor heartbeat within 120 s: {sorted(beats)}")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
            raise
