"""Paging: V2 `page`/`limit` over bare arrays (413 above 250, 204 when empty), V3 `meta.pagination`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bp_sandbox.bigcommerce.errors import ApiError, invalid_field, limit_too_large

DEFAULT_LIMIT = 50
MAX_LIMIT = 250


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _positive_int(params: Mapping[str, str], name: str, default: int, error: ApiError) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise error from None
    if value < 1:
        raise error
    return value


def v2_page(params: Mapping[str, str]) -> Page:
    """V2: `limit` default 50, above 250 -> 413 with details.max_limit; non-positive values -> 400."""
    limit = _positive_int(params, "limit", DEFAULT_LIMIT, invalid_field("limit"))
    if limit > MAX_LIMIT:
        raise limit_too_large(MAX_LIMIT)
    page = _positive_int(params, "page", 1, invalid_field("page"))
    return Page(page, limit)


def v3_page(params: Mapping[str, str], max_limit: int = MAX_LIMIT) -> Page:
    """V3: a `limit` above the maximum is clamped to it (unconfirmed; meta.per_page shows the value used)."""
    bad_limit = ApiError(422, "Invalid limit", errors={"limit": "limit must be a positive integer"})
    bad_page = ApiError(422, "Invalid page", errors={"page": "page must be a positive integer"})
    limit = min(_positive_int(params, "limit", DEFAULT_LIMIT, bad_limit), max_limit)
    page = _positive_int(params, "page", 1, bad_page)
    return Page(page, limit)


def v3_meta(page: Page, total: int, count: int) -> dict[str, Any]:
    """`meta.pagination` as in the specs; links are query strings, `previous`/`next` only when they exist."""
    total_pages = max(1, math.ceil(total / page.limit)) if total else 0
    links: dict[str, str] = {}
    if page.page > 1:
        links["previous"] = f"?page={page.page - 1}&limit={page.limit}"
    links["current"] = f"?page={page.page}&limit={page.limit}"
    if page.page < total_pages:
        links["next"] = f"?page={page.page + 1}&limit={page.limit}"
    return {
        "pagination": {
            "total": total,
            "count": count,
            "per_page": page.limit,
            "current_page": page.page,
            "total_pages": total_pages,
            "links": links,
        }
    }


def split_csv(value: str | None) -> list[str]:
    """`sku:in=a,b,c` style lists; empty items dropped."""
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def csv_ints(params: Mapping[str, str], name: str, *, version_status: int = 422) -> list[int]:
    try:
        return [int(v) for v in split_csv(params.get(name))]
    except ValueError:
        if version_status == 400:
            raise invalid_field(name) from None
        detail = {name: "must be a comma-separated list of integers"}
        raise ApiError(422, f"Invalid value for '{name}'", errors=detail) from None


def placeholders(values: list[Any]) -> str:
    return ",".join("?" for _ in values)
