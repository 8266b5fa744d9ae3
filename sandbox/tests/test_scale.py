"""1,000,000-order sandbox: generation (cached after the first run), paging and memory of the server process.

Cold (no cached world) this takes ~2-3 minutes on 2 cores; warm, seconds. Numbers go to BENCHMARKS.md.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import psutil
import pytest

ORDERS = 1_000_000
GB = 1024**3


class PeakRss:
    """Samples the summed RSS of this test process's descendants (sandbox + generator workers)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # a worker may exit between listing and reading
                    total += child.memory_info().rss
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_one_million_orders_page_and_memory(fresh_sandbox: Any) -> None:
    started = time.monotonic()
    with PeakRss() as rss:
        sbx = fresh_sandbox(seed=42, orders=ORDERS, rate_window_scale=0.01, timeout=800)
    startup_s = time.monotonic() - started
    server = psutil.Process(sbx.process.pid)

    timings = []
    seen: list[int] = []
    first = 1
    for _ in range(3):  # the client paging loop: firstResult = lastResult + 1
        t = time.monotonic()
        resp = sbx.bp_get("order-service/order-search", firstResult=first)
        timings.append(time.monotonic() - t)
        assert resp.status_code == 200
        meta = resp.json()["response"]["metaData"]
        assert meta["resultsAvailable"] > ORDERS * 0.99 and meta["resultsReturned"] == 500
        seen += [row[0] for row in resp.json()["response"]["results"]]
        first = meta["lastResult"] + 1
    assert len(seen) == len(set(seen)) == 1500 and seen == sorted(seen)

    t = time.monotonic()
    recent = sbx.bp_get("order-service/order-search", sort="updatedOn.DESC", updatedOn="2026-11-01/")
    timings.append(time.monotonic() - t)
    assert recent.status_code == 200 and recent.json()["response"]["results"]

    t = time.monotonic()
    orders = sbx.bp_get(f"order-service/order/{seen[0]}-{seen[199]}")
    timings.append(time.monotonic() - t)
    assert orders.status_code == 200 and len(orders.json()["response"]) == 200

    serving_rss = server.memory_info().rss
    generation = sbx.state["generation_seconds"] or "cache hit"
    print(
        f"\nscale: startup {startup_s:.1f}s (generation: {generation} s), peak RSS "
        f"{rss.peak / 1e6:.0f} MB, server RSS {serving_rss / 1e6:.0f} MB, requests "
        f"{', '.join(f'{x * 1000:.0f}ms' for x in timings)}"
    )
    assert serving_rss < 1 * GB
