"""Client-side pacing driven by BigCommerce's `X-Rate-Limit-*` headers.

BigCommerce gives each store a request quota per window (150 per 30 s on Standard/Plus, shared by every app on
the store) and reports on every response how many requests are left and how long until the window resets
(bigcommerce-api.md §8). The pacer spreads what is left evenly over what remains of the window: after a request
sent at `t` that left `L` requests with the window ending at `r`, the next one goes at `t + (r - t) / (L + 1)`.
With `L = 0` that is exactly the reset, so a long push runs at the quota's pace, uses the whole budget and never
draws a 429, and it never bursts the whole quota at the start of a window, which would starve the other apps on the
store for the rest of it. The price is that even a short run goes at the quota's pace (150 per 30 s: one request per
0.2 s); a gap shorter than a request's own round trip costs nothing. A 429 blocks every request until the reset time
it names. Monotonic clock throughout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

LEFT_HEADER = "x-rate-limit-requests-left"
RESET_HEADER = "x-rate-limit-time-reset-ms"
QUOTA_HEADER = "x-rate-limit-requests-quota"
WINDOW_HEADER = "x-rate-limit-time-window-ms"
RETRY_AFTER_HEADER = "x-retry-after"  # seconds, on 429s
# A reset further away than this is treated as garbage and capped, so one bad header cannot park a run for hours.
MAX_WAIT_SECONDS = 120.0
# Reset times are whole milliseconds: wake a little after the reported end rather than a little before.
WAKE_MARGIN_SECONDS = 0.005

logger = logging.getLogger("bp_pipelines.bigcommerce")


@dataclass(frozen=True)
class RateHeaders:
    left: int | None
    reset_seconds: float | None
    quota: int | None
    window_seconds: float | None
    retry_after_seconds: float | None

    @property
    def throttle_wait(self) -> float | None:
        """How long a 429 says to wait: the longer of the reset time and `X-Retry-After` (§8), or None."""
        waits = [w for w in (self.reset_seconds, self.retry_after_seconds) if w is not None]
        return min(max(waits), MAX_WAIT_SECONDS) if waits else None


def _number(lowered: Mapping[str, str], name: str) -> float | None:
    raw = lowered.get(name)
    if raw is None:
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def read_rate_headers(headers: Mapping[str, str]) -> RateHeaders:
    """The rate-limit headers (names are case-insensitive); absent or unparsable values are `None`."""
    lowered = {key.lower(): value for key, value in headers.items()}
    left, reset, quota = _number(lowered, LEFT_HEADER), _number(lowered, RESET_HEADER), _number(lowered, QUOTA_HEADER)
    window, retry_after = _number(lowered, WINDOW_HEADER), _number(lowered, RETRY_AFTER_HEADER)
    return RateHeaders(
        left=None if left is None else int(left),
        reset_seconds=None if reset is None else min(reset / 1000.0, MAX_WAIT_SECONDS),
        quota=None if quota is None else int(quota),
        window_seconds=None if window is None else window / 1000.0,
        retry_after_seconds=retry_after,
    )


class RatePacer:
    """Thread-safe: `acquire()` before each request, `observe()`/`cancel()` after it, `block()` after a 429.

    `reserve` requests per window are left unused for other apps on the store."""

    def __init__(
        self,
        *,
        reserve: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._left: int | None = None  # None: unknown (no response yet, or the window has reset)
        self._resets_at: float | None = None
        self._last_sent: float | None = None
        self._blocked_until = 0.0
        self._in_flight = 0
        self.quota: int | None = None
        self.window_seconds: float | None = None

    def _delay(self, now: float) -> float:
        if now < self._blocked_until:
            return self._blocked_until - now
        if self._resets_at is None or now >= self._resets_at or self._left is None:
            return 0.0  # fresh window (or nothing known yet): the next response tells us the budget
        usable = self._left - self.reserve
        if usable <= 0:
            return self._resets_at - now + WAKE_MARGIN_SECONDS
        start = self._last_sent if self._last_sent is not None else now
        return max(0.0, start + (self._resets_at - start) / (usable + 1) - now)

    def acquire(self) -> float:
        """Block until the next request may go; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                delay = self._delay(now)
                if delay <= 0.0:
                    if self._resets_at is not None and now >= self._resets_at:
                        self._left, self._resets_at = None, None  # the window is over: the budget is full again
                    if self._left is not None:
                        self._left -= 1
                    self._last_sent = now
                    self._in_flight += 1
                    return waited
                left = self._left
            if delay >= 1.0:
                logger.info("BigCommerce rate limit: %s requests left, waiting %.2f s", left, delay)
            self._sleep(delay)
            waited += delay

    def observe(self, headers: RateHeaders) -> None:
        """Record a response's headers (any status)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            now = self._clock()
            if headers.quota is not None:
                self.quota = headers.quota
            if headers.window_seconds is not None:
                self.window_seconds = headers.window_seconds
            if headers.reset_seconds is not None:
                self._resets_at = now + headers.reset_seconds
            if headers.left is not None:
                # Requests still in flight were admitted on the old count and may not be in this one yet.
                self._left = max(0, headers.left - self._in_flight)

    def block(self, seconds: float) -> None:
        """After a 429: nobody sends before `seconds` from now."""
        with self._lock:
            self._left = 0
            self._blocked_until = max(self._blocked_until, self._clock() + seconds + WAKE_MARGIN_SECONDS)

    def cancel(self) -> None:
        """A request ended without a response (transport error): release its slot, learn nothing."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def snapshot(self) -> tuple[int | None, float | None]:
        """(requests left as last reported, seconds until the window resets) for logs and tests."""
        with self._lock:
            if self._resets_at is None:
                return self._left, None
            return self._left, max(0.0, self._resets_at - self._clock())


_shared: dict[str, RatePacer] = {}
_shared_lock = threading.Lock()


def shared_pacer(key: str, *, reserve: int = 0) -> RatePacer:
    """The process-wide pacer of one store (key: base URL + store hash): the quota is per store."""
    with _shared_lock:
        pacer = _shared.get(key)
        if pacer is None:
            pacer = _shared[key] = RatePacer(reserve=reserve)
        pacer.reserve = reserve
        return pacer
