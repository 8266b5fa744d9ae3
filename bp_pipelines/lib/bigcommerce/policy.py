"""The tenacity retry policy around each request.

What may be re-sent is decided where an error is raised (`responses.py`, `BigCommerceError.retryable`); this
module decides how often and how long to wait: a 429 waits for the pacer (the reset time the 429 named), everything
else backs off exponentially with jitter.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tenacity

from .errors import BigCommerceError, BigCommerceRateLimited
from .stats import ClientStats

logger = logging.getLogger("bp_pipelines.bigcommerce")


@dataclass
class Attempts:
    """The bookkeeping of one logical request across its attempts."""

    method: str
    path: str
    number: int = 0  # attempts sent so far
    failures: int = 0  # failed attempts other than 429s
    throttles: int = 0

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # attempts per request on 5xx/timeouts (429s not counted)
    max_throttle_waits: int = 10  # 429s tolerated per request before BigCommerceRateLimited
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0

    def backoff(self, failures: int) -> float:
        """base * 2^(n-1), capped, plus up to one base of random jitter (spreads clients that failed together)."""
        delay = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** max(0, failures - 1))
        return delay + random.uniform(0, self.backoff_base_seconds)

    def _stop(self, attempts: Attempts, error: BaseException | None) -> bool:
        if isinstance(error, BigCommerceRateLimited):
            return attempts.throttles > self.max_throttle_waits
        return attempts.failures >= self.max_attempts

    def _wait(self, attempts: Attempts, error: BaseException | None) -> float:
        # After a 429 the pacer already holds every request until the reset the 429 named.
        return 0.0 if isinstance(error, BigCommerceRateLimited) else self.backoff(attempts.failures)

    def run(
        self, send: Callable[[], Any], attempts: Attempts, *, stats: ClientStats, sleep: Callable[[float], None]
    ) -> Any:
        def outcome(state: tenacity.RetryCallState) -> BaseException | None:
            return state.outcome.exception() if state.outcome else None

        def before_sleep(state: tenacity.RetryCallState) -> None:
            stats.record_retry()
            error = outcome(state)
            level = logging.INFO if isinstance(error, BigCommerceRateLimited) else logging.WARNING
            wait = state.upcoming_sleep
            logger.log(level, "%s; retrying%s", error, f" in {wait:.2f} s" if wait else " after the rate-limit reset")

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, BigCommerceError) and exc.retryable),
            stop=lambda state: self._stop(attempts, outcome(state)),
            wait=lambda state: self._wait(attempts, outcome(state)),
            before_sleep=before_sleep,
            sleep=sleep,
            reraise=True,
        )
        return retrying(send)
