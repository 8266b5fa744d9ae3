"""`BrightpearlClient`: authenticated requests with a rate governor and retries, search paging, ID-set GETs."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import httpx

from ..tls import ssl_context
from ..transport import Urllib3Transport
from .errors import BrightpearlNotFoundError
from .governor import RateGovernor
from .idset import batch_id_sets
from .policy import Attempts, RetryPolicy
from .responses import check_response, transport_error
from .search import SEARCH_PAGE_SIZE_MAX, SearchPage, parse_search_page, search_params, search_problem
from .stats import ClientStats, endpoint_template
from .wire import api_url, encode_body, encode_query

# Offset paging shifts a row by as many records as were inserted ahead of it between two page reads: the ids of the
# last few pages catch such repeats. A longer shift is rare and harmless (the sync finds the record unchanged), and
# a window keeps memory flat where a set of every id seen grew with the resource (1M orders: ~60 MB).
SEEN_PAGES = 4

logger = logging.getLogger("bp_pipelines.brightpearl")

Params = Mapping[str, str | int | bool | None]
# Turns a 2xx body into the envelope instead of orjson (e.g. hands it to DuckDB); raises ValueError when the body
# is not JSON, which counts as a malformed response (retried like one).
Decoder = Callable[[bytes], Any]


class BrightpearlClient:
    """One account, one `httpx.Client`. Use as a context manager (`with resource.get_client() as bp:`).
    Thread-safe: the connection pool, the stats and the governor are shared safely between threads."""

    def __init__(
        self,
        base_url: str,
        account: str,
        app_ref: str,
        account_token: str,
        *,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        reserve_requests: int = 0,
        governor: RateGovernor | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.stats = ClientStats()
        self._retry = retry or RetryPolicy()
        self._reserve = reserve_requests
        self._governor = governor or RateGovernor()
        self._secrets = (account_token,)
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds),
            # urllib3 under httpx: GET bodies of ~740 KB cost a third of the CPU to read (lib/transport.py).
            transport=Urllib3Transport(ssl_context()),
            headers={
                "brightpearl-app-ref": app_ref,
                "brightpearl-account-token": account_token,
                "accept": "application/json",
                "user-agent": f"bp_pipelines httpx/{httpx.__version__}",
            },
        )

    def __repr__(self) -> str:
        return f"BrightpearlClient(base_url={self.base_url!r}, account={self.account!r})"

    def __enter__(self) -> BrightpearlClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- plain verbs: each returns the envelope's `response` -------------------------------------------------

    def budget(self) -> int | None:
        """The request budget left in the current throttle period, as Brightpearl last reported it (None: unknown)."""
        return self._governor.snapshot()[0]

    def get(self, path: str, params: Params | None = None, *, decode: Decoder | None = None) -> Any:
        return _response_of(self.request("GET", path, params=params, decode=decode))

    def put(self, path: str, body: Any) -> Any:
        return _response_of(self.request("PUT", path, body=body))

    def post(self, path: str, body: Any, *, idempotent: bool = False) -> Any:
        """POST is re-sent only when the request cannot have been processed (throttled, connection refused),
        unless `idempotent=True` says a duplicate is harmless (then 5xx and timeouts are retried too)."""
        return _response_of(self.request("POST", path, body=body, idempotent=idempotent))

    def patch(self, path: str, body: Any, *, idempotent: bool = False) -> Any:
        """JSON-Patch list; retried like POST (an `add` to a list is not idempotent)."""
        return _response_of(self.request("PATCH", path, body=body, idempotent=idempotent))

    def delete(self, path: str) -> Any:
        return _response_of(self.request("DELETE", path))

    def options(self, path: str) -> Any:
        """OPTIONS on an ID set: `{"getUris": [...]}` with the GET URIs for the ids that exist."""
        return _response_of(self.request("OPTIONS", path))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        idempotent: bool | None = None,
        validate: Callable[[Any], str | None] | None = None,
        decode: Decoder | None = None,
    ) -> Any:
        """Send one logical request (retried per the policy) and return the whole decoded envelope
        (`response` plus siblings such as `reference` or `pagination`), or None for an empty body. `decode` replaces
        the JSON decoding of a 2xx body (see `Decoder`)."""
        method = method.upper()
        path = path.lstrip("/")
        query = encode_query(params)
        content = None if body is None else encode_body(body)
        attempts = Attempts(method=method, path=path, query=query, idempotent=idempotent)
        send = partial(self._attempt, attempts, content, validate, decode)
        return self._retry.run(send, attempts, stats=self.stats, sleep=self._sleep)

    def _attempt(
        self,
        attempts: Attempts,
        content: bytes | None,
        validate: Callable[[Any], str | None] | None,
        decode: Decoder | None = None,
    ) -> Any:
        attempts.number += 1
        self.stats.record_wait(self._governor.acquire(self._reserve))
        self.stats.record_call(endpoint_template(attempts.method, attempts.path))
        url = api_url(self.base_url, self.account, attempts.path) + (f"?{attempts.query}" if attempts.query else "")
        headers = {"content-type": "application/json"} if content is not None else None
        try:
            response = self._http.request(attempts.method, url, content=content, headers=headers)
        except httpx.TransportError as exc:
            self._governor.cancel()
            raise attempts.failed(transport_error(exc, attempts, self._retry, self._secrets)) from exc
        logger.debug(
            "Brightpearl %s -> HTTP %s (remaining %s)",
            endpoint_template(attempts.method, attempts.path),
            response.status_code,
            response.headers.get("brightpearl-requests-remaining"),
        )
        return check_response(
            response, attempts, self._retry, self._governor, self.stats, self._secrets, validate, decode
        )

    # --- search paging and ID-set GETs ------------------------------------------------------------------------

    def search(
        self,
        path: str,
        filters: Mapping[str, str] | None = None,
        *,
        columns: Sequence[str] | None = None,
        sort: str | None = None,
        page_size: int = SEARCH_PAGE_SIZE_MAX,
        first_result: int = 1,
    ) -> Iterator[SearchPage]:
        """Yield every page of a resource search (`order-service/order-search`, ...).

        PERIOD filters are `"from/to"` with either side empty, e.g. `{"updatedOn": "2024-01-01T00:00:00Z/"}`.
        Pages follow `firstResult = lastResult + 1` while `morePagesAvailable`; an id seen on one of the last
        `SEEN_PAGES` pages is dropped from later ones (offset paging shifts rows while data changes)."""
        if not 1 <= page_size <= SEARCH_PAGE_SIZE_MAX:
            raise ValueError(f"page_size must be between 1 and {SEARCH_PAGE_SIZE_MAX}, got {page_size}")
        seen_ids: set[Any] = set()
        recent: deque[list[Any]] = deque()  # ids of the last SEEN_PAGES pages, oldest first
        first = first_result
        while True:
            params = search_params(filters, columns, sort, page_size, first)
            payload = self.request("GET", path, params=params, validate=partial(search_problem, first=first))
            page = parse_search_page(payload, first, seen_ids)
            if page.columns:
                recent.append([row.get(page.columns[0]) for row in page.rows])
                if len(recent) > SEEN_PAGES:
                    seen_ids.difference_update(recent.popleft())
            if page.duplicates_dropped:
                logger.info("Brightpearl %s: dropped %d rows seen on earlier pages", path, page.duplicates_dropped)
            yield page
            if not page.more_pages_available:
                return
            first = page.last_result + 1

    def get_by_ids(
        self,
        path: str,
        ids: Iterable[int],
        *,
        batch_size: int,
        params: Params | None = None,
        missing_ok: bool = True,
        decode: Decoder | None = None,
    ) -> Iterator[Any]:
        """GET `{path}/{id-set}` in batches of at most `batch_size` ids and yield each batch's `response`.

        `path` may hold the ID set elsewhere via `{ids}` (`warehouse-service/order/{ids}/goods-note/goods-out`).
        Ids are sorted and de-duplicated; no request is made for an empty input. A batch answered 404 with a
        Brightpearl error ("No Contact Found": none of its ids exist) is skipped when `missing_ok`, else raised.
        `decode`: see `Decoder` (the sync hands GET bodies straight to DuckDB)."""
        template = path.strip("/") if "{ids}" in path else path.rstrip("/") + "/{ids}"
        for id_set in batch_id_sets(ids, batch_size):
            try:
                response = self.get(template.replace("{ids}", id_set), params, decode=decode)
            except BrightpearlNotFoundError:
                if not missing_ok:
                    raise
                logger.debug("Brightpearl %s: no resources for ID set %s", path, id_set)
                continue
            yield response


def _response_of(payload: Any) -> Any:
    return payload.get("response") if isinstance(payload, Mapping) else None
