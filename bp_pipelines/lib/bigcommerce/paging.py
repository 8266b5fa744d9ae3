"""Walking BigCommerce lists to the end.

V2 (bigcommerce-api.md §7): a bare JSON array per page, `page` (1-based) and `limit` (max 250, more is a 413),
no totals; past the last page, or when nothing matches, the answer is **204 with an empty body**. A page shorter
than `limit` is the last one too. V3: `{"data": [...], "meta": {"pagination": {current_page, total_pages, ...}}}`;
an empty list is `200` with `data: []`; whether `links.next` is present on the last page is unconfirmed, so the
walk follows `current_page < total_pages`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .wire import Params

V2_LIMIT_MAX = 250
V3_LIMIT_MAX = 250


class PagingError(ValueError):
    """A list answer of an unexpected shape (raised with the request named by the client)."""


def v2_pages(get: Callable[[Params], Any], params: Params | None, limit: int) -> Iterator[list[dict[str, Any]]]:
    page = int(params.get("page") or 1) if params else 1  # type: ignore[arg-type]
    while True:
        body = get({**(params or {}), "page": page, "limit": limit})
        if body is None:  # 204: past the end
            return
        if not isinstance(body, list):
            raise PagingError(f"expected a JSON array on page {page}, got {type(body).__name__}")
        if body:
            yield body
        if len(body) < limit:
            return
        page += 1


def v3_pages(get: Callable[[Params], Any], params: Params | None, limit: int) -> Iterator[list[dict[str, Any]]]:
    page = int(params.get("page") or 1) if params else 1  # type: ignore[arg-type]
    while True:
        body = get({**(params or {}), "page": page, "limit": limit})
        if body is None:
            return
        if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
            raise PagingError(f"expected an object with a `data` list on page {page}")
        data: list[dict[str, Any]] = body["data"]
        if data:
            yield data
        pagination = (body.get("meta") or {}).get("pagination") or {}
        current, total = pagination.get("current_page"), pagination.get("total_pages")
        if not data:
            return
        if isinstance(current, int) and isinstance(total, int):
            if current >= total:
                return
        elif len(data) < limit:  # no pagination block: a short page is the last
            return
        page += 1
