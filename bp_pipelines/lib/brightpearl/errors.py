"""Exceptions raised by the Brightpearl client, and the scrubber that keeps the account token out of them.

Every exception names the request (method, path, query) and, when Brightpearl sent one, its error code and
message. Message text is always built through `scrub()` first: Brightpearl echoes a rejected token back in its
401 body ("Invalid instance token: <token>"), so the token can arrive in server text we did not write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote

MASK = "***"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret, also in its URL-encoded and JSON-escaped spellings, by `***`."""
    for secret in secrets:
        if not secret:
            continue
        # Brightpearl's JSON (Gson) writes "=" as \u003d; tokens are base64, so "=", "+" and "/" are common.
        spellings = {
            secret,
            quote(secret, safe=""),
            json.dumps(secret)[1:-1],
            secret.replace("=", "\\u003d"),
        }
        for spelling in sorted(spellings, key=len, reverse=True):
            text = text.replace(spelling, MASK)
    return text


class BrightpearlError(Exception):
    """Base class. `method`, `path` and `query` name the request; `status` is the HTTP status when there was one."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        query: str = "",
        status: int | None = None,
        code: str | None = None,
        bp_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.query = query
        self.status = status
        self.code = code
        self.bp_message = bp_message
        # Set by the client: whether its retry policy may send the request again.
        self.retryable = False

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")


class BrightpearlAuthError(BrightpearlError):
    """HTTP 401: the app reference or account token was rejected (never retried)."""


class BrightpearlRequestError(BrightpearlError):
    """A request Brightpearl refused as invalid (4xx, or a 500 whose error says the input cannot be parsed)."""


class BrightpearlNotFoundError(BrightpearlRequestError):
    """HTTP 404 with a Brightpearl error envelope, e.g. CMNC-404 "No Contact Found": Brightpearl answers 404
    when a request for several resources found none (HC-concepts), though orders answer `200 []` instead."""


class BrightpearlServerError(BrightpearlError):
    """A 5xx that persisted through every retry."""


class BrightpearlThrottledError(BrightpearlError):
    """Still throttled (HTTP 503/429) after the allowed number of throttle waits."""


class BrightpearlMalformedResponseError(BrightpearlError):
    """The body was not JSON, or lacked the parts the request needs (e.g. `results`/`metaData` of a search)."""


class BrightpearlConnectionError(BrightpearlError):
    """Timeouts and transport failures (connect, read, protocol) that persisted through every retry."""
