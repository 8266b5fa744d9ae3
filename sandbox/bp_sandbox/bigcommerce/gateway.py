"""The request pipeline every `/stores/{hash}/v2|v3/...` call goes through.

Order: store hash (404) -> request counter -> X-Auth-Token (401) -> rate limit (429) -> injected
fault -> Accept (406) -> method (405) -> handler. Rate-limit headers go on every response.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bp_sandbox.bigcommerce.errors import ApiError, Version, not_found, v2_error, v3_error
from bp_sandbox.bigcommerce.ratelimit import RateLimiter, RateState
from bp_sandbox.state import Store

log = logging.getLogger(__name__)

DEFAULT_STORE_HASH = "sandboxstore"
DEFAULT_ACCESS_TOKEN = "sandbox-bc-token-0000000000000000"  # fixed so a fresh sandbox needs no setup
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
_JSON_ACCEPT = re.compile(r"(^|[,\s])(\*/\*|application/\*|application/json|application/problem\+json)\s*(;|,|$)")


@dataclass
class Ctx:
    """What a handler sees: the store, the parsed request, and helpers for bodies and links."""

    store: Store
    request: Request
    version: Version
    store_hash: str
    body: bytes = b""
    path_params: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.request.query_params)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            status = 400 if self.version == "v2" else 422
            raise ApiError(status, "The request body is not valid JSON.") from exc

    def api_url(self, resource: str) -> str:
        """Absolute URL of a resource on this emulator (used by V2 resource links)."""
        base = str(self.request.base_url).rstrip("/")
        return f"{base}/stores/{self.store_hash}/{self.version}{resource}"


Handler = Callable[[Ctx], Response]


def credentials(store: Store) -> tuple[str, str]:
    return (
        store.get_meta("bc_store_hash", DEFAULT_STORE_HASH) or DEFAULT_STORE_HASH,
        store.get_meta("bc_access_token", DEFAULT_ACCESS_TOKEN) or DEFAULT_ACCESS_TOKEN,
    )


def endpoint_template(api_path: str) -> str:
    """'v2/orders/17/shipments/3' -> 'v2/orders/{id}/shipments/{id}' for the request counters."""
    return _ID_SEGMENT.sub("/{id}", "/" + api_path.strip("/"))[1:]


def accepts_json(accept: str | None) -> bool:
    """Lenient: a missing/empty Accept is served as JSON; only an Accept excluding JSON gets 406."""
    if not accept or not accept.strip():
        return True
    return _JSON_ACCEPT.search(accept.lower()) is not None


class Gateway:
    def __init__(self, store: Store, limiter: RateLimiter | None = None) -> None:
        self.store = store
        self.limiter = limiter or RateLimiter()

    def route(self, path: str, **handlers: Handler) -> Route:
        """A route under /stores/{store_hash}; `path` starts with /v2 or /v3; handlers keyed by method."""
        version: Version = "v2" if path.startswith("/v2") else "v3"
        by_method = {m.upper(): h for m, h in handlers.items()}

        async def endpoint(request: Request) -> Response:
            return await self.dispatch(request, version, by_method)

        return Route("/stores/{store_hash}" + path, endpoint, methods=ALL_METHODS)

    def fallback(self) -> Route:
        """Any other path under /stores/{hash}: authenticated, counted, then 404 in the version's style."""

        async def endpoint(request: Request) -> Response:
            rest = str(request.path_params.get("rest", ""))
            version: Version = "v2" if rest.startswith("v2") else "v3"
            return await self.dispatch(request, version, {})

        return Route("/stores/{store_hash}/{rest:path}", endpoint, methods=ALL_METHODS)

    async def dispatch(self, request: Request, version: Version, handlers: dict[str, Handler]) -> Response:
        store_hash, token = credentials(self.store)
        given_hash = str(request.path_params.get("store_hash", ""))
        api_path = request.url.path.split(f"/stores/{given_hash}/", 1)[-1]
        method = request.method.upper()
        self.store.requests.record("bigcommerce", method, endpoint_template(api_path))
        if given_hash != store_hash:
            return not_found().render(version)
        scale = self.store.rate_window_scale
        enabled = self.store.rate_limits_enabled
        if request.headers.get("x-auth-token") != token:
            state = self.limiter.check(store_hash, scale, enabled=enabled, consume=False)
            return _with_headers(_unauthorized(version), state)
        state = self.limiter.check(store_hash, scale, enabled=enabled)
        if not state.allowed:
            return _with_headers(_too_many(version), state)
        try:
            body = await request.body()  # read before any stall, so a client that gives up cannot lose the write
        except ClientDisconnect:
            return Response(status_code=400)
        fault_response = await self._apply_fault(method, api_path, version, store_hash)
        if fault_response is not None:
            if "X-Rate-Limit-Requests-Quota" in fault_response.headers:
                return fault_response  # an injected 429 already carries its own (exhausted) headers
            return _with_headers(fault_response, state)
        if not accepts_json(request.headers.get("accept")):
            refusal = ApiError(406, "Not Acceptable: this API only serves application/json.")
            return _with_headers(refusal.render(version), state)
        response = self._call(request, version, handlers, method, body)
        return _with_headers(response, state)

    async def _apply_fault(self, method: str, api_path: str, version: Version, store_hash: str) -> Response | None:
        fault = self.store.faults.take("bigcommerce", method, api_path)
        if fault is None:
            return None
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay_s)  # then answer normally: writes still apply (lost-response case)
            return None
        if fault.kind == "malformed":
            return Response(b'{"data": [{"id": 1, "broken', status_code=200, media_type="application/json")
        if fault.kind == "throttle" or (fault.kind == "status" and fault.status == 429):
            state = self.limiter.throttled(store_hash, self.store.rate_window_scale)
            return _with_headers(_too_many(version), state)
        if fault.kind == "status":
            return ApiError(fault.status, f"Injected fault: HTTP {fault.status}.").render(version)
        return None  # shift_rows is a Brightpearl paging fault; nothing to do here

    def _call(
        self, request: Request, version: Version, handlers: dict[str, Handler], method: str, body: bytes
    ) -> Response:
        if not handlers:
            return not_found().render(version)
        handler = handlers.get(method) or (handlers.get("GET") if method == "HEAD" else None)
        if handler is None:
            response = ApiError(405, f"The method {method} is not allowed for this resource.").render(version)
            response.headers["Allow"] = ", ".join(sorted(handlers))
            return response
        ctx = Ctx(self.store, request, version, str(request.path_params["store_hash"]), body, dict(request.path_params))
        try:
            return handler(ctx)
        except ApiError as exc:
            return exc.render(version)
        except Exception:
            log.exception("bigcommerce emulator handler failed: %s %s", method, request.url.path)
            return ApiError(500, "Internal Server Error").render(version)


def _unauthorized(version: Version) -> Response:
    # The real 401 body is unconfirmed (reference §1); clients must key on the status code only.
    if version == "v2":
        return v2_error(401, "You are not authorized to access this resource. Check the X-Auth-Token header.")
    return v3_error(401, "Unauthorized: missing or invalid X-Auth-Token.")


def _too_many(version: Version) -> Response:
    # 429 body is unconfirmed; the headers are what clients must use.
    if version == "v2":
        return v2_error(429, "Too many requests. Please wait for the rate limit window to reset.")
    return v3_error(429, "Too Many Requests")


def _with_headers(response: Response, state: RateState) -> Response:
    for name, value in state.headers().items():
        response.headers[name] = value
    return response


def json_response(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)
