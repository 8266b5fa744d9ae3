"""Turning an HTTP exchange into a decoded envelope or the matching `BrightpearlError`.

Retryable: throttles (503/429, any method: the request was not processed), 5xx, timeouts and transport errors
(idempotent requests only, unless nothing was sent), malformed bodies. Never retried: 401, other 4xx, and 500s
whose Brightpearl error says the input is bad (a bad filter was recorded as HTTP 500 CMNC-018).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx

from .errors import (
    BrightpearlAuthError,
    BrightpearlConnectionError,
    BrightpearlError,
    BrightpearlMalformedResponseError,
    BrightpearlNotFoundError,
    BrightpearlRequestError,
    BrightpearlServerError,
    BrightpearlThrottledError,
    scrub,
)
from .governor import RateGovernor, read_throttle_headers
from .policy import Attempts, RetryPolicy
from .stats import ClientStats
from .wire import BodyNotJson, decode_body, first_error, response_text, try_decode

# 500s that report bad input rather than a server fault: CMNC-018 "The filter x=y cannot be parsed as: INTEGER",
# CMNC-044 "Invalid patch operation (add) for given path (/reference)" (both recorded as HTTP 500).
INPUT_ERROR_CODES = frozenset({"CMNC-018", "CMNC-044"})
# Transport errors raised before any byte of the request left: safe to re-send even a POST.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _error(
    cls: type[BrightpearlError],
    text: str,
    attempts: Attempts,
    secrets: Iterable[str],
    *,
    status: int | None = None,
    code: str | None = None,
    bp_message: str | None = None,
    retryable: bool = False,
    limit: int | None = None,
) -> BrightpearlError:
    secrets = tuple(secrets)
    suffix = f" (attempt {attempts.number} of {limit})" if retryable and limit else ""
    error = cls(
        scrub(f"Brightpearl {attempts.request_line} {text}{suffix}", secrets),
        method=attempts.method,
        path=attempts.path,
        query=scrub(attempts.query, secrets),
        status=status,
        code=code,
        bp_message=scrub(bp_message, secrets) if bp_message is not None else None,
    )
    error.retryable = retryable
    return error


def transport_error(
    exc: httpx.TransportError, attempts: Attempts, policy: RetryPolicy, secrets: Iterable[str]
) -> BrightpearlError:
    retryable = attempts.safe_to_repeat or isinstance(exc, NOT_SENT_ERRORS)
    text = f"failed: {type(exc).__name__}: {exc or 'no detail'}"
    return _error(BrightpearlConnectionError, text, attempts, secrets, retryable=retryable, limit=policy.max_attempts)


def _detail(code: str | None, message: str | None) -> str:
    return f"{code}: {message}" if code else str(message)


def _is_throttle(response: httpx.Response, remaining: int | None, period: float | None) -> bool:
    if response.status_code == 429:  # not documented for Brightpearl (N8N claims burst 429s): handled alike
        return True
    if response.status_code != 503:
        return False
    return "too many requests" in response.text.lower() or remaining is not None or period is not None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _custom_decode(decode: Callable[[bytes], Any], response: httpx.Response) -> Any:
    content = response.content
    if not content.strip():
        return None
    try:
        return decode(content)
    except ValueError as exc:
        raise BodyNotJson(f"body is not JSON ({exc})") from None


def check_response(
    response: httpx.Response,
    attempts: Attempts,
    policy: RetryPolicy,
    governor: RateGovernor,
    stats: ClientStats,
    secrets: Iterable[str],
    validate: Callable[[Any], str | None] | None,
    decode: Callable[[bytes], Any] | None = None,
) -> Any:
    """Return the decoded envelope of a usable response; raise the matching BrightpearlError otherwise."""
    status = response.status_code
    headers = read_throttle_headers(response.headers)
    throttled = _is_throttle(response, headers.remaining, headers.period_seconds)
    fallback = _retry_after(response) or policy.backoff(attempts.throttles + 1)
    governor.observe(headers, throttled=throttled, fallback_seconds=fallback)

    def fail(cls: type[BrightpearlError], text: str, **kwargs: Any) -> BrightpearlError:
        return attempts.failed(_error(cls, text, attempts, secrets, status=status, **kwargs))

    if throttled:
        stats.record_throttled()
        raise fail(
            BrightpearlThrottledError,
            f"was throttled (HTTP {status}; throttle {attempts.throttles + 1} "
            f"of at most {policy.max_throttle_waits + 1})",
            retryable=True,
        )
    if 200 <= status < 300:
        try:
            payload = decode_body(response) if decode is None else _custom_decode(decode, response)
        except BodyNotJson as exc:
            raise fail(
                BrightpearlMalformedResponseError,
                f"returned a malformed response: {exc}",
                retryable=attempts.safe_to_repeat,
                limit=policy.malformed_max_attempts,
            ) from None
        code, message = first_error(payload)
        if code or message:  # an `errors` envelope with a success status: still a refusal
            raise fail(
                BrightpearlRequestError,
                f"failed: HTTP {status} {_detail(code, message)}",
                code=code,
                bp_message=message,
            )
        problem = "body is not a JSON object" if payload is not None and not isinstance(payload, dict) else None
        problem = problem or (validate(payload) if validate else None)
        if problem:
            raise fail(
                BrightpearlMalformedResponseError,
                f"returned a malformed response: {problem}",
                retryable=attempts.safe_to_repeat,
                limit=policy.malformed_max_attempts,
            )
        return payload

    payload = try_decode(response)
    code, message = first_error(payload)
    detail = _detail(code, message) if code or message else response_text(payload, response.text)
    if status == 401:
        raise fail(
            BrightpearlAuthError,
            f"was refused: HTTP 401 {detail}. Check BRIGHTPEARL_ACCOUNT, "
            "BRIGHTPEARL_APP_REF and BRIGHTPEARL_ACCOUNT_TOKEN.",
            code=code,
            bp_message=message or detail,
        )
    if status == 404 and code:  # "We use 404 to indicate a request for multiple resources has returned no results"
        raise fail(BrightpearlNotFoundError, f"failed: HTTP 404 {detail}", code=code, bp_message=message)
    input_error = code in INPUT_ERROR_CODES or "cannot be parsed" in (message or "").lower()
    if status >= 500 and not input_error:
        raise fail(
            BrightpearlServerError,
            f"failed: HTTP {status} {detail}",
            code=code,
            bp_message=message,
            retryable=attempts.safe_to_repeat,
            limit=policy.max_attempts,
        )
    raise fail(BrightpearlRequestError, f"failed: HTTP {status} {detail}", code=code, bp_message=message)
