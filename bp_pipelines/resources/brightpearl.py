"""`BrightpearlResource`: the Dagster resource holding private-app credentials and client settings."""

from __future__ import annotations

import dagster as dg
from pydantic import Field, field_validator

from bp_pipelines.lib.brightpearl import BrightpearlClient, RetryPolicy, shared_governor
from bp_pipelines.settings import check_base_url


class BrightpearlResource(dg.ConfigurableResource):
    """Brightpearl private-app access. Give the token as `dg.EnvVar("BRIGHTPEARL_ACCOUNT_TOKEN")` so that only the
    variable's name is stored in run config; the value is kept out of reprs, logs and error messages."""

    base_url: str = Field(description="Datacentre URL, e.g. https://euw1.brightpearlconnect.com (http: loopback only)")
    account: str = Field(description="Brightpearl account code (the {account} in /public-api/{account}/)")
    app_ref: str = Field(description="Private-app reference, sent as brightpearl-app-ref")
    account_token: str = Field(repr=False, description="Private-app account token (secret)")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Per-request timeout")
    max_attempts: int = Field(default=6, ge=1, description="Attempts per request on 5xx/timeouts (not throttles)")
    reserve_requests: int = Field(
        default=10, ge=0, le=199, description="Requests per throttle period left unused for other apps on the account"
    )
    max_throttle_waits: int = Field(default=10, ge=0, description="Throttled (503) answers tolerated per request")
    backoff_base_seconds: float = Field(default=1.0, ge=0, description="First retry backoff; doubles per attempt")
    backoff_max_seconds: float = Field(default=60.0, ge=0, description="Longest single retry backoff")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        # With dg.EnvVar the value seen here is still the variable's *name*; URLs are checked now, names at
        # get_client() once Dagster has resolved them.
        return check_base_url("BRIGHTPEARL_BASE_URL", value) if "://" in value else value

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_throttle_waits=self.max_throttle_waits,
            backoff_base_seconds=self.backoff_base_seconds,
            backoff_max_seconds=self.backoff_max_seconds,
        )

    def get_client(self) -> BrightpearlClient:
        """A new client with its own `httpx.Client`; close it with `with resource.get_client() as bp:`.
        Clients of one account in one process share a rate governor."""
        base_url = check_base_url("BRIGHTPEARL_BASE_URL", self.base_url)
        return BrightpearlClient(
            base_url,
            self.account,
            self.app_ref,
            self.account_token,
            timeout_seconds=self.timeout_seconds,
            retry=self.retry_policy(),
            reserve_requests=self.reserve_requests,
            governor=shared_governor(f"{base_url}|{self.account}"),
        )
