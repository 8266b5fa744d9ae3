"""`make run`, `make dev`, `make sql`, `make check` and `make reset-warehouse` entry points.

All read `.env` at the repo root first (variables already set win). With no BRIGHTPEARL_ACCOUNT_TOKEN set, run and
dev start the sandbox on free loopback ports and point the pipeline at it; with credentials set they use the
configured services and start nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from bp_pipelines import settings
from bp_pipelines.sandbox_process import SandboxProcess, SandboxStartError

MAIN_JOB = "brightpearl_sync"
DEFAULT_SANDBOX_ORDERS = 5000
# The sandbox serves 1% of search rows with `updatedOn: null` (as Brightpearl does), so `make run` shows the first
# sync storing them all. Its rate-limit windows are a tenth of the real ones (Brightpearl 200 per 6 s, BigCommerce 150
# per 3 s): the storefront work of a first run (imports, accounts, catalog) then takes seconds, not minutes; the
# clients pace themselves from the headers either way, and `make bench` measures at the real limits.
SANDBOX_WINDOW_SCALE = "0.1"
SANDBOX_ARGS = ("--null-updated-on-share", "0.01", "--rate-window-scale", SANDBOX_WINDOW_SCALE)
# The shipped sync.yaml keeps the storefront push off; against the sandbox it is on (sync.sandbox.yaml).
SYNC_CONFIG_VAR = "BP_SYNC_CONFIG"
SANDBOX_SYNC_FILE = settings.REPO_ROOT / "sync.sandbox.yaml"


def sandbox_description(orders: int, sandbox: SandboxProcess) -> str:
    return (
        f"the sandbox (seed 42, {orders} orders, rate-limit windows x{SANDBOX_WINDOW_SCALE}; "
        f"control API {sandbox.control_url})"
    )


def print_sandbox_notes(sandbox: SandboxProcess) -> None:
    """Whether the sandbox resumed the store kept beside the warehouse; a fresh store beside an existing warehouse
    means the two disagree (e.g. another --orders), so say how to reset both."""
    for note in sandbox.notes:
        print(f"bp_pipelines: {note}", flush=True)
    if not sandbox.state or sandbox.state.get("resumed") or not warehouse_files(settings.warehouse_path()):
        return
    print(
        "bp_pipelines: the warehouse holds data of another sandbox store: `make reset-warehouse` resets both",
        flush=True,
    )


def sandbox_env(sandbox: SandboxProcess) -> dict[str, str]:
    """The sandbox's URLs and credentials, plus its sync file (push on) unless BP_SYNC_CONFIG is set already."""
    env = sandbox.env()
    if not os.environ.get(SYNC_CONFIG_VAR):
        env[SYNC_CONFIG_VAR] = str(SANDBOX_SYNC_FILE)
    return env


@contextlib.contextmanager
def pipeline_environment(orders: int) -> Iterator[str]:
    """Yield a description of the target; sets env vars for the sandbox when no credentials are configured."""
    if not settings.using_sandbox():
        yield f"Brightpearl at {os.environ.get('BRIGHTPEARL_BASE_URL', settings.DEFAULT_BRIGHTPEARL_BASE_URL)}"
        return
    with SandboxProcess(orders=orders, extra_args=SANDBOX_ARGS, state_dir=settings.sandbox_state_dir()) as sandbox:
        print_sandbox_notes(sandbox)
        env = sandbox_env(sandbox)
        os.environ.update(env)
        try:
            yield sandbox_description(orders, sandbox)
        finally:
            for var in env:
                os.environ.pop(var, None)


def run(orders: int, reconcile: bool = False) -> int:
    from bp_pipelines import preflight
    from bp_pipelines.run_summary import execute_main_job

    os.environ["DAGSTER_HOME"] = str(dagster_home())  # runs land in the same instance `make dev` shows
    # Live bars on a terminal, plain progress lines otherwise (bp_pipelines.lib.sync.progress).
    os.environ.setdefault("BP_PROGRESS", "bar" if sys.stderr.isatty() else "lines")
    try:
        preflight.check_brightpearl_variables()
        with pipeline_environment(orders) as target:
            preflight.check_warehouse_source()  # before the first call: one warehouse, one source
            preflight.check_brightpearl_access()
            print(f"bp_pipelines: syncing {target} into {settings.warehouse_path()}", flush=True)
            return execute_main_job(MAIN_JOB, mode="reconciliation" if reconcile else None)
    except preflight.PreflightFailure as exc:
        print(f"bp_pipelines: {exc}", file=sys.stderr)
        return 1


# --- make dev -----------------------------------------------------------------------------------------------------
DEV_HOST = "127.0.0.1"  # loopback only: the UI has no auth and can launch runs
DEFAULT_DEV_PORT = 3000
DEV_STOP_TIMEOUT_S = 15.0  # dagster dev itself waits up to 60 s per child; we escalate to SIGKILL sooner
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM/SIGHUP unwind like Ctrl-C so every `finally` below runs (Python's default SIGTERM just exits).
    raise KeyboardInterrupt(f"signal {signum}")


def dagster_home() -> Path:
    """$DAGSTER_HOME (the Makefile sets `.dagster_home`), created with a copy of the repo's dagster.yaml if missing."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.REPO_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config, shipped = home / "dagster.yaml", settings.REPO_ROOT / "dagster.yaml"
    if not config.exists():  # the instance config: telemetry off, concurrency pools, queued run coordinator
        shutil.copyfile(shipped, config)
    elif config.read_bytes() != shipped.read_bytes():
        # `make install` never overwrites the copy (it may be edited on purpose): say so, or a changed pool
        # limit in the repo would silently not apply.
        print(
            f"bp_pipelines: note: {config} differs from the repo's dagster.yaml (delete it to use the repo's)",
            flush=True,
        )
    return home


def dev_port() -> int:
    raw = os.environ.get("BP_DEV_PORT") or str(DEFAULT_DEV_PORT)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise settings.ConfigError(f"BP_DEV_PORT={raw!r} is not a TCP port: use e.g. 3001.")
    return int(raw)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the webserver: connections in TIME_WAIT from the last session must not count as "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _ui_ready(url: str) -> bool:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": "{ version }"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _stop_process_group(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM dagster dev (it shuts its webserver, daemon and code servers down), then SIGKILL what is left."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            print(f"bp_pipelines: dagster dev did not stop within {timeout_s:.0f} s, killing it", flush=True)
    # The group also holds code servers and run workers: none may outlive `make dev`.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _ignore_stop_signals() -> None:
    # Shutdown is bounded (timeouts below): a second Ctrl-C must not abort the cleanup half-way.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def _serve(cmd: list[str], env: dict[str, str], url: str, cwd: Path) -> int:
    proc: subprocess.Popen[bytes] | None = None
    try:
        # Own session: one killpg stops the whole dagster tree, and a terminal Ctrl-C reaches it only through us.
        # dagster dev maps SIGTERM onto SIGINT, so it must not inherit an ignored SIGINT (what a backgrounded
        # `make dev &` gets): dev() installs handlers first, and exec resets handled signals to the default.
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, start_new_session=True)
        announced = False
        while proc.poll() is None:
            if not announced and _ui_ready(url):
                print(f"bp_pipelines: Dagster UI ready at {url} (Ctrl-C stops everything)", flush=True)
                announced = True
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5 if announced else 0.5)
        print(f"bp_pipelines: dagster dev exited with code {proc.returncode}", flush=True)
        return proc.returncode
    finally:
        _ignore_stop_signals()
        if proc is not None:
            if proc.poll() is None:
                print("bp_pipelines: stopping Dagster and the sandbox", flush=True)
            _stop_process_group(proc, DEV_STOP_TIMEOUT_S)


# `dagster dev` warns on every start that it is superseded by the `dg` CLI (not installed here). Matched by message:
# PYTHONWARNINGS cannot name Dagster's warning classes (they are not importable at interpreter start-up). The
# code location itself filters Dagster's beta/preview warnings (settings.quiet_library_warnings).
DEV_WARNING_FILTERS = ("ignore:Function `dev_command` is superseded",)


def dev_warning_filters() -> str:
    own = os.environ.get("PYTHONWARNINGS")
    return ",".join([*DEV_WARNING_FILTERS, *([own] if own else [])])


def dev(orders: int) -> int:
    """`make dev`: sandbox (without credentials) + `dagster dev` (webserver + daemon) until Ctrl-C or SIGTERM."""
    from bp_pipelines import preflight

    settings.check_credential_groups()
    port = dev_port()
    url = f"http://{DEV_HOST}:{port}"
    if _port_in_use(DEV_HOST, port):
        # Checked up front: dagster dev would only log the webserver's bind error and still exit 0.
        print(
            f"bp_pipelines: port {port} is in use (another `make dev`?); pick another with "
            f"BP_DEV_PORT, e.g. `make dev BP_DEV_PORT={port + 1}`",
            file=sys.stderr,
        )
        return 1
    home = dagster_home()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONWARNINGS": dev_warning_filters()}
    workspace = str(settings.REPO_ROOT / "workspace.yaml")
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", workspace, "-h", DEV_HOST, "-p", str(port)]
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_interrupt)
    sandbox = (
        SandboxProcess(orders=orders, extra_args=SANDBOX_ARGS, state_dir=settings.sandbox_state_dir())
        if settings.using_sandbox()
        else None
    )
    try:
        if sandbox is None:
            target = f"Brightpearl at {os.environ.get('BRIGHTPEARL_BASE_URL', settings.DEFAULT_BRIGHTPEARL_BASE_URL)}"
        else:
            # Started by hand rather than `with`: a signal during start() must still stop the half-started sandbox.
            sandbox.start()
            print_sandbox_notes(sandbox)
            env.update(sandbox_env(sandbox))
            target = sandbox_description(orders, sandbox)
        preflight.check_warehouse_source(env)
        print(
            f"bp_pipelines: starting the Dagster UI at {url} against {target}\n"
            f"  DAGSTER_HOME={env['DAGSTER_HOME']}  warehouse={settings.warehouse_path()}",
            flush=True,
        )
        # cwd = DAGSTER_HOME: from the repo root dagster dev warns that the root dagster.yaml "will not be used"
        # (true, the copy in DAGSTER_HOME is), which misleads. Code and paths do not depend on the cwd.
        return _serve(cmd, env, url, home)
    except KeyboardInterrupt:
        return 0  # a requested stop is a clean exit
    except (SandboxStartError, preflight.PreflightFailure) as exc:
        print(f"bp_pipelines: {exc}", file=sys.stderr)
        return 1
    finally:
        _ignore_stop_signals()
        if sandbox is not None:
            sandbox.stop()


def sql(query: str | None) -> int:
    """`make sql Q="..."`: print a query's result from the published snapshot (read-only, never blocks a run)."""
    if not query or not query.strip():
        print(
            'usage: make sql Q="SELECT * FROM analytics.daily_sales ORDER BY sales_date DESC LIMIT 10"', file=sys.stderr
        )
        return 2
    import duckdb  # only this command needs them; `make run` does not pay for the import

    from bp_pipelines.analysis import SnapshotMissingError, show

    try:
        show(query)
    except SnapshotMissingError as exc:
        print(f"bp_pipelines: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        print(f"bp_pipelines: the query failed: {first}", file=sys.stderr)
        return 1
    return 0


# --- check, reset-warehouse ------------------------------------------------------------------------------------------
def check(require_credentials: bool = False) -> int:
    """`python -m bp_pipelines.cli check`: what `make run` checks before a run, without running anything (after
    editing .env, or as a service's ExecStartPre with `--require-credentials`): credential groups, the warehouse's
    source, one cheap call."""
    from bp_pipelines import preflight

    try:
        preflight.check_brightpearl_variables()
        if settings.using_sandbox():
            if require_credentials:  # a daemon has no sandbox: its runs would all fail
                raise preflight.PreflightFailure(
                    f"no Brightpearl credentials: set {', '.join(settings.BRIGHTPEARL_GROUP)} "
                    f"(in {settings.env_file() or 'the environment'})."
                )
            print("bp_pipelines: no Brightpearl credentials set: make run / make dev would use the sandbox")
            return 0
        preflight.check_warehouse_source()
        preflight.check_brightpearl_access()
    except preflight.PreflightFailure as exc:
        print(f"bp_pipelines: {exc}", file=sys.stderr)
        return 1
    base_url = os.environ.get("BRIGHTPEARL_BASE_URL") or settings.DEFAULT_BRIGHTPEARL_BASE_URL
    print(f"bp_pipelines: OK: Brightpearl account {os.environ['BRIGHTPEARL_ACCOUNT']} at {base_url} answers")
    return 0


def warehouse_files(path: Path) -> list[Path]:
    """The published file, the private working file, their WALs and leftover publish temp files."""
    working = path.with_name(f"{path.stem}.writer.duckdb")
    files = [path, working, path.with_name(path.name + ".wal"), working.with_name(working.name + ".wal")]
    files += sorted(path.parent.glob(f".{path.name}.*.tmp"))
    return [f for f in files if f.exists()]


def reset_warehouse(yes: bool) -> int:
    """`make reset-warehouse`: delete the warehouse (every file of it), the sandbox store kept beside it and Dagster's
    materialization history of its assets, so the next run starts a fresh warehouse for whatever source is
    configured then (on the sandbox: with a fresh store, the two must agree)."""
    path = settings.warehouse_path()
    files = warehouse_files(path)
    held = _held_sources(files)
    print(f"bp_pipelines: warehouse {path}{' holds ' + '; '.join(held) if held else ''}")
    state_dir = settings.sandbox_state_dir()
    if state_dir.exists() and _sandbox_serving(state_dir):
        print(
            f"bp_pipelines: a sandbox is serving from {state_dir} (a `make dev` or `make run` on this warehouse): "
            "stop it first; nothing deleted",
            file=sys.stderr,
        )
        return 1
    if state_dir.exists():
        files.append(state_dir)
    if not yes:
        if not sys.stdin.isatty():
            print("bp_pipelines: not resetting without confirmation: add --yes (make reset-warehouse ARGS=--yes)")
            return 1
        answer = input(f"Delete {len(files)} file(s) and the Dagster history of its assets? Type 'yes': ")
        if answer.strip().lower() != "yes":
            print("bp_pipelines: nothing deleted")
            return 1
    for file in files:
        if file.is_dir():
            shutil.rmtree(file)
        else:
            file.unlink()
        print(f"  deleted {file}")
    # The partition status in the UI must not claim the old source's history for the new one.
    import dagster as dg

    from bp_pipelines.definitions import defs

    os.environ["DAGSTER_HOME"] = str(dagster_home())
    keys = list(defs.resolve_all_asset_keys())
    with dg.DagsterInstance.get() as instance:
        instance.wipe_assets(keys)
    print(f"  wiped the materialization history of {len(keys)} assets in {os.environ['DAGSTER_HOME']}")
    return 0


def _sandbox_serving(state_dir: Path) -> bool:
    """Whether a sandbox holds the state dir's lock (the sandbox's `keep` module takes it for its lifetime)."""
    import fcntl

    lock_file = state_dir / "lock"
    if not lock_file.exists():
        return False
    with lock_file.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
    return False


def _held_sources(files: list[Path]) -> list[str]:
    import duckdb

    from bp_pipelines.lib.warehouse import source

    for file in files:
        if not file.name.endswith(".duckdb"):
            continue
        try:
            with duckdb.connect(str(file), read_only=True) as conn:
                return [
                    source.describe(h)
                    for kind in ("brightpearl", "storefront")
                    if (h := source.recorded_source(conn, kind))
                ]
        except duckdb.Error:
            continue
    return []


def main(argv: list[str] | None = None) -> int:
    settings.load_env_file()  # .env at the repo root; variables already set win
    parser = argparse.ArgumentParser(prog="python -m bp_pipelines.cli")
    parser.add_argument("command", choices=["run", "dev", "sql", "check", "reset-warehouse"])
    parser.add_argument("query", nargs="?", help='sql: the query, e.g. "SELECT * FROM analytics.daily_sales LIMIT 5"')
    parser.add_argument(
        "--orders",
        type=int,
        default=int(os.environ.get("BP_SANDBOX_ORDERS", DEFAULT_SANDBOX_ORDERS)),
        help="sandbox scale when no credentials are set",
    )
    parser.add_argument(
        "--reconcile",
        action="store_true",
        help="run: sweep every id of every stream now (deletions, silent edits), not only when due",
    )
    parser.add_argument("--yes", action="store_true", help="reset-warehouse: do not ask for confirmation")
    parser.add_argument(
        "--require-credentials", action="store_true", help="check: fail when no credentials are set (services)"
    )
    args = parser.parse_args(argv)
    if args.command == "sql":
        return sql(args.query)
    try:
        if args.command == "run":
            return run(args.orders, args.reconcile)
        if args.command == "dev":
            return dev(args.orders)
        if args.command == "check":
            return check(args.require_credentials)
        return reset_warehouse(args.yes)
    except settings.ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except SandboxStartError as exc:  # `make run`: e.g. the sandbox is not installed; one line, no traceback
        print(f"bp_pipelines: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
