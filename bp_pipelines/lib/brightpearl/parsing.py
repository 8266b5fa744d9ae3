"""Value parsers for Brightpearl payloads: timestamps to UTC-aware datetimes, money and quantities to Decimal.

Brightpearl writes timestamps in ISO 8601 with milliseconds and the account's display offset
(`2022-01-26T10:39:46.000-06:00`), older payloads with `Z`, exchange rates with `+0000`; dates are stored in UTC
and a date-only value means UTC midnight (brightpearl-api.md §12). Money and quantities arrive as strings
(`"10.0000"`), sometimes as JSON numbers; they become `Decimal` without ever passing through float arithmetic.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

# "2023-03-06 17:22:26 -0600" (custom-field text) -> join the offset to the time so fromisoformat accepts it.
_SPACED_OFFSET = re.compile(r"^(?P<stamp>.*\d)\s+(?P<offset>[+-]\d{2}:?\d{2})$")


def parse_bp_datetime(value: str | datetime | date | None) -> datetime | None:
    """Parse a Brightpearl timestamp into a UTC-aware datetime; `None`/`""` give `None`.

    Accepts an offset (`-06:00`, `+0000`), `Z`, milliseconds, no offset (taken as UTC, Brightpearl's storage
    zone) and date-only values (UTC midnight). Anything else raises `ValueError` naming the value.
    """
    if value is None:
        return None
    # Fast path for the usual shape (`2022-01-26T10:39:46.000-06:00`): text without any whitespace needs neither
    # the strip nor the spaced-offset fix below, so fromisoformat alone decides. Anything else takes the full path.
    if type(value) is str and value.isprintable() and " " not in value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass  # the full path below raises with the message naming the value
        else:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        spaced = _SPACED_OFFSET.match(text)
        if spaced:
            text = spaced["stamp"] + spaced["offset"]
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a Brightpearl timestamp: {value!r}") from None
    else:
        raise TypeError(f"not a Brightpearl timestamp: {value!r} ({type(value).__name__})")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# Text -> Decimal of values already parsed: amounts repeat a lot (prices, tax rates, quantities), and a dict
# lookup is a fraction of Decimal(text.strip()) plus the checks. Only successes are kept (the kind only names
# the value in an error); bounded so that a long run cannot grow it without limit.
_DECIMALS: dict[str, Decimal] = {}
_DECIMALS_MAX = 20_000


def _parse_decimal(value: str | int | float | Decimal | None, kind: str) -> Decimal | None:
    if value is None:
        return None
    if type(value) is str:
        cached = _DECIMALS.get(value)
        if cached is not None:
            return cached
    if isinstance(value, bool):  # bool is an int subclass; True is never an amount
        raise TypeError(f"not a Brightpearl {kind}: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # str() gives the shortest repr that round-trips ("0.1"), not the binary expansion Decimal(0.1) would.
        result = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a Brightpearl {kind}: {value!r}") from None
    else:
        raise TypeError(f"not a Brightpearl {kind}: {value!r} ({type(value).__name__})")
    if not result.is_finite():
        raise ValueError(f"not a Brightpearl {kind}: {value!r}")
    if type(value) is str:
        if len(_DECIMALS) >= _DECIMALS_MAX:  # a few MB at most
            _DECIMALS.clear()
        _DECIMALS[value] = result
    return result


def parse_money(value: str | int | float | Decimal | None) -> Decimal | None:
    """`"10.0000"`, `10`, `9.09` -> `Decimal`; `None`/`""` -> `None`. The scale Brightpearl sent is kept."""
    return _parse_decimal(value, "money amount")


def parse_quantity(value: str | int | float | Decimal | None) -> Decimal | None:
    """Quantities (`quantity.magnitude` is `"1.0000"` on orders, an int on goods-out notes) -> `Decimal`."""
    return _parse_decimal(value, "quantity")
