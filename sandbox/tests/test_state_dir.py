"""`--state-dir`: the store outlives the process (same world), another world starts fresh, one sandbox per dir, and
a resumed live store gets the activity of (last clock, now] only, deterministically."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bp_sandbox.generator import DEFAULT_CLOCK_MS, ensure_world
from bp_sandbox.generator.changes import DEFAULT_COUNTS
from bp_sandbox.generator.timeutil import DAY_MS
from bp_sandbox.keep import RESUMED_MS_META, resume_live
from bp_sandbox.state import Store
from bp_sandbox.testing import start_sandbox


def notes(sbx: Any) -> list[str]:
    return [line for line in sbx.log_path.read_text().splitlines() if line.startswith("sandbox: ")]


def test_a_kept_store_is_resumed_by_the_same_world_only_and_serves_one_sandbox_at_a_time(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    state_dir = tmp_path / "kept"
    first = fresh_sandbox(seed=1, orders=250, extra_args=["--state-dir", str(state_dir)])
    assert first.state["resumed"] is False
    assert notes(first) == [f"sandbox: starting a fresh store in {state_dir}: no store kept there yet"]
    advanced = first.advance_clock(3600)
    made = first.apply_changes(orders_created=2)["orders_created"]
    assert len(made) == 2 and first.bp_get(f"order-service/order/{made[0]}").json()["response"]

    # A second sandbox on the same dir: refused with one line (exit 3), the first one keeps serving.
    with pytest.raises(RuntimeError, match="exit 3") as refused:
        start_sandbox(tmp_path / "second", seed=1, orders=250, extra_args=["--state-dir", str(state_dir)])
    assert f"sandbox: state dir {state_dir} is in use by another sandbox (pid {first.process.pid})" in str(
        refused.value
    )
    assert first.bp_get(f"order-service/order/{made[1]}").status_code == 200
    first.stop()

    again = fresh_sandbox(seed=1, orders=250, extra_args=["--state-dir", str(state_dir)])
    assert again.state["resumed"] is True and notes(again) == [f"sandbox: resuming the store kept in {state_dir}"]
    assert again.state["world_file"] == first.state["world_file"]  # reported from store.json, the cache untouched
    assert again.clock_ms() == advanced  # the fixed clock stands where the last session left it
    assert [again.bp_get(f"order-service/order/{i}").status_code for i in made] == [200, 200]
    again.stop()

    other = fresh_sandbox(seed=3, orders=300, extra_args=["--state-dir", str(state_dir)])
    assert other.state["resumed"] is False
    assert notes(other) == [
        f"sandbox: starting a fresh store in {state_dir}: the kept store is of another world (seed 1 -> 3, "
        "orders 250 -> 300)"
    ]
    assert json.loads((state_dir / "store.json").read_text())["seed"] == 3
    assert other.clock_ms() == DEFAULT_CLOCK_MS


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("orders", "contacts")}


def test_a_resumed_live_store_gets_the_activity_of_the_elapsed_span_once(tmp_path: Path) -> None:
    """Stores of one world resumed along two schedules (one day at once; two half days, then the same clock again)
    end with the same activity: a day's worth of the default counts, nothing applied twice."""
    world, _ = ensure_world(1, 250)
    start = DEFAULT_CLOCK_MS
    stores = []
    for name in ("once", "halves"):
        path = tmp_path / name / "world.sqlite"
        path.parent.mkdir()
        shutil.copyfile(world, path)
        store = Store(path)
        store.set_meta("clock_ms", start)
        store.set_meta("changes_clock_ms", start)
        stores.append(store)
    once, halves = stores
    before = counts(once.path)

    assert resume_live(once, start + DAY_MS) == {k: n for k, n in DEFAULT_COUNTS.items() if n}
    first_half = resume_live(halves, start + DAY_MS // 2)
    assert first_half["orders_created"] == DEFAULT_COUNTS["orders_created"] // 2
    second_half = resume_live(halves, start + DAY_MS)
    assert {k: first_half.get(k, 0) + second_half.get(k, 0) for k in DEFAULT_COUNTS if DEFAULT_COUNTS[k]} == {
        k: n for k, n in DEFAULT_COUNTS.items() if n
    }
    assert resume_live(halves, start + DAY_MS) == {}  # the same clock again: nothing new
    assert resume_live(halves, start + DAY_MS + 60_000) == {}  # a minute later: a fraction, carried over
    assert int(halves.get_meta(RESUMED_MS_META) or 0) == DAY_MS + 60_000
    for store in stores:
        # every change of the span lies inside it, after the last clock the store had served
        newest = store.query_one(
            "SELECT min(updated_ms) AS lo, max(updated_ms) AS hi FROM orders WHERE updated_ms > ?", (start,)
        )
        assert newest is not None and start < newest["lo"] and newest["hi"] <= start + DAY_MS + 60_000
    created = {k: counts(s.path)["orders"] - before["orders"] for k, s in zip(("once", "halves"), stores, strict=True)}
    assert created["once"] == created["halves"] > 0
    for store in stores:
        store.close()
