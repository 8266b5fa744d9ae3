"""Epoch-millisecond helpers for the generator (all stored times are UTC epoch ms)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from .fastrand import rr
from .reference import ACCOUNT_TIMEZONE

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
HISTORY_START_MS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
DEFAULT_CLOCK_MS = int(datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp() * 1000)
_TZ = ZoneInfo(ACCOUNT_TIMEZONE)


def parse_clock(value: str) -> int:
    """'2026-11-20T12:00:00Z' -> epoch ms (naive values are UTC)."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def utc_midnight(ms: int) -> int:
    return ms - ms % DAY_MS


def local_midnight(ms: int) -> int:
    """Midnight in the account time zone of the local day containing `ms` (tax dates are local days)."""
    return _local_midnight_of_hour(ms // HOUR_MS)  # the answer is the same for a whole UTC hour


@lru_cache(maxsize=1 << 15)
def _local_midnight_of_hour(hour: int) -> int:
    local = datetime.fromtimestamp(hour * 3600, _TZ)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(day_start.timestamp() * 1000)


def past(rng: random.Random, t: int, clock_ms: int, floor: int) -> int:
    """`t` if it already happened; else a moment in the hour before the clock (never before `floor`).

    Clamping straight to the clock would pile records up at exactly "now".
    """
    if t < clock_ms:
        return t
    return max(floor, clock_ms - rr(rng, MINUTE_MS, HOUR_MS))
