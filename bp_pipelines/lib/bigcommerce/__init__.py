"""BigCommerce REST client: V2/V3 requests, paging, header-driven pacing, retries (guide: docs/bigcommerce-client.md).

Plain Python, no Dagster: the Dagster resource holding the credentials is `bp_pipelines.resources.bigcommerce`.
"""

from .client import DEFAULT_BASE_URL, BigCommerceClient
from .dates import format_v2_date, format_v3_date, parse_v2_date, parse_v3_date
from .errors import (
    BigCommerceAmbiguousWrite,
    BigCommerceAuthError,
    BigCommerceError,
    BigCommerceMalformedResponse,
    BigCommerceNotFound,
    BigCommerceRateLimited,
    BigCommerceUnavailable,
    BigCommerceValidationError,
)
from .pacing import RatePacer, read_rate_headers, shared_pacer
from .paging import V2_LIMIT_MAX, V3_LIMIT_MAX
from .policy import RetryPolicy
from .stats import ClientStats

__all__ = [
    "DEFAULT_BASE_URL",
    "V2_LIMIT_MAX",
    "V3_LIMIT_MAX",
    "BigCommerceAmbiguousWrite",
    "BigCommerceAuthError",
    "BigCommerceClient",
    "BigCommerceError",
    "BigCommerceMalformedResponse",
    "BigCommerceNotFound",
    "BigCommerceRateLimited",
    "BigCommerceUnavailable",
    "BigCommerceValidationError",
    "ClientStats",
    "RatePacer",
    "RetryPolicy",
    "format_v2_date",
    "format_v3_date",
    "parse_v2_date",
    "parse_v3_date",
    "read_rate_headers",
    "shared_pacer",
]
