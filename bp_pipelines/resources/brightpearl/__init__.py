"""Brightpearl REST client and Dagster resource (contract: docs/architecture.md, guide: docs/brightpearl-client.md)."""

from .client import BrightpearlClient
from .errors import (
    BrightpearlAuthError,
    BrightpearlConnectionError,
    BrightpearlError,
    BrightpearlMalformedResponseError,
    BrightpearlNotFoundError,
    BrightpearlRequestError,
    BrightpearlServerError,
    BrightpearlThrottledError,
)
from .governor import RateGovernor
from .idset import (
    CONTACT_GET_MAX_IDS,
    GOODS_OUT_NOTE_GET_MAX_IDS,
    ORDER_GET_MAX_IDS,
    PRODUCT_AVAILABILITY_MAX_IDS,
    PRODUCT_GET_MAX_IDS,
    batch_id_sets,
    to_id_set,
)
from .parsing import parse_bp_datetime, parse_money, parse_quantity
from .policy import RetryPolicy
from .resource import BrightpearlResource
from .search import SEARCH_PAGE_SIZE_MAX, SearchPage
from .stats import ClientStats

__all__ = [
    "CONTACT_GET_MAX_IDS",
    "GOODS_OUT_NOTE_GET_MAX_IDS",
    "ORDER_GET_MAX_IDS",
    "PRODUCT_AVAILABILITY_MAX_IDS",
    "PRODUCT_GET_MAX_IDS",
    "SEARCH_PAGE_SIZE_MAX",
    "BrightpearlAuthError",
    "BrightpearlClient",
    "BrightpearlConnectionError",
    "BrightpearlError",
    "BrightpearlMalformedResponseError",
    "BrightpearlNotFoundError",
    "BrightpearlRequestError",
    "BrightpearlResource",
    "BrightpearlServerError",
    "BrightpearlThrottledError",
    "ClientStats",
    "RateGovernor",
    "RetryPolicy",
    "SearchPage",
    "batch_id_sets",
    "parse_bp_datetime",
    "parse_money",
    "parse_quantity",
    "to_id_set",
]
