"""Brightpearl REST client: auth, paging, ID sets, rate governor, retries (guide: docs/brightpearl-client.md).

Plain Python, no Dagster: the Dagster resource holding the credentials is `bp_pipelines.resources.brightpearl`.
"""

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
from .governor import RateGovernor, shared_governor
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
    "BrightpearlServerError",
    "BrightpearlThrottledError",
    "ClientStats",
    "RateGovernor",
    "RetryPolicy",
    "SearchPage",
    "batch_id_sets",
    "shared_governor",
    "parse_bp_datetime",
    "parse_money",
    "parse_quantity",
    "to_id_set",
]
