"""The tenacity retry policy around each request, and the per-request attempt bookkeeping.

Which errors are retryable is decided where they are raised (`responses.py`); this module decides how often
and how long to wait: throttles wait for the governor (the throttle period), everything else backs off
exponentially with jitter.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tenacity

from .errors import BrightpearlError, BrightpearlMalformedResponseError, BrightpearlThrottledError
from .stats import ClientStats
from .wire import IDEMPOTENT_METHODS

logger = logging.getLogger("bp_pipelines.brightpearl")


@dataclass
class Attempts:
    """The bookkeeping of one logical request across its attempts."""

    method: str
    path: str
    query: str = ""
    idempotent: bool | None = None
    number: int = 0  # attempts sent so far
    failures: int = 0  # failed attempts other than throttles
    throttles: int = 0
    malformed: int = 0

    @property
    def safe_to_repeat(self) -> bool:
        return self.idempotent if self.idempotent is not None else self.method in IDEMPOTENT_METHODS

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")

    def failed(self, error: BrightpearlError) -> BrightpearlError:
        if isinstance(error, BrightpearlThrottledError):
            self.throttles += 1
        else:
            self.failures += 1
            if isinstance(error, BrightpearlMalformedResponseError):
                self.malformed += 1
        return error


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # attempts per request, throttled attempts not counted
    max_throttle_waits: int = 10  # throttled attempts per request before BrightpearlThrottledError
    malformed_max_attempts: int = 3  # "retry a couple of times" for bodies that are not what was asked for
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0

    def backoff(self, failures: int) -> float:
        """Exponential backoff with jitter: base * 2^(n-1), capped, plus up to one base of random jitter."""
        exponent = max(0, failures - 1)
        delay = min(self.backoff_max_seconds, self.backoff_base_seconds * 2**exponent)
        return delay + random.uniform(0, self.backoff_base_seconds)

    def _stop(self, attempts: Attempts, error: BaseException | None) -> bool:
        if isinstance(error, BrightpearlThrottledError):
            return attempts.throttles > self.max_throttle_waits
        if isinstance(error, BrightpearlMalformedResponseError) and attempts.malformed >= self.malformed_max_attempts:
            return True
        return attempts.failures >= self.max_attempts

    def _wait(self, attempts: Attempts, error: BaseException | None) -> float:
        # After a throttle the governor already holds the next attempt until the throttle period ends.
        return 0.0 if isinstance(error, BrightpearlThrottledError) else self.backoff(attempts.failures)

    def run(
        self, send: Callable[[], Any], attempts: Attempts, *, stats: ClientStats, sleep: Callable[[float], None]
    ) -> Any:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            stats.record_retry()
            error = state.outcome.exception() if state.outcome else None
            level = logging.INFO if isinstance(error, BrightpearlThrottledError) else logging.WARNING
            wait = state.upcoming_sleep
            logger.log(level, "%s; retrying%s", error, f" in {wait:.2f} s" if wait else " after the throttle period")

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, BrightpearlError) and exc.retryable),
            stop=lambda state: self._stop(attempts, state.outcome.exception() if state.outcome else None),
            wait=lambda state: self._wait(attempts, state.outcome.exception() if state.outcome else None),
            before_sleep=before_sleep,
            sleep=sleep,
            reraise=True,
        )
        return retrying(send)
