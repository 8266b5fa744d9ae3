"""Real loopback HTTP servers for the Brightpearl client tests.

`LoopbackServer` runs any ASGI app under uvicorn in a thread on an ephemeral 127.0.0.1 port.
`CassetteApp` replays the recorded Brightpearl exchanges (VCR YAML in the shared reference folder): it matches
method + path after `/public-api/{account}/` (the account segment is ignored) + decoded query (+ JSON body when
several recordings share a route) and answers with the recorded status, headers and body bytes.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

REPO_ROOT = Path(__file__).resolve().parents[2]
# Copied into the repo (MIT, see tests/fixtures/recorded/README.md) so a fresh clone runs every cassette.
CASSETTE_DIR = Path(os.environ.get("BP_RECORDED_CASSETTES", REPO_ROOT / "tests/fixtures/recorded/brightpearl"))
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Hop-by-hop or length headers the replaying server must compute itself.
_DROPPED_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}
# Paging parameters at Brightpearl's defaults are equivalent to leaving them out (pageSize 500, firstResult 1).
_DEFAULT_PAGING = {("pageSize", "500"), ("firstResult", "1")}


class LoopbackServer:
    """`with LoopbackServer(app) as server: server.url` -> "http://127.0.0.1:<port>"."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("loopback server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class _CassetteLoader(yaml.SafeLoader):
    """VCR writes non-UTF-8-flagged bodies as `!binary` base64."""


_CassetteLoader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)))


def _api_path(path: str) -> str:
    """`/public-api/<account>/order-service/order/1` -> `order-service/order/1` (account normalised away)."""
    parts = unquote(path).split("/", 3)
    if len(parts) < 4 or parts[1] != "public-api":
        return unquote(path)
    return parts[3]


def _query_key(query: str, recorded: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    pairs = parse_qsl(query, keep_blank_values=True)
    if recorded is not None:
        names = {name for name, _ in recorded}
        pairs = [pair for pair in pairs if pair[0] in names or pair not in _DEFAULT_PAGING]
    return sorted(pairs)


def _json_or_text(raw: bytes | str) -> Any:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class Interaction:
    source: str
    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any
    status: int
    headers: list[tuple[str, str]]
    content: bytes
    uses: int = 0

    @property
    def response_json(self) -> Any:
        return _json_or_text(self.content)


def load_cassette(name: str) -> list[Interaction]:
    """Interactions of one cassette, e.g. `load_cassette("order_search")` or `"customer/get/simple_get"`."""
    path = CASSETTE_DIR / f"{name}.yml"
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CassetteLoader)
    interactions = []
    for item in data["http_interactions"]:
        request, response = item["request"], item["response"]
        uri = urlsplit(request["uri"])
        raw = response["body"].get("string", "")
        headers = [
            (name, str(value))
            for name, values in response["headers"].items()
            if name.lower() not in _DROPPED_HEADERS
            for value in (values if isinstance(values, list) else [values])
        ]
        interactions.append(
            Interaction(
                source=name,
                method=request["method"].upper(),
                path=_api_path(uri.path),
                query=_query_key(uri.query),
                body=_json_or_text(request["body"].get("string", "")),
                status=int(response["status"]["code"]),
                headers=headers,
                content=raw if isinstance(raw, bytes) else raw.encode("utf-8"),
            )
        )
    return interactions


@dataclass
class Received:
    method: str
    raw_path: str
    query: str
    headers: dict[str, str]
    body: bytes
    matched: str | None


@dataclass
class CassetteApp:
    """ASGI app replaying interactions; `received` lists every request with the cassette it matched (or None)."""

    interactions: list[Interaction]
    received: list[Received] = field(default_factory=list)

    @classmethod
    def of(cls, *names: str) -> CassetteApp:
        return cls([interaction for name in names for interaction in load_cassette(name)])

    def use(self, *names: str) -> CassetteApp:
        """Swap in other cassettes (one server can serve a whole test module) and forget received requests."""
        self.interactions = [interaction for name in names for interaction in load_cassette(name)]
        self.received = []
        return self

    def _match(self, method: str, path: str, query: str, body: Any) -> Interaction | None:
        candidates = [
            i
            for i in self.interactions
            if i.method == method and i.path == unquote(path) and i.query == _query_key(query, i.query)
        ]
        same_body = [i for i in candidates if i.body == body]
        candidates = same_body or candidates
        unused = [i for i in candidates if i.uses == 0]
        if unused:
            return unused[0]
        return candidates[-1] if candidates else None

    async def _handle(self, request: Request) -> Response:
        raw_body = await request.body()
        query = request.scope["query_string"].decode("latin-1")
        path = _api_path(request.scope["path"])
        found = self._match(request.method, path, query, _json_or_text(raw_body))
        self.received.append(
            Received(
                request.method,
                request.scope.get("raw_path", b"").decode("latin-1"),
                query,
                {k.lower(): v for k, v in request.headers.items()},
                raw_body,
                found.source if found else None,
            )
        )
        if found is None:
            return JSONResponse(
                {"errors": [{"code": "TEST-MISS", "message": f"no recording for {path}?{query}"}]}, status_code=418
            )
        found.uses += 1
        response = Response(content=found.content, status_code=found.status)
        response.raw_headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in found.headers)
        return response

    def asgi(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=ALL_METHODS)])
