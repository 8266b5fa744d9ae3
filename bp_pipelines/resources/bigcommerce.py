"""`BigCommerceResource`: the Dagster resource holding the store's API credentials and client settings."""

from __future__ import annotations

import dagster as dg
from pydantic import Field, field_validator

from bp_pipelines.lib.bigcommerce import BigCommerceClient, RetryPolicy, shared_pacer
from bp_pipelines.settings import ConfigError, check_base_url


class BigCommerceResource(dg.ConfigurableResource):
    """BigCommerce store API access (`X-Auth-Token`). Give the token as `dg.EnvVar("BIGCOMMERCE_ACCESS_TOKEN")` so
    that only the variable's name is stored in run config; the value is kept out of reprs, logs and errors."""

    base_url: str = Field(
        default="https://api.bigcommerce.com",
        description="API host; the client appends /stores/{store_hash}/v2|v3 (http: loopback only)",
    )
    store_hash: str = Field(description="The store hash (the {store_hash} in /stores/{store_hash}/)")
    access_token: str = Field(repr=False, description="Store API account access token (secret), sent as X-Auth-Token")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Per-request timeout")
    max_attempts: int = Field(default=5, ge=1, description="Attempts per GET/PUT/DELETE on 5xx/timeouts (not 429s)")
    max_throttle_waits: int = Field(default=10, ge=0, description="429 answers tolerated per request")
    reserve_requests: int = Field(
        default=0, ge=0, description="Requests per rate-limit window left unused for other apps on the store"
    )
    backoff_base_seconds: float = Field(default=1.0, ge=0, description="First retry backoff; doubles per attempt")
    backoff_max_seconds: float = Field(default=60.0, ge=0, description="Longest single retry backoff")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        # With dg.EnvVar the value seen here is still the variable's *name*; URLs are checked now, names at
        # get_client() once Dagster has resolved them.
        return check_base_url("BIGCOMMERCE_BASE_URL", value) if "://" in value else value

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_throttle_waits=self.max_throttle_waits,
            backoff_base_seconds=self.backoff_base_seconds,
            backoff_max_seconds=self.backoff_max_seconds,
        )

    def get_client(self) -> BigCommerceClient:
        """A new client with its own `httpx.Client`; close it with `with resource.get_client() as bc:`.
        Clients of one store in one process share a pacer (the quota is per store)."""
        base_url = check_base_url("BIGCOMMERCE_BASE_URL", self.base_url)
        for name, value in (
            ("BIGCOMMERCE_STORE_HASH", self.store_hash),
            ("BIGCOMMERCE_ACCESS_TOKEN", self.access_token),
        ):
            if not value.strip():
                raise ConfigError(f"{name} is empty: set it to the store's API credentials (see .env.example).")
        return BigCommerceClient(
            base_url,
            self.store_hash,
            self.access_token,
            timeout=self.timeout_seconds,
            retry=self.retry_policy(),
            pacer=shared_pacer(f"{base_url}|{self.store_hash}", reserve=self.reserve_requests),
        )
