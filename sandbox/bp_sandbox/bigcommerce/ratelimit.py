"""Per-store fixed-window rate limiter: 150 requests per 30 s (Standard/Plus plan), window scalable for tests."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

QUOTA = 150
WINDOW_MS = 30_000


@dataclass(frozen=True)
class RateState:
    allowed: bool
    window_ms: int
    reset_ms: int
    quota: int
    left: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            "X-Rate-Limit-Time-Reset-Ms": str(self.reset_ms),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(self.left),
        }
        if not self.allowed:
            # Seconds, rounded up, so a client sleeping X-Retry-After never wakes inside the old window.
            headers["X-Retry-After"] = str(max(1, math.ceil(self.reset_ms / 1000)))
        return headers


class RateLimiter:
    """Fixed windows that start at the first request after the previous window ended (wall clock,
    not the sandbox clock, because clients sleep in real time)."""

    def __init__(self, quota: int = QUOTA, window_ms: int = WINDOW_MS) -> None:
        self.quota = quota
        self.window_ms = window_ms
        self._windows: dict[str, tuple[float, int]] = {}  # store hash -> (window start, used)
        self._lock = threading.Lock()

    def _window(self, scale: float) -> int:
        return max(1, int(self.window_ms * scale))

    def check(self, key: str, scale: float, *, enabled: bool = True, consume: bool = True) -> RateState:
        """Count one request against `key` (if `consume`) and report the state for the headers."""
        window = self._window(scale)
        now = time.monotonic()
        with self._lock:
            start, used = self._windows.get(key, (now, 0))
            elapsed_ms = (now - start) * 1000
            if elapsed_ms >= window:
                start, used, elapsed_ms = now, 0, 0.0
            reset_ms = max(0, math.ceil(window - elapsed_ms))
            if not enabled:
                self._windows[key] = (start, used)
                return RateState(True, window, reset_ms, self.quota, self.quota)
            if consume and used >= self.quota:
                self._windows[key] = (start, used)
                return RateState(False, window, reset_ms, self.quota, 0)
            if consume:
                used += 1
            self._windows[key] = (start, used)
            return RateState(True, window, reset_ms, self.quota, max(0, self.quota - used))

    def throttled(self, key: str, scale: float) -> RateState:
        """State for an injected `throttle` fault: a 429 carrying the current window's reset time."""
        state = self.check(key, scale, consume=False)
        return RateState(False, state.window_ms, state.reset_ms, state.quota, 0)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
