"""`Urllib3Transport` (lib/transport.py) behaves as httpx's own transport where the clients look: bodies, gzip,
headers, and the httpx error classes of a truncated body, a refused connection and a read timeout. Real loopback
servers: uvicorn for well-formed answers, a raw socket for a body cut short."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bp_pipelines.lib.tls import ssl_context
from bp_pipelines.lib.transport import Urllib3Transport

from .cassette_server import LoopbackServer


def _app() -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        headers = {"x-seen-token": request.headers.get("brightpearl-account-token", ""), "x-method": request.method}
        return Response(b'{"response": ' + (body or b"null") + b"}", headers=headers, media_type="application/json")

    async def zipped(request: Request) -> Response:
        return Response(gzip.compress(b'{"response": "unzipped"}'), headers={"content-encoding": "gzip"})

    async def slow(request: Request) -> Response:
        time.sleep(0.5)
        return Response(b"{}")

    async def refused(request: Request) -> Response:
        return Response(b'{"errors": [{"code": "GWYC-001"}]}', status_code=401)

    return Starlette(
        routes=[
            Route("/echo", echo, methods=["GET", "POST"]),
            Route("/gzip", zipped),
            Route("/slow", slow),
            Route("/401", refused),
        ]
    )


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(_app()) as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    transport = Urllib3Transport(ssl_context())
    with httpx.Client(transport=transport, headers={"brightpearl-account-token": "t0k"}, timeout=2.0) as c:
        yield c


def test_bodies_headers_and_methods_pass_through(client: httpx.Client, server: LoopbackServer) -> None:
    got = client.get(f"{server.url}/echo")
    assert got.status_code == 200 and got.json() == {"response": None}
    assert got.headers["x-seen-token"] == "t0k" and got.http_version == "HTTP/1.1"
    posted = client.post(f"{server.url}/echo", content=b'{"a": 1}', headers={"content-type": "application/json"})
    assert posted.json() == {"response": {"a": 1}} and posted.headers["x-method"] == "POST"
    refused = client.get(f"{server.url}/401")
    assert refused.status_code == 401 and refused.json()["errors"][0]["code"] == "GWYC-001"


def test_a_gzip_body_is_decoded_by_httpx(client: httpx.Client, server: LoopbackServer) -> None:
    assert client.get(f"{server.url}/gzip").json() == {"response": "unzipped"}


def test_a_read_timeout_is_httpx_read_timeout(server: LoopbackServer) -> None:
    with httpx.Client(transport=Urllib3Transport(ssl_context()), timeout=0.1) as c, pytest.raises(httpx.ReadTimeout):
        c.get(f"{server.url}/slow")


def test_a_refused_connection_is_httpx_connect_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with httpx.Client(transport=Urllib3Transport(ssl_context()), timeout=1.0) as c, pytest.raises(httpx.ConnectError):
        c.get(f"http://127.0.0.1:{port}/")


def test_a_body_cut_short_is_a_transport_error_not_a_short_body() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/json\r\n\r\n" + b'{"resp')
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        with (
            httpx.Client(transport=Urllib3Transport(ssl_context()), timeout=2.0) as c,
            pytest.raises(httpx.RemoteProtocolError),
        ):
            c.get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
    finally:
        thread.join(2)
        listener.close()
