"""Client behaviour against real loopback servers that emit Brightpearl's documented throttle headers, 503s,
5xx, timeouts, malformed bodies and multi-page searches."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bp_pipelines.lib.brightpearl import (
    GOODS_OUT_NOTE_GET_MAX_IDS,
    ORDER_GET_MAX_IDS,
    PRODUCT_AVAILABILITY_MAX_IDS,
    BrightpearlAuthError,
    BrightpearlClient,
    BrightpearlConnectionError,
    BrightpearlMalformedResponseError,
    BrightpearlRequestError,
    BrightpearlServerError,
    BrightpearlThrottledError,
    RetryPolicy,
)
from bp_pipelines.lib.brightpearl.client import SEEN_PAGES

from .cassette_server import ALL_METHODS, LoopbackServer

TOKEN = "s3cr3t-Token+/xyz=="
FAST = RetryPolicy(max_attempts=3, max_throttle_waits=3, backoff_base_seconds=0.01, backoff_max_seconds=0.05)
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Hit:
    at: float
    method: str
    path: str  # after /public-api/{account}/
    query: str  # raw, as sent on the wire
    status: int = 0


@dataclass
class Switchboard:
    """The module's one server dispatches to `handler`, set per test, and logs every hit."""

    handler: Handler | None = None
    hits: list[Hit] = field(default_factory=list)

    async def dispatch(self, request: Request) -> Response:
        path = request.scope["raw_path"].decode().split("?")[0].split("/", 3)[3]
        hit = Hit(time.monotonic(), request.method, path, request.scope["query_string"].decode())
        self.hits.append(hit)
        assert self.handler is not None
        response = await self.handler(request)
        hit.status = response.status_code
        return response


BOARD = Switchboard()


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    app = Starlette(routes=[Route("/public-api/{path:path}", BOARD.dispatch, methods=ALL_METHODS)])
    with LoopbackServer(app) as running:
        yield running


@pytest.fixture
def board(server: LoopbackServer) -> Iterator[Switchboard]:
    BOARD.handler, BOARD.hits = None, []
    yield BOARD
    BOARD.handler = None


@pytest.fixture
def client(server: LoopbackServer) -> Iterator[BrightpearlClient]:
    with BrightpearlClient(server.url, "acme", "acme_app", TOKEN, retry=FAST, timeout_seconds=2.0) as bp:
        yield bp


def ok(response: Any = None, *, remaining: int = 150, period_ms: int = 30000, **extra: Any) -> JSONResponse:
    headers = {"Brightpearl-Requests-Remaining": str(remaining), "Brightpearl-Next-Throttle-Period": str(period_ms)}
    return JSONResponse({"response": response, **extra}, headers=headers)


def throttle_headers(remaining: int, period_ms: int) -> dict[str, str]:
    return {"brightpearl-requests-remaining": str(remaining), "brightpearl-next-throttle-period": str(period_ms)}


TOO_MANY = {"response": "You have sent too many requests. Please wait before sending another request"}


# --- rate governor ----------------------------------------------------------------------------------------


class FixedWindow:
    """Brightpearl-like budget: `budget` requests per `window` seconds, counted in fixed windows."""

    def __init__(self, budget: int, window: float) -> None:
        self.budget, self.window = budget, window
        self.start = time.monotonic()
        self.used = 0
        self.throttled = 0
        self.per_window: list[int] = [0]

    async def __call__(self, request: Request) -> Response:
        now = time.monotonic()
        while now >= self.start + self.window:
            self.start += self.window
            self.used = 0
            self.per_window.append(0)
        period_ms = max(1, int((self.start + self.window - now) * 1000))
        if self.used >= self.budget:
            self.throttled += 1
            return JSONResponse(TOO_MANY, status_code=503, headers=throttle_headers(0, period_ms))
        self.used += 1
        self.per_window[-1] += 1
        return ok([{"id": 1}], remaining=self.budget - self.used, period_ms=period_ms)


class RollingWindow:
    """The other reading of "200 per rolling minute": a request counts for `window` seconds after it was made."""

    def __init__(self, budget: int, window: float) -> None:
        self.budget, self.window = budget, window
        self.recent: deque[float] = deque()
        self.throttled = 0

    async def __call__(self, request: Request) -> Response:
        now = time.monotonic()
        while self.recent and self.recent[0] <= now - self.window:
            self.recent.popleft()
        period_ms = int((self.recent[0] + self.window - now) * 1000) + 1 if self.recent else int(self.window * 1000)
        if len(self.recent) >= self.budget:
            self.throttled += 1
            return JSONResponse(TOO_MANY, status_code=503, headers=throttle_headers(0, period_ms))
        self.recent.append(now)
        period_ms = int((self.recent[0] + self.window - now) * 1000) + 1
        return ok([{"id": 1}], remaining=self.budget - len(self.recent), period_ms=period_ms)


def test_governor_spends_the_fixed_window_budget_without_throttles(board: Switchboard, server: LoopbackServer) -> None:
    window = FixedWindow(budget=15, window=0.4)
    board.handler = window
    with BrightpearlClient(server.url, "acme", "acme_app", TOKEN, retry=FAST) as bp:
        started = time.monotonic()
        for _ in range(50):
            bp.get("order-service/order-status")
        elapsed = time.monotonic() - started
    assert window.throttled == 0 and bp.stats.throttled == 0
    assert bp.stats.calls == 50 and bp.stats.governor_waits >= 3
    # Every complete window was used to the full budget (>= 90 % is the goal), and waiting was not overdone.
    assert sorted(window.per_window, reverse=True)[:3] == [15, 15, 15], window.per_window
    assert elapsed < 3 * 0.4 + 1.0  # 50 requests need 3 resets; generous slack for a loaded CI machine


def test_governor_keeps_the_reserve_free(board: Switchboard, server: LoopbackServer) -> None:
    window = FixedWindow(budget=20, window=0.3)
    board.handler = window
    with BrightpearlClient(server.url, "acme", "acme_app", TOKEN, retry=FAST, reserve_requests=5) as bp:
        for _ in range(40):
            bp.get("order-service/order-status")
    assert window.throttled == 0
    assert max(window.per_window) == 15  # 20 per window minus the reserve of 5, never more


def test_governor_handles_a_rolling_window_without_throttles(board: Switchboard, server: LoopbackServer) -> None:
    rolling = RollingWindow(budget=15, window=0.4)
    board.handler = rolling
    with BrightpearlClient(server.url, "acme", "acme_app", TOKEN, retry=FAST) as bp:
        started = time.monotonic()
        for _ in range(45):
            bp.get("order-service/order-status")
        elapsed = time.monotonic() - started
    assert rolling.throttled == 0 and bp.stats.throttled == 0
    # 45 requests at 15 per 0.4 s need at least 0.8 s; the governor should not take much longer.
    assert 0.75 < elapsed < 2.0


def test_503_throttle_waits_the_period_then_retries(board: Switchboard, client: BrightpearlClient) -> None:
    calls = {"n": 0}

    async def handler(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] <= 2:
            return JSONResponse(TOO_MANY, status_code=503, headers=throttle_headers(0, 250))
        return ok({"done": True})

    board.handler = handler
    assert client.get("order-service/order/1") == {"done": True}
    assert client.stats.throttled == 2 and client.stats.retries == 2 and client.stats.calls == 3
    gaps = [later.at - earlier.at for earlier, later in zip(board.hits, board.hits[1:], strict=False)]
    assert all(gap >= 0.25 for gap in gaps), gaps  # waited the throttle period, not a short backoff


def test_503_with_throttle_headers_but_other_text_is_a_throttle(board: Switchboard, client: BrightpearlClient) -> None:
    calls = {"n": 0}

    async def handler(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return Response("Too Busy", status_code=503, headers=throttle_headers(0, 50))
        return ok(7)

    board.handler = handler
    assert client.post("order-service/order", {"orderTypeCode": "SO"}) == 7  # even a POST: it was not processed
    assert client.stats.throttled == 1


def test_persistent_throttle_raises_throttled_error(board: Switchboard, client: BrightpearlClient) -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse(TOO_MANY, status_code=503, headers=throttle_headers(0, 10))

    board.handler = handler
    with pytest.raises(BrightpearlThrottledError) as info:
        client.get("order-service/order/1")
    assert len(board.hits) == FAST.max_throttle_waits + 1
    assert "GET order-service/order/1" in str(info.value) and TOKEN not in str(info.value)


# --- retries ----------------------------------------------------------------------------------------------


def test_5xx_is_retried_then_succeeds(board: Switchboard, client: BrightpearlClient) -> None:
    calls = {"n": 0}

    async def handler(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] <= 2:
            return JSONResponse({"errors": [{"code": "CMNU-003", "message": "Internal Server Error"}]}, 500)
        return ok([{"id": 5}])

    board.handler = handler
    assert client.get("order-service/order/5") == [{"id": 5}]
    assert (client.stats.calls, client.stats.retries, client.stats.throttled) == (3, 2, 0)


def test_503_without_throttle_signs_is_a_server_error(board: Switchboard, client: BrightpearlClient) -> None:
    async def handler(request: Request) -> Response:
        return Response("<html>upstream unavailable</html>", status_code=503)

    board.handler = handler
    with pytest.raises(BrightpearlServerError) as info:
        client.get("product-service/product/1")
    assert len(board.hits) == 3 and client.stats.throttled == 0
    assert "HTTP 503" in str(info.value) and "attempt 3 of 3" in str(info.value)


def test_post_is_not_resent_after_a_5xx_unless_idempotent(board: Switchboard, client: BrightpearlClient) -> None:
    async def handler(request: Request) -> Response:
        return Response("bad gateway", status_code=502)

    board.handler = handler
    with pytest.raises(BrightpearlServerError):
        client.post("order-service/order", {"orderTypeCode": "SO"})
    assert len(board.hits) == 1
    with pytest.raises(BrightpearlServerError):
        client.post("order-service/order", {"orderTypeCode": "SO"}, idempotent=True)
    assert len(board.hits) == 4


def test_4xx_raises_a_clear_error_without_retry_or_token(board: Switchboard, client: BrightpearlClient) -> None:
    async def handler(request: Request) -> Response:
        if request.method == "GET":
            return Response("Forbidden", status_code=403, headers=throttle_headers(120, 1000))
        return JSONResponse({"errors": [{"code": "PRDC-014", "message": "You must supply a brand ID."}]}, 400)

    board.handler = handler
    with pytest.raises(BrightpearlRequestError) as info:
        client.post("product-service/product", {"brandId": None})
    error = info.value
    assert (error.status, error.code, error.method, error.path) == (400, "PRDC-014", "POST", "product-service/product")
    assert (
        str(error) == "Brightpearl POST product-service/product failed: HTTP 400 PRDC-014: You must supply a brand ID."
    )
    with pytest.raises(BrightpearlRequestError) as info:
        client.get("product-service/product-search", {"SKU": "A B"})
    assert str(info.value) == "Brightpearl GET product-service/product-search?SKU=A%20B failed: HTTP 403 Forbidden"
    assert len(board.hits) == 2
    assert not isinstance(info.value, BrightpearlAuthError)


def test_401_is_an_auth_error_and_scrubs_the_token(board: Switchboard, client: BrightpearlClient) -> None:
    async def handler(request: Request) -> Response:
        token = request.headers["brightpearl-account-token"]
        body = json.dumps({"response": f"Invalid instance token: {token}"}).replace("=", "\\u003d")
        return Response(body, status_code=401, media_type="application/json")

    board.handler = handler
    with pytest.raises(BrightpearlAuthError) as info:
        client.get("order-service/order/1")
    assert TOKEN not in str(info.value) and "***" in str(info.value)
    assert "BRIGHTPEARL_ACCOUNT_TOKEN" in str(info.value) and len(board.hits) == 1


def test_timeouts_are_retried(board: Switchboard, server: LoopbackServer) -> None:
    calls = {"n": 0}

    async def handler(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(1.0)
        return ok({"slow": calls["n"]})

    board.handler = handler
    with BrightpearlClient(server.url, "acme", "acme_app", TOKEN, retry=FAST, timeout_seconds=0.2) as bp:
        assert bp.get("order-service/order/1") == {"slow": 2}
        assert bp.stats.retries == 1


def test_persistent_timeouts_raise_connection_error_and_post_is_not_resent(
    board: Switchboard, server: LoopbackServer
) -> None:
    async def handler(request: Request) -> Response:
        await asyncio.sleep(0.6)
        return ok(1)

    board.handler = handler
    with BrightpearlClient(server.url, "acme", "acme_app", TOKEN, retry=FAST, timeout_seconds=0.15) as bp:
        with pytest.raises(BrightpearlConnectionError) as info:
            bp.get("order-service/order/1")
        assert "ReadTimeout" in str(info.value) and "attempt 3 of 3" in str(info.value)
        assert len(board.hits) == 3
        with pytest.raises(BrightpearlConnectionError):
            bp.post("order-service/order", {"orderTypeCode": "SO"})
        assert len(board.hits) == 4


def test_connection_refused_is_retried_then_raised() -> None:
    with LoopbackServer(Starlette()) as stopped:
        url = stopped.url
    with BrightpearlClient(url, "acme", "acme_app", TOKEN, retry=FAST) as bp, pytest.raises(BrightpearlConnectionError):
        bp.post("order-service/order", {"orderTypeCode": "SO"})  # not sent at all: safe to retry even a POST
    assert bp.stats.calls == 3 and bp.stats.retries == 2


def test_malformed_json_is_retried_then_reported(board: Switchboard, client: BrightpearlClient) -> None:
    calls = {"n": 0}

    async def handler(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1 or request.url.path.endswith("/2"):
            return Response('{"response": [1, 2', media_type="application/json")
        return ok([1, 2])

    board.handler = handler
    assert client.get("order-service/order/1") == [1, 2]
    with pytest.raises(BrightpearlMalformedResponseError) as info:
        client.get("order-service/order/2")
    assert "GET order-service/order/2 returned a malformed response: body is not JSON" in str(info.value)
    assert len(board.hits) == 2 + FAST.malformed_max_attempts


def test_search_page_missing_metadata_is_malformed(board: Switchboard, client: BrightpearlClient) -> None:
    async def handler(request: Request) -> Response:
        return ok({"results": [[1]]})

    board.handler = handler
    with pytest.raises(BrightpearlMalformedResponseError) as info:
        list(client.search("order-service/order-search"))
    assert "no 'response.metaData' object" in str(info.value)
    assert "order-service/order-search?pageSize=500&firstResult=1" in str(info.value)
    assert len(board.hits) == FAST.malformed_max_attempts


# --- search paging ----------------------------------------------------------------------------------------

COLUMNS = [{"name": "orderId"}, {"name": "updatedOn"}, {"name": "orderStatusId"}]


def search_page(rows: list[list[Any]], first: int, available: int, *, more: bool | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "resultsAvailable": available,
        "resultsReturned": len(rows),
        "firstResult": first,
        "lastResult": first + len(rows) - 1,
        "columns": COLUMNS,
    }
    if more is not None:
        meta["morePagesAvailable"] = more
    return {"results": rows, "metaData": meta}


def paged_handler(ids: list[int], *, with_more_flag: bool, shift_after_first: int = 0) -> Handler:
    """Serves `ids` in pages; after the first page, `shift_after_first` new low ids appear (rows shift)."""
    state = {"ids": list(ids), "served": 0}

    async def handler(request: Request) -> Response:
        first = int(request.query_params["firstResult"])
        size = int(request.query_params["pageSize"])
        current = state["ids"]
        chunk = current[first - 1 : first - 1 + size]
        rows = [[order_id, "2024-01-01T00:00:00.000Z", 1] for order_id in chunk]
        state["served"] += 1
        if state["served"] == 1 and shift_after_first:
            state["ids"] = list(range(-shift_after_first, 0)) + current  # inserts before: page 2 repeats ids
        more = first - 1 + len(chunk) < len(current) if with_more_flag else None
        body = search_page(rows, first, len(current), more=more)
        return ok(body, reference={"orderStatusNames": {"1": "Draft"}})

    return handler


def test_search_drops_repeats_of_recent_pages_and_keeps_a_bounded_window(
    board: Switchboard, client: BrightpearlClient
) -> None:
    # 12 pages of 2 rows. Id 3 (page 2) repeats on page 3: dropped. Id 1 (page 1) repeats on page 12, more than
    # SEEN_PAGES pages later: yielded again (the sync then finds it unchanged), so memory does not grow per id.
    assert SEEN_PAGES < 10
    served = [1, 2, 3, 4, 3, *range(5, 23), 1]

    async def handler(request: Request) -> Response:
        first, size = int(request.query_params["firstResult"]), int(request.query_params["pageSize"])
        chunk = served[first - 1 : first - 1 + size]
        rows = [[order_id, "2024-01-01T00:00:00.000Z", 1] for order_id in chunk]
        return ok(search_page(rows, first, len(served), more=first - 1 + len(chunk) < len(served)))

    board.handler = handler
    pages = list(client.search("order-service/order-search", {}, columns=["orderId"], page_size=2))
    ids = [row["orderId"] for page in pages for row in page.rows]
    assert ids == [1, 2, 3, 4, *range(5, 23), 1]
    assert [page.duplicates_dropped for page in pages].count(1) == 1 and pages[2].duplicates_dropped == 1


def test_search_pages_through_results_dropping_duplicates(board: Switchboard, client: BrightpearlClient) -> None:
    board.handler = paged_handler(list(range(1, 1201)), with_more_flag=True, shift_after_first=3)
    pages = list(
        client.search(
            "order-service/order-search",
            {"updatedOn": "2024-01-01T00:00:00.000Z/"},
            columns=["orderId", "updatedOn", "orderStatusId"],
            sort="orderId.ASC",
        )
    )
    assert [re.search(r"firstResult=(\d+)", hit.query)[1] for hit in board.hits] == ["1", "501", "1001"]
    ids = [row["orderId"] for page in pages for row in page.rows]
    assert len(ids) == len(set(ids)) == 1200  # the 3 ids pushed onto page 2 by the inserts were dropped
    assert [page.duplicates_dropped for page in pages] == [0, 3, 0]
    assert pages[0].rows[0] == {"orderId": 1, "updatedOn": "2024-01-01T00:00:00.000Z", "orderStatusId": 1}
    assert pages[0].reference == {"orderStatusNames": {"1": "Draft"}}
    assert [page.more_pages_available for page in pages] == [True, True, False]
    # The PERIOD filter's "/" is sent unencoded; columns and sort as documented.
    assert board.hits[0].query == (
        "updatedOn=2024-01-01T00:00:00.000Z/&columns=orderId,updatedOn,orderStatusId&sort=orderId.ASC"
        "&pageSize=500&firstResult=1"
    )
    assert client.stats.calls_by_endpoint == {"GET order-service/order-search": 3}


def test_search_deduplicates_only_by_an_id_first_column(board: Switchboard, client: BrightpearlClient) -> None:
    async def handler(request: Request) -> Response:
        first = int(request.query_params["firstResult"])
        columns = [{"name": name} for name in request.query_params["columns"].split(",")]
        rows = [["2024-01-01", first], ["2024-01-01", first + 1]]  # same date on every row: not an id
        page = {
            "results": rows,
            "metaData": {
                "firstResult": first,
                "lastResult": first + 1,
                "resultsAvailable": 4,
                "morePagesAvailable": first == 1,
                "columns": columns,
            },
        }
        return ok(page)

    board.handler = handler
    pages = list(client.search("order-service/order-search", columns=["updatedOn", "orderId"], page_size=2))
    assert [row["orderId"] for page in pages for row in page.rows] == [1, 2, 3, 4]


def test_search_without_more_pages_flag_uses_results_available(board: Switchboard, client: BrightpearlClient) -> None:
    board.handler = paged_handler(list(range(1, 8)), with_more_flag=False)
    pages = list(client.search("order-service/order-search", page_size=3))
    assert [len(page.rows) for page in pages] == [3, 3, 1]
    assert [page.first_result for page in pages] == [1, 4, 7]


def test_period_filters_are_sent_with_slash_unencoded(board: Switchboard, client: BrightpearlClient) -> None:
    board.handler = paged_handler([], with_more_flag=True)
    filters = {"updatedOn": "2026-07-01T00:00:00+01:00/2026-07-02T00:00:00.000Z", "createdOn": "/2026-07-01"}
    [page] = client.search("order-service/order-search", filters)
    query = board.hits[0].query
    assert "updatedOn=2026-07-01T00:00:00%2B01:00/2026-07-02T00:00:00.000Z" in query  # "+" must be encoded
    assert "createdOn=/2026-07-01" in query and "%2F" not in query.upper()
    assert page.rows == [] and page.more_pages_available is False


def test_search_that_claims_more_but_does_not_advance_stops(board: Switchboard, client: BrightpearlClient) -> None:
    async def handler(request: Request) -> Response:
        return ok(search_page([], int(request.query_params["firstResult"]), 10, more=True))

    board.handler = handler
    with pytest.raises(BrightpearlMalformedResponseError, match="more pages"):
        list(client.search("order-service/order-search"))


def test_search_rejects_paging_params_as_filters(client: BrightpearlClient) -> None:
    with pytest.raises(ValueError, match="pageSize"):
        list(client.search("order-service/order-search", {"pageSize": "10"}))
    with pytest.raises(ValueError, match="page_size"):
        list(client.search("order-service/order-search", page_size=501))


# --- ID-set batching ---------------------------------------------------------------------------------------


def id_set_handler() -> Handler:
    async def handler(request: Request) -> Response:
        return ok({"ids": request.url.path.rsplit("/", 1)[-1]})

    return handler


def expand(id_set: str) -> list[int]:
    ids: list[int] = []
    for part in id_set.split(","):
        start, _, end = part.partition("-")
        ids.extend(range(int(start), int(end or start) + 1))
    return ids


@pytest.mark.parametrize(
    ("path", "batch_size", "ids", "requests"),
    [
        ("order-service/order", ORDER_GET_MAX_IDS, list(range(1, 301)) + list(range(1000, 3000, 13)), 3),
        ("warehouse-service/order/*/goods-note/goods-out", GOODS_OUT_NOTE_GET_MAX_IDS, list(range(5, 1105)), 3),
        ("warehouse-service/product-availability", PRODUCT_AVAILABILITY_MAX_IDS, list(range(2, 502, 2)), 3),
    ],
)
def test_get_by_ids_batches_at_the_documented_maximum(
    board: Switchboard, client: BrightpearlClient, path: str, batch_size: int, ids: list[int], requests: int
) -> None:
    board.handler = id_set_handler()
    batches = list(client.get_by_ids(path, reversed(ids + ids[:10]), batch_size=batch_size))
    assert len(board.hits) == len(batches) == requests
    sets = [expand(batch["ids"]) for batch in batches]
    assert all(len(chunk) <= batch_size for chunk in sets)
    assert [i for chunk in sets for i in chunk] == sorted(set(ids))
    assert all(hit.path.startswith(path + "/") for hit in board.hits)


def test_get_by_ids_keeps_urls_short_and_supports_a_placeholder(board: Switchboard, client: BrightpearlClient) -> None:
    board.handler = id_set_handler()
    sparse = list(range(100_000_000, 100_000_000 + 500 * 7, 7))  # 500 nine-digit ids, no ranges
    batches = list(client.get_by_ids("warehouse-service/order/*/goods-note/goods-out", sparse, batch_size=500))
    assert len(batches) == 2 and all(len(hit.path) < 4200 for hit in board.hits)
    assert sorted(i for batch in batches for i in expand(batch["ids"])) == sparse
    board.hits.clear()
    list(client.get_by_ids("warehouse-service/order/{ids}/goods-note/goods-out", [3, 1, 2], batch_size=200))
    assert board.hits[0].path == "warehouse-service/order/1-3/goods-note/goods-out"
    assert list(client.get_by_ids("order-service/order", [], batch_size=200)) == []
    assert len(board.hits) == 1


# --- secrets ----------------------------------------------------------------------------------------------


def test_token_never_reaches_logs_reprs_or_stats(
    board: Switchboard, client: BrightpearlClient, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}
    lock = threading.Lock()

    async def handler(request: Request) -> Response:
        with lock:
            calls["n"] += 1
            n = calls["n"]
        token = request.headers["brightpearl-account-token"]
        if n == 1:
            return JSONResponse({"errors": [{"code": "CMNU-003", "message": f"boom {token}"}]}, 500)
        if n == 2:
            return JSONResponse({"response": f"Invalid instance token: {token}"}, 401)
        return ok(1)

    board.handler = handler
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BrightpearlAuthError) as info:
        client.get("order-service/order/1")
    texts = [caplog.text, str(info.value), repr(info.value), repr(client), repr(client.stats)]
    texts.append(json.dumps(client.stats.as_metadata()))
    assert "boom ***" in caplog.text
    for text in texts:
        assert TOKEN not in text
