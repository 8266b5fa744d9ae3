"""Exceptions raised by the BigCommerce client, and the scrubber that keeps the access token out of them.

Every message names the request (`POST v2/orders/12/shipments`) and, when BigCommerce sent one, its error text.
All text is passed through `scrub()` before it becomes an exception, so the token cannot appear in an error,
a log line or the Dagster UI even if a server echoed it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

MASK = "***"
TOKEN_VARIABLE = "BIGCOMMERCE_ACCESS_TOKEN"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret, also URL-encoded and JSON-escaped, by `***`."""
    for secret in secrets:
        if not secret:
            continue
        for spelling in sorted({secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}, key=len, reverse=True):
            text = text.replace(spelling, MASK)
    return text


def scrub_value(value: Any, secrets: Iterable[str]) -> Any:
    """`scrub` applied to every string (keys included) of a decoded JSON value: error bodies are kept on the
    exception for dead letters, and a dead letter must not carry the token either."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {scrub_value(k, secrets): scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(item, secrets) for item in value]
    return value


class BigCommerceError(Exception):
    """Base class. `method` and `path` name the request; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        # Set by the client: whether its retry policy may send the request again.
        self.retryable = False


class BigCommerceAuthError(BigCommerceError):
    """401/403: the token was refused or lacks a scope, or the store hash is unknown. Never retried."""


class BigCommerceNotFound(BigCommerceError):
    """404: the resource (order, shipment, ...) does not exist."""


class BigCommerceValidationError(BigCommerceError):
    """A record BigCommerce refused (400, 409, 413, 422, ...). Never retried: the caller dead-letters the record.

    `title` is the one-line reason (V3 `title`, or the first V2 `message`); `errors` the per-field detail
    (V3: dict `{field: message}`; V2: list of `{status, message[, details]}`); `body` the decoded body."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        title: str = "",
        errors: dict[str, Any] | list[Any] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.title = title
        self.errors: dict[str, Any] | list[Any] = errors if errors is not None else {}
        self.body = body


class BigCommerceUnavailable(BigCommerceError):
    """5xx, timeouts or transport failures that persisted through every retry (GET/PUT/DELETE)."""


class BigCommerceRateLimited(BigCommerceUnavailable):
    """Still answered 429 after the allowed number of waits."""


class BigCommerceMalformedResponse(BigCommerceUnavailable):
    """A success status whose body is not the JSON the request needs, after every retry."""


class BigCommerceAmbiguousWrite(BigCommerceError):
    """A POST ended in a timeout, a dropped connection or a 5xx: it may or may not have been applied.

    BigCommerce has no idempotency keys, so the client never re-sends it. The caller reconciles: read the
    resource back (e.g. the order's shipments) and re-send only if the write is not there."""
