"""Turning an HTTP exchange into a decoded body or the matching `BigCommerceError`.

| outcome | GET / PUT / DELETE | POST |
|---|---|---|
| 429 | wait the named reset, re-send | same: a 429 was not applied |
| 5xx, timeout, dropped connection | back off, re-send | `BigCommerceAmbiguousWrite`, never re-sent |
| connection refused / connect timeout | back off, re-send | same: nothing left the client |
| 2xx with a body that is not JSON | re-send | `BigCommerceAmbiguousWrite` (it was applied, the result is unknown) |
| 401 / 403 | `BigCommerceAuthError` | same |
| 404 | `BigCommerceNotFound` | same |
| other 4xx | `BigCommerceValidationError` (per record, not retried) | same |
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from .errors import (
    TOKEN_VARIABLE,
    BigCommerceAmbiguousWrite,
    BigCommerceAuthError,
    BigCommerceError,
    BigCommerceMalformedResponse,
    BigCommerceNotFound,
    BigCommerceRateLimited,
    BigCommerceUnavailable,
    BigCommerceValidationError,
    scrub,
    scrub_value,
)
from .pacing import RatePacer, read_rate_headers
from .policy import Attempts, RetryPolicy
from .stats import ClientStats
from .wire import IDEMPOTENT_METHODS, BodyNotJson, decode_body, describe_errors, error_parts, try_decode

# Transport errors raised before any byte of the request left: safe to re-send even a POST.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
AMBIGUOUS_HINT = (
    "it may or may not have been applied and is not re-sent (BigCommerce has no idempotency keys): "
    "read the resource back before sending it again"
)


def _make(
    cls: type[BigCommerceError],
    text: str,
    attempts: Attempts,
    secrets: Iterable[str],
    *,
    status: int | None = None,
    retryable: bool = False,
    limit: int | None = None,
    **extra: Any,
) -> BigCommerceError:
    suffix = f" (attempt {attempts.number} of {limit})" if retryable and limit else ""
    message = scrub(f"BigCommerce {attempts.request_line} {text}{suffix}", tuple(secrets))
    error = cls(message, method=attempts.method, path=attempts.path, status=status, **extra)
    error.retryable = retryable
    return error


def transport_error(
    exc: httpx.TransportError, attempts: Attempts, policy: RetryPolicy, secrets: Iterable[str]
) -> BigCommerceError:
    detail = f"{type(exc).__name__}: {exc or 'no detail'}"
    if attempts.method in IDEMPOTENT_METHODS or isinstance(exc, NOT_SENT_ERRORS):
        attempts.failures += 1
        return _make(
            BigCommerceUnavailable, f"failed: {detail}", attempts, secrets, retryable=True, limit=policy.max_attempts
        )
    return _make(BigCommerceAmbiguousWrite, f"failed: {detail}; {AMBIGUOUS_HINT}", attempts, secrets)


def check_response(
    response: httpx.Response,
    attempts: Attempts,
    policy: RetryPolicy,
    pacer: RatePacer,
    stats: ClientStats,
    secrets: Iterable[str],
) -> Any:
    """Return the decoded body of a usable response (None for 204/empty); raise the matching error otherwise."""
    status = response.status_code
    headers = read_rate_headers(response.headers)
    pacer.observe(headers)
    repeatable = attempts.method in IDEMPOTENT_METHODS

    if status == 429:
        stats.record_throttled()
        attempts.throttles += 1
        # Without the headers a 429 means platform load (§8): back off instead.
        wait = headers.throttle_wait
        pacer.block(wait if wait is not None else policy.backoff(attempts.throttles))
        raise _make(
            BigCommerceRateLimited,
            f"was rate limited (HTTP 429, {attempts.throttles} of at most {policy.max_throttle_waits + 1})",
            attempts,
            secrets,
            status=status,
            retryable=True,
        )
    if 200 <= status < 300:
        try:
            return decode_body(response)
        except BodyNotJson as exc:
            if not repeatable:
                raise _make(
                    BigCommerceAmbiguousWrite,
                    f"returned HTTP {status} with a malformed body ({exc}): it was applied but the result is "
                    "unknown; read the resource back",
                    attempts,
                    secrets,
                    status=status,
                ) from None
            attempts.failures += 1
            raise _make(
                BigCommerceMalformedResponse,
                f"returned a malformed response: {exc}",
                attempts,
                secrets,
                status=status,
                retryable=True,
                limit=policy.max_attempts,
            ) from None

    payload = try_decode(response)
    title, errors = error_parts(payload, response.text)
    if status in (401, 403):
        what = "refused the access token" if status == 401 else "refused access (missing API scope?)"
        raise _make(
            BigCommerceAuthError,
            f"{what}: HTTP {status} {title}. Check {TOKEN_VARIABLE} and BIGCOMMERCE_STORE_HASH "
            "(the token needs the Orders, Products and Customers scopes).",
            attempts,
            secrets,
            status=status,
        )
    if status == 404:
        raise _make(BigCommerceNotFound, f"failed: HTTP 404 {title}", attempts, secrets, status=status)
    if status >= 500:
        if not repeatable:
            raise _make(
                BigCommerceAmbiguousWrite,
                f"failed: HTTP {status} {title}; {AMBIGUOUS_HINT}",
                attempts,
                secrets,
                status=status,
            )
        attempts.failures += 1
        raise _make(
            BigCommerceUnavailable,
            f"failed: HTTP {status} {title}",
            attempts,
            secrets,
            status=status,
            retryable=True,
            limit=policy.max_attempts,
        )
    secrets = tuple(secrets)
    detail = describe_errors(errors)
    raise _make(
        BigCommerceValidationError,
        f"rejected the request: HTTP {status} {title}" + (f" ({detail})" if detail else ""),
        attempts,
        secrets,
        status=status,
        title=scrub(title, secrets),
        errors=scrub_value(errors, secrets),
        body=scrub_value(payload, secrets) if payload is not None else scrub(response.text, secrets),
    )
