"""Brightpearl emulator app: `/public-api/{account}/{service}/...` behind one dispatcher.

Per request, in order: count it (store.requests), authenticate (private-app headers; 401 counts against the
limit as recorded), rate-limit (503 past 200/rolling window, not counted), apply an injected fault, run the
handler in a worker thread, then add the headers every Brightpearl response carries.
"""

from __future__ import annotations

import asyncio
import hmac
import traceback
import uuid

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..state import Fault, Store
from .envelope import NOT_AUTHENTICATED, THROTTLE_MESSAGE, BpError, BpResponse
from .formatting import Formatter
from .ratelimit import RateLimiter
from .router import ApiState, Ctx, Router
from .routes_read import read_routes
from .writes_contacts import contact_routes
from .writes_goods_out import goods_out_routes
from .writes_orders import write_routes

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
API = "brightpearl"
STATUS_CODES = {
    400: "CMNC-400",
    401: "CMNC-401",
    403: "CMNC-403",
    404: "CMNC-404",
    409: "CMNC-409",
    429: "CMNC-429",
    500: "CMNU-003",
    502: "CMNU-502",
    503: "CMNU-503",
    504: "CMNU-504",
}


class BrightpearlApi:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.limiter = RateLimiter(store)
        self.state = ApiState()
        self.router = Router(read_routes() + write_routes() + contact_routes() + goods_out_routes())
        self.fmt = Formatter(store.get_meta("account_timezone", "America/Chicago") or "America/Chicago")

    def _authorised(self, request: Request, account: str) -> bool:
        expected = (
            self.store.get_meta("bp_account", "sandbox"),
            self.store.get_meta("bp_app_ref", ""),
            self.store.get_meta("bp_account_token", ""),
        )
        given = (
            account,
            request.headers.get("brightpearl-app-ref", ""),
            request.headers.get("brightpearl-account-token", ""),
        )
        return all(hmac.compare_digest(str(a or ""), str(b)) for a, b in zip(expected, given, strict=True))

    def _finish(
        self, resp: BpResponse, message_type: str, remaining: int, next_ms: int, malformed: bool = False
    ) -> Response:
        body = resp.encode()
        if malformed:  # injected fault: a truncated, unparsable body with a 200
            body = body[: max(1, len(body) // 2)]
        headers = {
            "Content-Type": "application/json;charset=UTF-8",
            "Message-Type": message_type,
            "Ruid": str(uuid.uuid4()),
            "Brightpearl-Requests-Remaining": str(remaining),
            "Brightpearl-Next-Throttle-Period": str(next_ms),
            **resp.headers,
        }
        return Response(body, status_code=200 if malformed else resp.status, headers=headers)

    async def dispatch(self, request: Request) -> Response:
        account, path, method = request.path_params["account"], request.path_params["path"], request.method
        route, args, known = self.router.match(method, path)
        endpoint = route.template if route else path.strip("/")
        self.store.requests.record(API, method, endpoint)
        if not self._authorised(request, account):
            _, remaining, next_ms = self.limiter.acquire()
            return self._finish(BpResponse(401, {"response": NOT_AUTHENTICATED}), "api-proxy", remaining, next_ms)
        allowed, remaining, next_ms = self.limiter.acquire()
        if not allowed:
            return self._finish(BpResponse(503, {"response": THROTTLE_MESSAGE}), "api-proxy", 0, next_ms)
        # Read the body before any stall: a `timeout` fault is a lost response, so the write still applies after
        # the client gave up or was killed (as on the real server, and as the BigCommerce emulator does).
        body = await request.body()
        fault = self.store.faults.take(API, method, path.strip("/"))
        message_type = route.message_type if route else "api-proxy"
        if fault is not None:
            early = await self._apply_fault(fault)
            if early is not None:
                return self._finish(
                    early,
                    message_type if early.status != 503 else "api-proxy",
                    0 if early.status == 503 else remaining,
                    next_ms,
                )
        if route is None:
            err = (
                BpError(405, "CMNC-405", f"Method {method} not allowed")
                if known
                else BpError(404, "CMNC-404", f"No resource found at {path}")
            )
            return self._finish(err.response(), message_type, remaining, next_ms)
        ctx = Ctx(
            self.store,
            self.fmt,
            method,
            path.strip("/"),
            args,
            dict(request.query_params),
            body,
            request.headers,
            fault,
            self.state,
            endpoint,
        )
        try:
            resp = await run_in_threadpool(route.handler, ctx)
        except BpError as err:
            resp = err.response()
        except Exception:  # a sandbox bug: still answer in Brightpearl's format, and say so on stderr
            traceback.print_exc()
            resp = BpError(500, "CMNU-003", "Internal Server Error").response()
        return self._finish(
            resp, message_type, remaining, next_ms, malformed=fault is not None and fault.kind == "malformed"
        )

    async def _apply_fault(self, fault: Fault) -> BpResponse | None:
        """Returns a response that replaces the real one, or None to continue (after any stall)."""
        if fault.kind == "throttle":
            return BpResponse(503, {"response": THROTTLE_MESSAGE})
        if fault.kind == "status":
            code = STATUS_CODES.get(fault.status, f"CMNC-{fault.status}")
            message = "Internal Server Error" if fault.status >= 500 else f"Injected error {fault.status}"
            return BpResponse(fault.status, {"errors": [{"code": code, "message": message}]})
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay_s)
        return None


def api_routes(store: Store) -> list[BaseRoute]:
    api = BrightpearlApi(store)
    return [Route("/public-api/{account}/{path:path}", api.dispatch, methods=METHODS)]


def create_app(store: Store, extra_routes: list[BaseRoute] | None = None) -> Starlette:
    """The Brightpearl server app; `extra_routes` (the control API) are matched first."""
    return Starlette(routes=[*(extra_routes or []), *api_routes(store)])
