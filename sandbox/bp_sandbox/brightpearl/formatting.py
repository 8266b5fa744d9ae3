"""Date and money formatting in the account's display time zone, and lenient date parsing for input."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DateParseError(ValueError):
    pass


class Formatter:
    """Renders epoch ms as `2022-01-26T10:39:46.000-06:00` (offset of the account zone at that instant)."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)

    def dt(self, ms: int | None) -> str | None:
        if ms is None:
            return None
        local = datetime.fromtimestamp(ms // 1000, self.tz)
        offset = int(local.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
        sign = "-" if offset < 0 else "+"
        hours, minutes = divmod(abs(offset), 60)
        return f"{local:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}{sign}{hours:02d}:{minutes:02d}"


def parse_instant(text: str) -> int:
    """Accepts `...Z`, `...+hh:mm`, no offset (= UTC) and date-only (= UTC midnight); returns epoch ms.

    A space before the offset is read as '+': clients that forget to URL-encode '+' send a space.
    """
    value = text.strip()
    if not value:
        raise DateParseError(text)
    if DATE_ONLY.match(value):
        value += "T00:00:00"
    value = re.sub(r"(\d) (\d{2}:?\d{2})$", r"\1+\2", value)
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise DateParseError(text) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def money2(value: str | float | int) -> str:
    """'9.0909' -> '9.09' (totals are 2 dp)."""
    return f"{float(value):.2f}"
