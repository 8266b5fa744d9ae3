"""Client-side rate governor driven by Brightpearl's throttle headers.

Brightpearl allows 200 requests per minute per account, shared by all private apps, and answers 503 beyond it
(HC-throttle). Every response carries `brightpearl-requests-remaining` (budget left) and
`brightpearl-next-throttle-period` (milliseconds until the period resets). The governor never sleeps a fixed
amount: it lets requests through while the last reported budget is above `reserve`, and otherwise waits exactly
until the reported period ends. That spends the whole budget (minus the reserve left for other apps) in every
period without a throttled response, whether the server counts in fixed windows or a rolling one. Time is
measured with a monotonic clock. One governor is shared by all clients of one account in a process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

REMAINING_HEADER = "brightpearl-requests-remaining"
PERIOD_HEADER = "brightpearl-next-throttle-period"
# The documented period is one minute; a larger value is treated as garbage and capped so one bad header
# cannot park a run for hours.
MAX_PERIOD_SECONDS = 120.0
# Header periods are whole milliseconds; wake a little after the reported end rather than a little before.
WAKE_MARGIN_SECONDS = 0.005

logger = logging.getLogger("bp_pipelines.brightpearl")


@dataclass(frozen=True)
class ThrottleHeaders:
    remaining: int | None
    period_seconds: float | None


def _int_header(lowered: Mapping[str, str], name: str) -> int | None:
    raw = lowered.get(name)
    if raw is None:
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def read_throttle_headers(headers: Mapping[str, str]) -> ThrottleHeaders:
    """Both throttle headers (case-insensitive); absent or unparsable values are `None`."""
    lowered = {key.lower(): value for key, value in headers.items()}
    period_ms = _int_header(lowered, PERIOD_HEADER)
    period = None if period_ms is None else min(period_ms / 1000.0, MAX_PERIOD_SECONDS)
    return ThrottleHeaders(remaining=_int_header(lowered, REMAINING_HEADER), period_seconds=period)


class RateGovernor:
    """Thread-safe budget tracker: `acquire()` before each request, `observe()`/`cancel()` after it."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._remaining: int | None = None  # None: unknown (no response yet, or the period has reset)
        self._resets_at: float | None = None  # clock() value at which the current period ends
        self._in_flight = 0

    def _delay(self, now: float, reserve: int) -> float:
        if self._remaining is None or self._remaining > reserve:
            return 0.0
        if self._resets_at is None or now >= self._resets_at:
            return 0.0  # no period reported (then a 503 tells us), or it has already ended
        return self._resets_at - now + WAKE_MARGIN_SECONDS

    def acquire(self, reserve: int = 0) -> float:
        """Block until a request may be sent without dipping into `reserve`; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                delay = self._delay(now, reserve)
                if delay <= 0.0:
                    if self._resets_at is not None and now >= self._resets_at:
                        # The period is over and the budget refilled; the next response says by how much.
                        self._remaining, self._resets_at = None, None
                    if self._remaining is not None:
                        self._remaining -= 1
                    self._in_flight += 1
                    return waited
                remaining = self._remaining
            if waited == 0.0:
                # Short waits are routine when the budget trickles back in a rolling window; long ones are news.
                logger.log(
                    logging.INFO if delay >= 1.0 else logging.DEBUG,
                    "Brightpearl request budget down to %s (reserve %s): waiting %.2f s for the throttle period to end",
                    remaining,
                    reserve,
                    delay,
                )
            self._sleep(delay)
            waited += delay

    def observe(self, headers: ThrottleHeaders, *, throttled: bool = False, fallback_seconds: float = 0.0) -> None:
        """Record a response's headers. A throttled response empties the budget until the period ends."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            now = self._clock()
            if headers.period_seconds is not None:
                self._resets_at = now + headers.period_seconds
            if throttled:
                self._remaining = 0
                if headers.period_seconds is None:
                    self._resets_at = now + fallback_seconds
            elif headers.remaining is not None:
                # Requests still in flight were admitted on the old count and may not be in this one yet.
                self._remaining = max(0, headers.remaining - self._in_flight)

    def cancel(self) -> None:
        """A request ended without a response (transport error): release its slot, learn nothing."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def snapshot(self) -> tuple[int | None, float | None]:
        """(last known remaining budget, seconds until the period resets) for logging and tests."""
        with self._lock:
            if self._resets_at is None:
                return self._remaining, None
            return self._remaining, max(0.0, self._resets_at - self._clock())


_shared: dict[str, RateGovernor] = {}
_shared_lock = threading.Lock()


def shared_governor(key: str) -> RateGovernor:
    """The process-wide governor for one account (key: base URL + account), so concurrent clients share it."""
    with _shared_lock:
        governor = _shared.get(key)
        if governor is None:
            governor = _shared[key] = RateGovernor()
        return governor
