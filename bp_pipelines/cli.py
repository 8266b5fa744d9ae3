"""`make run` and `make dev` entry points.

With no BRIGHTPEARL_ACCOUNT_TOKEN set, both start the sandbox on free loopback ports and point the pipeline at it;
with credentials set they use the configured services and start nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

from bp_pipelines import settings
from bp_pipelines.sandbox_process import SandboxProcess

MAIN_JOB = "brightpearl_sync"
DEFAULT_SANDBOX_ORDERS = 5000


@contextlib.contextmanager
def pipeline_environment(orders: int) -> Iterator[str]:
    """Yield a description of the target; sets env vars for the sandbox when no credentials are configured."""
    if not settings.using_sandbox():
        yield f"Brightpearl at {os.environ.get('BRIGHTPEARL_BASE_URL', settings.DEFAULT_BRIGHTPEARL_BASE_URL)}"
        return
    with SandboxProcess(orders=orders) as sandbox:
        os.environ.update(sandbox.env())
        try:
            yield f"the sandbox (seed 42, {orders} orders; control API {sandbox.control_url})"
        finally:
            for var in sandbox.env():
                os.environ.pop(var, None)


def run(orders: int) -> int:
    from bp_pipelines.run_summary import execute_main_job

    with pipeline_environment(orders) as target:
        print(f"bp_pipelines: syncing {target} into {settings.warehouse_path()}", flush=True)
        return execute_main_job(MAIN_JOB)


def dev(orders: int) -> int:
    with pipeline_environment(orders) as target:
        print(f"bp_pipelines: Dagster UI against {target}", flush=True)
        cmd = ["dagster", "dev", "-w", str(settings.REPO_ROOT / "workspace.yaml")]
        # dagster dev maps SIGTERM onto SIGINT, which background jobs ignore: reset it so Ctrl-C/kill stop it.
        proc = subprocess.Popen(cmd, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            return proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bp_pipelines.cli")
    parser.add_argument("command", choices=["run", "dev"])
    parser.add_argument("--orders", type=int, default=int(os.environ.get("BP_SANDBOX_ORDERS", DEFAULT_SANDBOX_ORDERS)),
                        help="sandbox scale when no credentials are set")
    args = parser.parse_args(argv)
    try:
        return run(args.orders) if args.command == "run" else dev(args.orders)
    except settings.ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
