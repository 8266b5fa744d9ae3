"""`python -m bp_sandbox --seed 42 --orders 5000 [--host 127.0.0.1] [--bp-port 0] [--bc-port 0]
[--rate-window-scale 1.0] [--state-file path.json] [--data-dir DIR] [--clock now|2026-11-20T12:00:00Z]
[--state-dir DIR]`

Prints the state JSON (URLs + fixed sandbox credentials) once both servers listen, writes it to
--state-file, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from .generator.timeutil import parse_clock
from .keep import StateDirBusy
from .server import SandboxConfig, start

# Exit status of a start refused because another sandbox holds --state-dir (SandboxProcess reports its one line).
EXIT_STATE_DIR_BUSY = 3
CHECKPOINT_EVERY_S = 5.0


def parse_args(argv: list[str] | None = None) -> SandboxConfig:
    p = argparse.ArgumentParser(prog="python -m bp_sandbox", description=__doc__.split("\n\n")[1])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--orders", type=int, default=5000, help="number of Brightpearl orders to generate")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--bp-port", type=int, default=0, help="Brightpearl port (0 = ephemeral)")
    p.add_argument("--bc-port", type=int, default=0, help="BigCommerce port (0 = ephemeral)")
    p.add_argument("--rate-window-scale", type=float, default=1.0, help="0.01 turns 60 s windows into 0.6 s")
    p.add_argument("--state-file", type=Path, default=None)
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="world cache (default $BP_SANDBOX_DATA_DIR or ~/.cache/bp_pipelines/sandbox)",
    )
    p.add_argument(
        "--clock",
        default="now",
        help="'now' (default): the clock follows the machine's; or a fixed start such as 2026-11-20T12:00:00Z",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="keep the store (everything the emulators wrote) in DIR and resume it on the next start of the same "
        "world (default: a fresh temporary copy per start)",
    )
    p.add_argument("--workers", type=int, default=None, help="generator processes (default: CPU count)")
    p.add_argument(
        "--null-updated-on-share",
        type=float,
        default=0.0,
        help="share of records (0..1) whose search rows show updatedOn: null while the GET has it (default 0)",
    )
    a = p.parse_args(argv)
    if a.orders < 1 or a.rate_window_scale <= 0:
        p.error("--orders must be >= 1 and --rate-window-scale > 0")
    if not 0 <= a.null_updated_on_share <= 1:
        p.error("--null-updated-on-share must be between 0 and 1")
    return SandboxConfig(
        seed=a.seed,
        orders=a.orders,
        host=a.host,
        bp_port=a.bp_port,
        bc_port=a.bc_port,
        rate_window_scale=a.rate_window_scale,
        state_file=a.state_file,
        data_dir=a.data_dir,
        clock_ms=None if a.clock == "now" else parse_clock(a.clock),
        workers=a.workers,
        null_updated_on_share=a.null_updated_on_share,
        state_dir=a.state_dir,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        running = start(config)
    except StateDirBusy as exc:
        print(exc, file=sys.stderr)
        return EXIT_STATE_DIR_BUSY
    print(json.dumps(running.state), flush=True)
    checkpointed = time.monotonic()
    try:
        while not stop.wait(0.5):
            if not all(t.is_alive() for t in running.threads):
                print("sandbox: a server thread died", file=sys.stderr)
                return 1
            if time.monotonic() - checkpointed >= CHECKPOINT_EVERY_S:
                running.checkpoint()
                checkpointed = time.monotonic()
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
