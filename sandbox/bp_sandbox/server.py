"""Run both emulators in one process: two uvicorn servers (threads) on loopback over one Store.

Sockets are bound before the servers start, so port 0 yields a known ephemeral port immediately; the state
(URLs + fixed sandbox credentials) is published only once both servers accept connections.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from . import control
from .bigcommerce.app import create_app as create_bigcommerce_app
from .brightpearl.app import create_app as create_brightpearl_app
from .generator import DEFAULT_CLOCK_MS, GENERATOR_VERSION, BuildStats, ensure_world, working_copy
from .generator.changes import apply_changes
from .generator.timeutil import DAY_MS
from .keep import KeptStore, open_state_dir, resume_live, store_key
from .state import Store


@dataclass
class SandboxConfig:
    seed: int = 42
    orders: int = 5000
    host: str = "127.0.0.1"
    bp_port: int = 0
    bc_port: int = 0
    rate_window_scale: float = 1.0
    state_file: Path | None = None
    data_dir: Path | None = None
    clock_ms: int | None = DEFAULT_CLOCK_MS  # None: live clock (the machine's), see start()
    workers: int | None = None
    null_updated_on_share: float = 0.0
    state_dir: Path | None = None  # keep the working world here between starts (keep.py); None: a temp copy


@dataclass
class RunningSandbox:
    config: SandboxConfig
    store: Store
    work_dir: Path
    servers: list[uvicorn.Server] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    build: BuildStats | None = None
    kept: KeptStore | None = None

    def checkpoint(self) -> None:
        """Record the live clock the store has reached, so a resumed store continues from here (also after a
        SIGKILL, up to the last checkpoint)."""
        if self.kept is not None and self.store.live_clock:
            self.store.set_meta("clock_ms", self.store.now_ms())

    def stop(self, timeout: float = 10.0) -> None:
        for server in self.servers:
            server.should_exit = True
        for thread in self.threads:
            thread.join(timeout)
        self.checkpoint()
        self.store.close()
        if self.kept is not None:
            self.kept.release()  # the state dir stays for the next start
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _serve(app: Starlette, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{sock.getsockname()[1]}"
    )
    thread.start()
    return server, thread


def build_apps(store: Store) -> tuple[Starlette, Starlette]:
    bp_app = create_brightpearl_app(store, control.routes(store))
    bc_app = Starlette(routes=[*control.routes(store), Mount("/", app=create_bigcommerce_app(store))])
    return bp_app, bc_app


def _remove_orphaned_work_dirs() -> None:
    """Working copies of killed sandboxes (SIGKILL skips cleanup) can be 1.5 GB each: reclaim them."""
    for work_dir in Path(tempfile.gettempdir()).glob("bp_sandbox_*"):
        pid_file = work_dir / "pid"
        try:
            os.kill(int(pid_file.read_text()), 0)
        except ProcessLookupError:
            shutil.rmtree(work_dir, ignore_errors=True)
        except (OSError, ValueError):
            continue  # no pid file yet, or the owner is alive / not ours


def _prune_past_days(data_dir: Path, seed: int, orders: int, today_ms: int) -> None:
    """Live-clock worlds of earlier days are never used again."""
    for old in data_dir.glob(f"world-v{GENERATOR_VERSION}-s{seed}-o{orders}-c*.sqlite"):
        clock = old.stem.rsplit("-c", 1)[1]
        if clock.isdigit() and int(clock) % DAY_MS == 0 and int(clock) < today_ms:
            old.unlink(missing_ok=True)
            Path(f"{old}.lock").unlink(missing_ok=True)


def start(config: SandboxConfig) -> RunningSandbox:
    """Start both servers. A fixed clock (`config.clock_ms`) serves the cached world of that clock. The live clock
    (`clock_ms=None`) serves the world of today's UTC midnight (cached per day, so the history always reaches
    yesterday), moves the clock to the machine's time and simulates today's activity up to now (deterministic
    for a given start time), so the latest changes are minutes old."""
    live = config.clock_ms is None
    now = time.time_ns() // 1_000_000
    world_clock = now - now % DAY_MS if config.clock_ms is None else config.clock_ms
    built: list[tuple[Path, BuildStats | None]] = []

    def cached_world() -> Path:
        """The cached world (generated on a miss); a resumed kept store never needs it (e.g. on a new day)."""
        if not built:
            built.append(ensure_world(config.seed, config.orders, world_clock, config.data_dir, config.workers))
            if live:
                _prune_past_days(built[0][0].parent, config.seed, config.orders, world_clock)
        return built[0][0]

    _remove_orphaned_work_dirs()
    kept: KeptStore | None = None
    if config.state_dir is not None:
        key = store_key(config.seed, config.orders, config.clock_ms)
        kept = open_state_dir(config.state_dir, cached_world, key)
        work_dir, store = config.state_dir, Store(kept.path)
    else:
        work_dir = Path(tempfile.mkdtemp(prefix="bp_sandbox_"))
        (work_dir / "pid").write_text(str(os.getpid()))
        store = Store(working_copy(cached_world(), work_dir))
    if live:
        store.live_clock = True
        if kept is not None and kept.resumed:
            # Only (last clock reached, now] is new: today's activity up to then is in the store already.
            resume_live(store, now)
        else:
            store.set_meta("clock_ms", now)
            # Today's activity so far: one change call (the default counts) spread over (midnight, now].
            apply_changes(store, {})
    store.null_updated_on_share = config.null_updated_on_share
    store.rate_window_scale = config.rate_window_scale
    stats = built[0][1] if built else None
    running = RunningSandbox(config, store, work_dir, build=stats, kept=kept)
    bp_sock, bc_sock = _bind(config.host, config.bp_port), _bind(config.host, config.bc_port)
    for app, sock in zip(build_apps(store), (bp_sock, bc_sock), strict=True):
        server, thread = _serve(app, sock)
        running.servers.append(server)
        running.threads.append(thread)
    deadline = time.monotonic() + 30
    while not all(s.started for s in running.servers):
        if time.monotonic() > deadline or not all(t.is_alive() for t in running.threads):
            running.stop()
            raise RuntimeError("sandbox servers did not start")
        time.sleep(0.01)
    host = f"[{config.host}]" if ":" in config.host else config.host
    bp_url = f"http://{host}:{bp_sock.getsockname()[1]}"
    running.state = {
        "brightpearl_base_url": bp_url,
        "brightpearl_account": store.get_meta("bp_account"),
        "brightpearl_app_ref": store.get_meta("bp_app_ref"),
        "brightpearl_account_token": store.get_meta("bp_account_token"),
        "bigcommerce_base_url": f"http://{host}:{bc_sock.getsockname()[1]}",
        "bigcommerce_store_hash": store.get_meta("bc_store_hash"),
        "bigcommerce_access_token": store.get_meta("bc_access_token"),
        "control_url": f"{bp_url}/_sandbox",
        "seed": config.seed,
        "orders": config.orders,
        "world_file": str(built[0][0]) if built else kept.copied_from if kept else None,
        "store_file": str(store.path),
        "resumed": bool(kept and kept.resumed),
        "generation_seconds": round(stats.seconds, 2) if stats else None,
    }
    if config.state_file is not None:
        tmp = config.state_file.with_name(config.state_file.name + ".tmp")
        tmp.write_text(json.dumps(running.state, indent=2))
        tmp.replace(config.state_file)  # atomic: readers never see a half-written file
    return running
