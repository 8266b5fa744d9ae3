"""Control API under `/_sandbox/` (no auth, not counted, not rate limited), mounted on both servers.

GET  /_sandbox/clock                      -> {"clock_ms", "clock"}
POST /_sandbox/clock/advance {"seconds"}  -> {"clock_ms", "clock"}
POST /_sandbox/changes {"counts"?: {...}} -> {"clock_ms", "call", "changes": {kind: [ids]}}
POST /_sandbox/faults {Fault fields}      -> the fault (with id);  GET -> list;  DELETE -> clear all
GET|POST /_sandbox/rate-limit {"window_scale"?, "enabled"?}
GET|DELETE /_sandbox/requests             -> {"counts": {"brightpearl GET order-service/order-search": 3}}
GET  /_sandbox/info                       -> seed, scale, clock and the fixed sandbox credentials
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, get_args

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from .generator.changes import DEFAULT_COUNTS, apply_changes
from .state import Fault, FaultKind, Store

FAULT_FIELDS = {"api", "kind", "path", "method", "status", "count", "delay_s"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value


def _clock(store: Store) -> dict[str, Any]:
    ms = store.now_ms()
    iso = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"clock_ms": ms, "clock": iso}


def routes(store: Store) -> list[BaseRoute]:
    async def clock(_: Request) -> JSONResponse:
        return JSONResponse(_clock(store))

    async def advance(request: Request) -> JSONResponse:
        try:
            seconds = float((await _body(request))["seconds"])
        except (KeyError, ValueError, TypeError):
            return _error(400, 'expected {"seconds": <number >= 0>}')
        if seconds < 0:
            return _error(400, "the sandbox clock never goes backwards")
        store.advance_clock(int(seconds * 1000))
        return JSONResponse(_clock(store))

    async def changes(request: Request) -> JSONResponse:
        try:
            counts = (await _body(request)).get("counts") or {}
            unknown = set(counts) - set(DEFAULT_COUNTS)
            if unknown or not all(isinstance(v, int) and v >= 0 for v in counts.values()):
                raise ValueError(f"counts must map {sorted(DEFAULT_COUNTS)} to integers >= 0")
        except ValueError as exc:
            return _error(400, str(exc))
        return JSONResponse(await run_in_threadpool(apply_changes, store, counts))

    async def faults(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse({"faults": store.faults.describe()})
        if request.method == "DELETE":
            store.faults.clear()
            return JSONResponse({"faults": []})
        try:
            body = await _body(request)
            extra = set(body) - FAULT_FIELDS
            if (
                extra
                or body.get("kind") not in get_args(FaultKind)
                or body.get("api") not in ("brightpearl", "bigcommerce")
            ):
                raise ValueError(
                    f"fields {sorted(FAULT_FIELDS)}; api brightpearl|bigcommerce; kind {'|'.join(get_args(FaultKind))}"
                )
            fault = store.faults.add(Fault(**body))
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        return JSONResponse({k: v for k, v in vars(fault).items()})

    async def rate_limit(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                body = await _body(request)
                if "window_scale" in body:
                    scale = float(body["window_scale"])
                    if scale <= 0:
                        raise ValueError("window_scale must be > 0")
                    store.rate_window_scale = scale
                if "enabled" in body:
                    store.rate_limits_enabled = bool(body["enabled"])
            except (ValueError, TypeError) as exc:
                return _error(400, str(exc))
        return JSONResponse({"window_scale": store.rate_window_scale, "enabled": store.rate_limits_enabled})

    async def requests(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            store.requests.reset()
        return JSONResponse({"counts": store.requests.snapshot()})

    async def info(_: Request) -> JSONResponse:
        keys = (
            "seed",
            "orders",
            "bp_account",
            "bp_app_ref",
            "bp_account_token",
            "bc_store_hash",
            "bc_access_token",
            "account_timezone",
            "storefront_channel_id",
            "bc_integration_instance_id",
        )
        return JSONResponse({**{k: store.get_meta(k) for k in keys}, **_clock(store)})

    return [
        Route("/_sandbox/clock", clock, methods=["GET"]),
        Route("/_sandbox/clock/advance", advance, methods=["POST"]),
        Route("/_sandbox/changes", changes, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/rate-limit", rate_limit, methods=["GET", "POST"]),
        Route("/_sandbox/requests", requests, methods=["GET", "DELETE"]),
        Route("/_sandbox/info", info, methods=["GET"]),
    ]
