"""Rolling-window request cap per account: 200 requests / 60 s (window x store.rate_window_scale)."""

from __future__ import annotations

import threading
import time
from collections import deque

from ..state import Store

LIMIT = 200
WINDOW_S = 60.0


class RateLimiter:
    def __init__(self, store: Store, limit: int = LIMIT, window_s: float = WINDOW_S) -> None:
        self.store, self.limit, self.window_s = store, limit, window_s
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def _window(self) -> float:
        return self.window_s * self.store.rate_window_scale

    def _expire(self, now: float) -> None:
        cutoff = now - self._window()
        while self._hits and self._hits[0] <= cutoff:
            self._hits.popleft()

    def _next_period_ms(self, now: float) -> int:
        """ms until the oldest counted request leaves the window (a full window when none is counted)."""
        if not self._hits:
            return int(self._window() * 1000)
        return max(1, int((self._hits[0] + self._window() - now) * 1000))

    def acquire(self) -> tuple[bool, int, int]:
        """Count one request if allowed -> (allowed, requests remaining, next throttle period in ms).

        With limits disabled the account behaves as unlimited: nothing is counted and the headers always
        report a full budget, so header-driven client governors do not slow down either.
        """
        with self._lock:
            now = time.monotonic()
            if not self.store.rate_limits_enabled:
                self._hits.clear()
                return True, self.limit - 1, int(self._window() * 1000)
            self._expire(now)
            if len(self._hits) >= self.limit:
                return False, 0, self._next_period_ms(now)
            self._hits.append(now)
            return True, max(0, self.limit - len(self._hits)), self._next_period_ms(now)

    def peek(self) -> tuple[int, int]:
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            return max(0, self.limit - len(self._hits)), self._next_period_ms(now)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
