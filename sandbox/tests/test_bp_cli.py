"""`python -m bp_sandbox`: state JSON on stdout and in --state-file, both ports, clean signal exits."""

from __future__ import annotations

import json
import signal
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

KEYS = {
    "brightpearl_base_url",
    "brightpearl_account",
    "brightpearl_app_ref",
    "brightpearl_account_token",
    "bigcommerce_base_url",
    "bigcommerce_store_hash",
    "bigcommerce_access_token",
    "control_url",
}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_publishes_state_serves_both_apis_and_exits_cleanly(fresh_sandbox: Any, sig: signal.Signals) -> None:
    sbx = fresh_sandbox(seed=1, orders=250)
    assert set(sbx.state) >= KEYS
    printed = json.loads(sbx.log_path.read_text().splitlines()[0])
    assert printed == sbx.state
    assert (
        sbx.brightpearl_base_url.startswith("http://127.0.0.1:")
        and sbx.brightpearl_base_url != sbx.bigcommerce_base_url
    )
    bc = httpx.get(
        f"{sbx.bigcommerce_base_url}/stores/{sbx.bigcommerce_store_hash}/v2/orders", headers=sbx.bc_headers()
    )
    assert bc.status_code == 200 and bc.json()
    assert httpx.get(f"{sbx.bigcommerce_base_url}/_sandbox/clock").json() == sbx.control("GET", "clock")
    assert sbx.bp_get("order-service/order/1").status_code == 200
    sbx.process.send_signal(sig)
    assert sbx.process.wait(15) == 0


def test_orphaned_working_copies_are_reclaimed(fresh_sandbox: Any) -> None:
    orphan = Path(tempfile.mkdtemp(prefix="bp_sandbox_"))
    (orphan / "pid").write_text("999999999")  # a sandbox that was SIGKILLed
    (orphan / "world.sqlite").write_bytes(b"x" * 1024)
    fresh_sandbox(seed=1, orders=250)
    assert not orphan.exists()


def test_live_clock_follows_the_machine_and_today_has_activity(fresh_sandbox: Any, tmp_path: Path) -> None:
    import time
    from datetime import UTC, datetime

    data_dir = tmp_path / "worlds"
    sbx = fresh_sandbox(seed=3, orders=400, clock="now", data_dir=data_dir)
    now_ms = time.time_ns() // 1_000_000
    midnight = now_ms - now_ms % 86_400_000
    first = sbx.clock_ms()
    assert abs(first - now_ms) < 30_000  # the machine's time, not 2026-11-20
    time.sleep(1.1)
    assert sbx.clock_ms() > first  # and it moves with it
    assert sbx.state["world_file"].endswith(f"-c{midnight}.sqlite")  # one cached world per UTC day
    newest = sbx.bp_get("order-service/order-search", sort="updatedOn.DESC", pageSize=1, columns="orderId,updatedOn")
    updated = datetime.fromisoformat(newest.json()["response"]["results"][0][1])
    # today's activity was simulated up to now: the newest change is from today and not in the future
    assert midnight <= updated.timestamp() * 1000 <= sbx.clock_ms()
    assert updated.astimezone(UTC).date() == datetime.now(UTC).date()
    again = fresh_sandbox(seed=3, orders=400, clock="now", data_dir=data_dir)
    assert again.state["generation_seconds"] is None  # the day's world comes from the cache
