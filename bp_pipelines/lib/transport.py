"""An httpx transport that sends requests with urllib3: the API clients keep httpx's interface, the wire costs less.

httpx's own transport (httpcore + h11) reads a body in 64 KiB pieces through several Python-level buffers. On a
740 KB Brightpearl order GET that cost 2.3-3.0 ms of CPU against 1.0-1.2 ms for urllib3, which reads the
`Content-Length` body into one buffer (loopback sandbox, 2026-12-03; `benchmarks/floor.py` measures both over a
whole extraction). Everything above the wire stays httpx: headers, timeouts, content decoding (gzip), and the
exception classes the retry policies read (urllib3's errors are translated below).
"""

from __future__ import annotations

import ssl

import httpx
import urllib3
from urllib3 import exceptions as u3

# urllib3 error -> the httpx error the clients' retry rules expect. Order matters: NewConnectionError subclasses
# ConnectTimeoutError (urllib3 2.x), and a refused or unresolvable connection is a ConnectError in httpx.
_ERRORS: tuple[tuple[type[u3.HTTPError], type[httpx.TransportError]], ...] = (
    (u3.NewConnectionError, httpx.ConnectError),
    (u3.ConnectTimeoutError, httpx.ConnectTimeout),
    (u3.SSLError, httpx.ConnectError),
    (u3.ReadTimeoutError, httpx.ReadTimeout),
    (u3.EmptyPoolError, httpx.PoolTimeout),
    (u3.ProtocolError, httpx.RemoteProtocolError),
)  # any other urllib3 error: httpx.TransportError


def _httpx_error(exc: u3.HTTPError, request: httpx.Request) -> httpx.TransportError:
    target = next((target for source, target in _ERRORS if isinstance(exc, source)), httpx.TransportError)
    return target(str(exc), request=request)


class Urllib3Transport(httpx.BaseTransport):
    """Sends each httpx request through a `urllib3.PoolManager` (keep-alive pool per host, no retries, no
    redirects: the clients decide both)."""

    def __init__(self, ssl_context: ssl.SSLContext, *, pool_size: int = 10) -> None:
        self._pool = urllib3.PoolManager(num_pools=4, maxsize=pool_size, ssl_context=ssl_context, retries=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limits = request.extensions.get("timeout", {})
        timeout = urllib3.Timeout(connect=limits.get("connect"), read=limits.get("read"))
        try:
            answer = self._pool.request(
                request.method,
                str(request.url),
                body=request.read() or None,
                headers=dict(request.headers),
                redirect=False,
                retries=False,
                timeout=timeout,
                preload_content=True,
                decode_content=False,  # httpx decodes per Content-Encoding, as with its own transport
            )
        except u3.HTTPError as exc:
            raise _httpx_error(exc, request) from exc
        except OSError as exc:  # a socket error urllib3 did not wrap
            raise httpx.NetworkError(str(exc), request=request) from exc
        return httpx.Response(
            answer.status,
            headers=list(answer.headers.items()),
            stream=httpx.ByteStream(answer.data),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode()},
            request=request,
        )

    def close(self) -> None:
        self._pool.clear()
