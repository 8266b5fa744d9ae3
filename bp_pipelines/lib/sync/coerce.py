"""Typed reading of Brightpearl payload fields; anything unusable raises `RecordError` naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from bp_pipelines.lib.brightpearl import parse_bp_datetime, parse_money

Row = dict[str, Any]


class RecordError(ValueError):
    """A record that cannot be loaded as it is; the message is the quarantine reason."""


def obj(value: Any, field: str) -> Mapping[str, Any]:
    if type(value) is dict:  # the usual case, before the (much slower) ABC check
        return value
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecordError(f"{field} is not an object: {value!r:.80}")
    return value


def required(raw: Mapping[str, Any], field: str) -> Any:
    value = raw.get(field)
    if value is None:
        raise RecordError(f"missing required field {field!r}")
    return value


def to_int(value: Any, field: str) -> int | None:
    if type(value) is int:  # the usual case first (bool is a subclass, so it is not caught here)
        return value
    if type(value) is str and value.isascii() and value.isdigit():  # ids as object keys: int() of it, as below
        return int(value)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"{field} is not an integer: {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise RecordError(f"{field} is not an integer: {value!r:.80}") from None


def to_bool(value: Any, field: str) -> bool | None:
    if value is None or value is True or value is False:
        return value
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise RecordError(f"{field} is not a boolean: {value!r:.80}")


def to_ts(value: Any, field: str) -> datetime | None:
    try:
        return parse_bp_datetime(value)
    except (TypeError, ValueError):
        raise RecordError(f"{field} is not a timestamp: {value!r:.80}") from None


def to_money(value: Any, field: str) -> Decimal | None:
    try:
        return parse_money(value)
    except (TypeError, ValueError):
        raise RecordError(f"{field} is not an amount: {value!r:.80}") from None


def to_str(value: Any, field: str) -> str | None:
    if type(value) is str:  # the usual case, before the ABC check
        return value
    if value is None:
        return None
    if isinstance(value, (Mapping, list)):
        raise RecordError(f"{field} is not text: {value!r:.80}")
    return str(value)
