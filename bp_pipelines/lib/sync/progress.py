"""Progress of a long sync: search rows done of Brightpearl's `resultsAvailable`, calls made, the share of the
rate budget in use and an ETA.

Every stream logs a progress line to the run log at intervals (the Dagster UI shows it). `make run` also sets
`BP_PROGRESS`: `bar` draws a live tqdm bar per stream on the terminal, `lines` prints the same line as the run
log at intervals (output that is not a terminal).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Protocol

from tqdm import tqdm

PROGRESS_ENV = "BP_PROGRESS"  # "bar" | "lines" | unset (run log only)
LOG_INTERVAL_S = 15.0
# Brightpearl's documented budget: 200 requests per 60 s throttle period.
BUDGET_PER_PERIOD = 200


class ProgressLog(Protocol):
    def info(self, msg: str) -> None: ...


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class StreamProgress:
    """One stream's progress; `update` after every search page, `close` at the end."""

    def __init__(self, name: str, log: ProgressLog, *, interval_s: float | None = None) -> None:
        self.name, self.log = name, log
        self.interval_s = LOG_INTERVAL_S if interval_s is None else interval_s
        self.mode = os.environ.get(PROGRESS_ENV, "")
        self.started = self.last_line = time.monotonic()
        self.done = self.total = self.calls = 0
        self.budget_left: int | None = None
        self._bar: tqdm | None = None

    def update(self, *, done: int, total: int, calls: int, budget_left: int | None) -> None:
        self.done, self.total, self.calls, self.budget_left = done, max(total, done), calls, budget_left
        if self.mode == "bar":
            self._draw()
        now = time.monotonic()
        if now - self.last_line >= self.interval_s:
            self.last_line = now
            self._line()

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        share = f"{self.done / self.total:.0%}" if self.total else "-"
        text = f"{self.name}: {self.done:,} of {self.total:,} search rows ({share}), {self.calls} calls"
        if self.budget_left is not None:
            text += f", {1 - self.budget_left / BUDGET_PER_PERIOD:.0%} of the rate budget in use"
        if 0 < self.done < self.total:
            text += f", ETA {_duration(elapsed * (self.total - self.done) / self.done)}"
        return text

    def _line(self) -> None:
        text = self.line()
        self.log.info(text)
        if self.mode == "lines":
            print(f"  {text}", flush=True)

    def _draw(self) -> None:
        if self._bar is None:
            self._bar = tqdm(total=self.total, desc=self.name, unit="row", file=sys.stderr, leave=True)
        self._bar.total = self.total
        self._bar.n = self.done
        budget = "" if self.budget_left is None else f"{1 - self.budget_left / BUDGET_PER_PERIOD:.0%}"
        self._bar.set_postfix(calls=self.calls, budget=budget, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self.total and time.monotonic() - self.started >= self.interval_s:
            self._line()  # a long stream ends with its final line
