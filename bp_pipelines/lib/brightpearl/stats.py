"""Per-client request counters, reported by assets as Dagster metadata."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

# A path segment that is an ID set ("1-3,7", "988116") or the "all orders" wildcard "*".
_ID_SEGMENT = re.compile(r"^(\*|\d+([-,]\d+)*)$")


def endpoint_template(method: str, path: str) -> str:
    """`GET order-service/order/1-3,7` -> `GET order-service/order/{ids}`, so counts group by endpoint."""
    segments = [("{ids}" if _ID_SEGMENT.match(segment) else segment) for segment in path.strip("/").split("/")]
    return f"{method.upper()} {'/'.join(segments)}"


@dataclass
class ClientStats:
    """`calls` counts every HTTP request sent (retries included); `retries` counts re-sends (throttle re-sends
    included); `throttled` counts 503/429 throttle responses; `governor_waits`/`governor_wait_seconds` count the
    pre-emptive waits that avoided them."""

    calls: int = 0
    throttled: int = 0
    retries: int = 0
    calls_by_endpoint: dict[str, int] = field(default_factory=dict)
    governor_waits: int = 0
    governor_wait_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_call(self, endpoint: str) -> None:
        with self._lock:
            self.calls += 1
            self.calls_by_endpoint[endpoint] = self.calls_by_endpoint.get(endpoint, 0) + 1

    def record_wait(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self.governor_waits += 1
                self.governor_wait_seconds += seconds

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def record_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def as_metadata(self) -> dict[str, Any]:
        """Plain values for `MaterializeResult(metadata=...)` (Dagster renders dicts as JSON)."""
        with self._lock:
            return {
                "bp_calls": self.calls,
                "bp_throttled": self.throttled,
                "bp_retries": self.retries,
                "bp_governor_waits": self.governor_waits,
                "bp_governor_wait_seconds": round(self.governor_wait_seconds, 3),
                "bp_calls_by_endpoint": dict(sorted(self.calls_by_endpoint.items())),
            }
