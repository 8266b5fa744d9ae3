"""Wire formats of the BigCommerce API: RFC-2822 (V2) and ISO-8601 (V3) dates, decimal money strings."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FOUR_DP = Decimal("0.0001")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DateParseError(ValueError):
    """A date filter value that is neither RFC-2822, ISO-8601 nor a unix timestamp."""


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def rfc2822(ms: int | None) -> str:
    """V2 dates, always UTC: 'Wed, 10 Jan 2018 21:05:30 +0000'. Built by hand so the locale never matters."""
    if ms is None:
        return ""
    dt = to_datetime(ms)
    return (
        f"{_DAYS[dt.weekday()]}, {dt.day:02d} {_MONTHS[dt.month - 1]} {dt.year:04d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} +0000"
    )


def iso8601(ms: int | None) -> str | None:
    """V3 dates: '2018-08-15T14:48:46+00:00' (the products spec example)."""
    if ms is None:
        return None
    return to_datetime(ms).replace(microsecond=0).isoformat()


def group_date(ms: int | None) -> str:
    """Customer groups V2 use '2023-07-17 06:30:41' (customers.v2 spec example), not RFC-2822."""
    if ms is None:
        return ""
    return to_datetime(ms).strftime("%Y-%m-%d %H:%M:%S")


def parse_date_ms(value: str) -> int:
    """Parse a date filter: RFC-2822, ISO-8601 (date-only means midnight UTC) or unix seconds.

    Values without an offset are taken as UTC.
    """
    text = value.strip()
    if not text:
        raise DateParseError(value)
    if text.isdigit():
        return int(text) * 1000
    dt: datetime | None = None
    if _DATE_ONLY.match(text):
        d = date.fromisoformat(text)
        dt = datetime(d.year, d.month, d.day, tzinfo=UTC)
    else:
        try:
            dt = datetime.fromisoformat(text.replace(" ", "+") if "T" in text else text)
        except ValueError:
            try:
                dt = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                dt = None
    if dt is None:
        raise DateParseError(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def to_decimal(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


def money4(value: Any) -> str:
    """V2 money: a string with 4 decimals ('336.3200')."""
    return str(to_decimal(value).quantize(_FOUR_DP))


def money_number(value: Any) -> float:
    """V3 catalog money is a JSON number (products spec: `price: 7.95`)."""
    return float(to_decimal(value))


def loads_or(text: str | None, default: Any) -> Any:
    """Decode a JSON column, falling back to `default` for NULL/empty/broken values."""
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
