"""`--state-dir DIR`: keep the sandbox's working world between starts, so a store outlives the process.

DIR holds `world.sqlite` (the working copy the emulators write to), `store.json` (the key of the world it was
copied from) and `lock` (held while a sandbox serves from DIR). A start reuses the store when its key matches
(seed, orders, generator version, and the fixed clock or "live"); otherwise it copies a fresh world and says why
on stderr. A second sandbox on a busy DIR fails (`StateDirBusy`): falling back to a fresh copy would hand the
pipeline a storefront that disagrees with its warehouse, the very thing the state dir prevents.

With the live clock a resumed store continues where it stopped: the activity of (last clock reached, now] is
applied at the daily rate of one default change call, with the fractions carried over in the store's meta table,
so many short pauses add up to the same activity as one long one and nothing is applied twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .generator import GENERATOR_VERSION
from .generator.changes import DEFAULT_COUNTS, apply_changes
from .generator.timeutil import DAY_MS
from .state import Store

WORLD_FILE, KEY_FILE, LOCK_FILE = "world.sqlite", "store.json", "lock"
COPIED_FROM = "copied_from"  # in store.json beside the key, not part of it
# Milliseconds of resumed live time whose activity has been applied (the carry of the daily-rate fractions).
RESUMED_MS_META = "resumed_activity_ms"


class StateDirBusy(RuntimeError):
    """Another sandbox serves from this state dir."""


@dataclass
class KeptStore:
    path: Path  # the working world file inside the state dir
    resumed: bool
    copied_from: str | None  # the cached world the store started as (informational)
    lock: IO[str]  # held (flock) for the process's lifetime; the kernel releases it if the process dies

    def release(self) -> None:
        self.lock.close()


def store_key(seed: int, orders: int, clock_ms: int | None) -> dict[str, Any]:
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "orders": orders,
        "clock": "live" if clock_ms is None else clock_ms,
    }


def open_state_dir(state_dir: Path, world: Callable[[], Path], key: dict[str, Any]) -> KeptStore:
    """Lock DIR, then reuse its store if the key matches or copy `world()` (the cached world, built on demand) into
    it; one stderr line either way."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = open(state_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held open until the sandbox stops (KeptStore)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        owner = lock.read().strip() or "?"
        lock.close()
        raise StateDirBusy(
            f"sandbox: state dir {state_dir} is in use by another sandbox (pid {owner}): stop that one first, "
            "or use another state dir"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    target, key_file = state_dir / WORLD_FILE, state_dir / KEY_FILE
    saved = _read_key(key_file)
    copied_from = saved.pop(COPIED_FROM, None) if saved else None
    if saved == key and target.exists():
        print(f"sandbox: resuming the store kept in {state_dir}", file=sys.stderr, flush=True)
        return KeptStore(target, True, copied_from, lock)
    reason = "no store kept there yet" if saved is None else f"the kept store is of another world ({_diff(saved, key)})"
    print(f"sandbox: starting a fresh store in {state_dir}: {reason}", file=sys.stderr, flush=True)
    key_file.unlink(missing_ok=True)  # no key until the copy is complete: a crash mid-copy starts fresh next time
    for stale in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        stale.unlink(missing_ok=True)
    source = world()
    tmp = state_dir / f"{WORLD_FILE}.tmp"
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    tmp_key = key_file.with_name(KEY_FILE + ".tmp")
    tmp_key.write_text(json.dumps({**key, COPIED_FROM: str(source)}))
    tmp_key.replace(key_file)
    return KeptStore(target, False, str(source), lock)


def _read_key(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _diff(saved: dict[str, Any], key: dict[str, Any]) -> str:
    return ", ".join(f"{k} {saved.get(k)!r} -> {v!r}" for k, v in key.items() if saved.get(k) != v) or "unreadable"


def resume_live(store: Store, now_ms: int) -> dict[str, int]:
    """Bring a resumed live-clock store from the last clock it reached to `now_ms`: the activity of that span at
    the daily rate of DEFAULT_COUNTS, spread over (last clock, now]. Deterministic in (store, now_ms)."""
    last = int(store.get_meta("clock_ms", "0") or 0)
    since = max(last, int(store.get_meta("changes_clock_ms", "0") or 0))
    now = max(now_ms, since)  # an advanced clock stands until the machine's catches up
    carried = int(store.get_meta(RESUMED_MS_META, "0") or 0)
    total = carried + (now - since)
    counts = {kind: n * total // DAY_MS - n * carried // DAY_MS for kind, n in DEFAULT_COUNTS.items()}
    with store.transaction():
        store.set_meta(RESUMED_MS_META, total)
        # Changes land after the last clock the store served, never inside a span a sync already read.
        store.set_meta("changes_clock_ms", since)
        store.set_meta("clock_ms", now)
        if any(counts.values()):
            apply_changes(store, counts)
        else:
            store.set_meta("changes_clock_ms", now)
    return {kind: n for kind, n in counts.items() if n}
