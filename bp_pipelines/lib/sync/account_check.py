"""The one Brightpearl call every sync run starts with, so a wrong credential or datacentre fails the run once.

Every extraction asset depends on `brightpearl_account`: when this call fails, Dagster skips them all instead of
letting each step fail with the same error. The message names the variable to fix, like `make run`'s preflight.
"""

from __future__ import annotations

import time
from typing import Protocol

import dagster as dg

from bp_pipelines.lib.brightpearl import (
    BrightpearlAuthError,
    BrightpearlClient,
    BrightpearlConnectionError,
    BrightpearlError,
    BrightpearlMalformedResponseError,
    BrightpearlNotFoundError,
    BrightpearlRequestError,
)

# Cheap, authenticated, and present on every account (the same call as `make run`'s preflight).
ACCOUNT_CHECK_PATH = "warehouse-service/warehouse"


class AccountSource(Protocol):
    base_url: str
    account: str

    def get_client(self) -> BrightpearlClient: ...


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def account_failure(base_url: str, account: str, exc: BrightpearlError) -> dg.Failure:
    """The failure named after the setting to fix; only outages are worth Dagster's retries."""
    where = f"BRIGHTPEARL_BASE_URL={base_url}, BRIGHTPEARL_ACCOUNT={account}"
    retry = False
    if isinstance(exc, BrightpearlAuthError):
        text = (
            f"Brightpearl refused the credentials (HTTP 401) for {where}: check BRIGHTPEARL_APP_REF and "
            "BRIGHTPEARL_ACCOUNT_TOKEN (the private app's reference and its account token)."
        )
    elif isinstance(exc, BrightpearlConnectionError):
        text = f"cannot reach Brightpearl at BRIGHTPEARL_BASE_URL={base_url} ({_first_line(exc)}): check the URL."
        retry = True
    elif isinstance(exc, BrightpearlNotFoundError | BrightpearlMalformedResponseError):
        text = (
            f"{where} does not answer like a Brightpearl account ({_first_line(exc)}): check BRIGHTPEARL_ACCOUNT and "
            "BRIGHTPEARL_BASE_URL (your account's datacentre)."
        )
    elif isinstance(exc, BrightpearlRequestError) and exc.status == 403:
        text = f"Brightpearl denied access (HTTP 403) for {where}: check that the private app is installed on it."
    else:
        text = f"Brightpearl is not answering normally at {where} ({_first_line(exc)}): try again later."
        retry = True
    return dg.Failure(
        description=text + " The extraction steps of this run were skipped; nothing was written.",
        metadata={"error_class": type(exc).__name__, "status": exc.status if exc.status is not None else -1},
        allow_retries=retry,
    )


def materialize_account_check(brightpearl: AccountSource) -> dg.MaterializeResult:
    started = time.monotonic()
    try:
        with brightpearl.get_client() as client:
            warehouses = client.get(ACCOUNT_CHECK_PATH)
    except BrightpearlError as exc:
        raise account_failure(brightpearl.base_url, brightpearl.account, exc) from None
    return dg.MaterializeResult(
        metadata={
            "account": brightpearl.account,
            "datacentre": brightpearl.base_url,
            "warehouses": len(warehouses) if isinstance(warehouses, list | dict) else 0,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
        }
    )
