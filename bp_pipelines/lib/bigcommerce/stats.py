"""Per-client request counters, reported by assets as Dagster metadata and by the benchmarks."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

_ID_SEGMENT = re.compile(r"^\d+$")


def endpoint_template(method: str, path: str) -> str:
    """`GET v2/orders/12/shipments` -> `GET v2/orders/{id}/shipments`, so counts group by endpoint."""
    segments = [("{id}" if _ID_SEGMENT.match(s) else s) for s in path.strip("/").split("/")]
    return f"{method.upper()} {'/'.join(segments)}"


@dataclass
class ClientStats:
    """`requests` counts every HTTP request sent (re-sends included); `retries` the re-sends; `throttled` the 429s;
    `waits`/`wait_seconds` the pacing waits (including the waits after a 429)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    requests_by_endpoint: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_request(self, endpoint: str) -> None:
        with self._lock:
            self.requests += 1
            self.requests_by_endpoint[endpoint] = self.requests_by_endpoint.get(endpoint, 0) + 1

    def record_wait(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self.waits += 1
                self.wait_seconds += seconds

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def record_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def as_metadata(self) -> dict[str, Any]:
        """Plain values for `MaterializeResult(metadata=...)`."""
        with self._lock:
            return {
                "bc_requests": self.requests,
                "bc_retries": self.retries,
                "bc_throttled": self.throttled,
                "bc_waits": self.waits,
                "bc_wait_seconds": round(self.wait_seconds, 3),
                "bc_requests_by_endpoint": dict(sorted(self.requests_by_endpoint.items())),
            }
