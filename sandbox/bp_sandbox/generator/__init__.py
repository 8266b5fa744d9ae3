"""Deterministic world generator with an on-disk cache keyed by (seed, orders, clock, GENERATOR_VERSION).

path = ensure_world(seed=42, orders=5000)          # cached build (generated once)
work = working_copy(path, work_dir)                # fresh mutable copy per server start
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from .build import BuildStats, build_world
from .timeutil import DEFAULT_CLOCK_MS

GENERATOR_VERSION = "6"
__all__ = [
    "GENERATOR_VERSION",
    "DEFAULT_CLOCK_MS",
    "BuildStats",
    "build_world",
    "default_data_dir",
    "ensure_world",
    "working_copy",
    "world_file_name",
]


def default_data_dir() -> Path:
    raw = os.environ.get("BP_SANDBOX_DATA_DIR")
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "bp_pipelines" / "sandbox"


def world_file_name(seed: int, orders: int, clock_ms: int = DEFAULT_CLOCK_MS) -> str:
    clock = "" if clock_ms == DEFAULT_CLOCK_MS else f"-c{clock_ms}"
    return f"world-v{GENERATOR_VERSION}-s{seed}-o{orders}{clock}.sqlite"


def ensure_world(
    seed: int, orders: int, clock_ms: int = DEFAULT_CLOCK_MS, data_dir: Path | None = None, workers: int | None = None
) -> tuple[Path, BuildStats | None]:
    """Return the cached world file, generating it first if needed (stats is None on a cache hit).

    A lock file serialises concurrent generators of the same key (parallel test sessions).
    """
    if orders < 1:
        raise ValueError(f"orders must be >= 1, got {orders}")
    directory = data_dir or default_data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / world_file_name(seed, orders, clock_ms)
    if path.exists():
        return path, None
    with open(directory / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path, None
        stats = build_world(path, seed, orders, clock_ms, workers)
    _prune_old_versions(directory)
    return path, stats


def _prune_old_versions(directory: Path) -> None:
    """Delete complete worlds of other generator versions (they can never be used again; 1M orders ~1.5 GB).

    Running servers are unaffected: they work on their own copies.
    """
    current = f"world-v{GENERATOR_VERSION}-"
    for old in directory.glob("world-v*-*.sqlite"):
        if not old.name.startswith(current):
            old.unlink(missing_ok=True)
            Path(f"{old}.lock").unlink(missing_ok=True)
    for tmp in directory.glob("world-v*.sqlite.tmp*"):  # left behind by a killed generator
        pid = tmp.name.split(".tmp", 1)[1].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def working_copy(world: Path, work_dir: Path) -> Path:
    """Copy the cached world so a server's mutations never leak into the cache or other servers."""
    work_dir.mkdir(parents=True, exist_ok=True)
    target = work_dir / "world.sqlite"
    shutil.copyfile(world, target)
    return target
