"""What goes on the wire: URLs, query strings, JSON bodies, and decoding BigCommerce's bodies and error shapes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from .dates import format_v2_date, format_v3_date

# ":" stays readable in V3 filter names (`sku:in`, `date_modified:min`) and "," separates `:in` lists;
# everything else ("+" of an offset, "&", "=", space, ...) is percent-encoded.
QUERY_SAFE = ":,"
# Methods the client may re-send after a 5xx or a timeout: a second identical request does no further harm.
# POST creates (a second shipment, a second customer); BigCommerce has no idempotency keys (§10).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})

QueryValue = str | int | float | bool | datetime | date | Iterable[str | int] | None
Params = Mapping[str, QueryValue]


def api_url(base_url: str, store_hash: str, path: str) -> str:
    """`{base_url}/stores/{store_hash}/{path}`, path like `v2/orders/12` or `v3/catalog/products`."""
    return f"{base_url.rstrip('/')}/stores/{quote(store_hash, safe='')}/{quote(path.strip('/'), safe='/:,')}"


def api_version(path: str) -> str:
    version = path.strip("/").split("/", 1)[0]
    if version not in ("v2", "v3"):
        raise ValueError(f"BigCommerce path must start with v2/ or v3/, got {path!r}")
    return version


def _query_value(value: Any, version: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        # V2 date filters take RFC-2822 (also ISO-8601); V3 takes ISO-8601.
        return format_v2_date(value) if version == "v2" else format_v3_date(value)
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    return ",".join(str(item) for item in value)  # `id:in=1,2,3`


def encode_query(params: Params | None, version: str) -> str:
    if not params:
        return ""
    return "&".join(
        f"{quote(name, safe=':')}={quote(_query_value(value, version), safe=QUERY_SAFE)}"
        for name, value in params.items()
        if value is not None
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # V2 money is "Float-As-String"; exact, never through float
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def encode_body(body: Any) -> bytes:
    return json.dumps(body, default=_json_default, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class BodyNotJson(ValueError):
    """A body that should be JSON is not."""


def decode_body(response: httpx.Response) -> Any:
    """The JSON body, or None when the body is empty (204, DELETE)."""
    content = response.content
    if not content.strip():
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise BodyNotJson(f"body is not JSON ({exc.msg} at char {exc.pos})") from None


def try_decode(response: httpx.Response) -> Any:
    try:
        return decode_body(response)
    except BodyNotJson:
        return None


def error_parts(payload: Any, raw: str) -> tuple[str, dict[str, Any] | list[Any]]:
    """(title, errors) of an error body.

    V2: a list of `{status, message[, details]}` -> (first message, the list).
    V3: `{status, title, type, errors{field: message}}` -> (title, errors); also the `{code, message}` shape
    some V3 examples show. Anything else -> (the body text, truncated; {})."""
    if isinstance(payload, list) and payload:
        messages = [str(item.get("message", "")) for item in payload if isinstance(item, Mapping)]
        return ("; ".join(m for m in messages if m) or _short(raw)), payload
    if isinstance(payload, Mapping):
        errors = payload.get("errors")
        title = payload.get("title") or payload.get("message") or ""
        parsed: dict[str, Any] | list[Any] = errors if isinstance(errors, dict | list) else {}
        return (str(title) or _short(raw)), parsed
    return _short(raw), {}


def describe_errors(errors: dict[str, Any] | list[Any]) -> str:
    """Per-record detail for a message: `0.email: The email address ... is already in use` or V2 details."""
    if isinstance(errors, dict):
        return "; ".join(f"{field}: {message}" for field, message in errors.items())
    details = [item.get("details") for item in errors if isinstance(item, Mapping) and item.get("details")]
    return "; ".join(json.dumps(d, ensure_ascii=False) for d in details)


def _short(raw: str) -> str:
    text = " ".join(raw.split())
    return text[:300] + ("..." if len(text) > 300 else "")
