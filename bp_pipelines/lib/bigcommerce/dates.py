"""BigCommerce dates: V2 speaks RFC-2822 (`Tue, 20 Nov 2012 00:00:00 +0000`), V3 ISO-8601
(`2018-08-15T14:48:46+00:00`). Both parse to UTC-aware datetimes; V2 filters are written in RFC-2822."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime


def _utc(value: datetime) -> datetime:
    # A value without an offset is UTC: BigCommerce answers in UTC (bigcommerce-api.md §2).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_v2_date(value: str | None) -> datetime | None:
    """RFC-2822 -> UTC-aware datetime; `None`/`""` (e.g. `date_shipped` of an unshipped order) -> `None`."""
    if value is None or not value.strip():
        return None
    try:
        return _utc(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not a BigCommerce V2 (RFC-2822) date: {value!r}") from None


def parse_v3_date(value: str | None) -> datetime | None:
    """ISO-8601 (`Z` or an offset; no offset = UTC; date only = UTC midnight) -> UTC-aware datetime."""
    if value is None or not value.strip():
        return None
    try:
        return _utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise ValueError(f"not a BigCommerce V3 (ISO-8601) date: {value!r}") from None


def _aware(value: datetime | date, name: str) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        raise ValueError(f"{name}: {value!r} has no time zone; pass an aware datetime (e.g. tzinfo=UTC)")
    return value.astimezone(UTC)


def format_v2_date(value: datetime | date) -> str:
    """A V2 filter value (`min_date_modified`, ...): `Tue, 20 Nov 2012 00:00:00 +0000`. A date means UTC midnight;
    naive datetimes are refused (the filter would silently shift by the local offset)."""
    return format_datetime(_aware(value, "format_v2_date"))


def format_v3_date(value: datetime | date) -> str:
    """A V3 filter value (`date_modified:min`, ...): `2018-08-15T14:48:46+00:00`."""
    return _aware(value, "format_v3_date").isoformat(timespec="seconds")
