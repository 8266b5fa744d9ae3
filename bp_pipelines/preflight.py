"""Preflight for `make run`: the Brightpearl settings checked as a group, then one cheap authenticated call.

A wrong token, an unknown account, a wrong datacentre URL or an unreachable host ends `make run` with one or two
lines naming the variable to fix, before Dagster starts a run (and before any step fails with the same cause).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bp_pipelines import settings
from bp_pipelines.lib.brightpearl import (
    BrightpearlAuthError,
    BrightpearlConnectionError,
    BrightpearlError,
    BrightpearlMalformedResponseError,
    BrightpearlNotFoundError,
    BrightpearlRequestError,
)
from bp_pipelines.lib.warehouse import source
from bp_pipelines.resources.brightpearl import BrightpearlResource

# The Brightpearl private-app variables work only together.
BRIGHTPEARL_REQUIRED = settings.BRIGHTPEARL_GROUP
# Small, always present and readable by any private app.
PREFLIGHT_PATH = "warehouse-service/warehouse"


class PreflightFailure(Exception):
    """The one line `make run` prints before exiting non-zero."""


def check_brightpearl_variables() -> None:
    """The credential groups (`settings.check_credential_groups`): each all set or all unset, URLs allowed."""
    try:
        settings.check_credential_groups()
    except settings.ConfigError as exc:
        raise PreflightFailure(str(exc)) from None


def check_warehouse_source(env: Mapping[str, str] | None = None) -> None:
    """Before any call: the warehouse file must hold the Brightpearl account (and storefront) `env` points at."""
    env = os.environ if env is None else env
    path = settings.warehouse_path()
    targets = [
        source.brightpearl_identity(
            env.get("BRIGHTPEARL_BASE_URL") or settings.DEFAULT_BRIGHTPEARL_BASE_URL, env.get("BRIGHTPEARL_ACCOUNT", "")
        )
    ]
    if env.get("BIGCOMMERCE_STORE_HASH"):
        targets.append(
            source.storefront_identity(
                env.get("BIGCOMMERCE_BASE_URL") or settings.DEFAULT_BIGCOMMERCE_BASE_URL, env["BIGCOMMERCE_STORE_HASH"]
            )
        )
    try:
        for identity in targets:
            source.check_file(path, identity.kind, identity)
    except source.SourceMismatchError as exc:
        raise PreflightFailure(str(exc)) from None


def check_brightpearl_access() -> None:
    """One authenticated GET; translates what can go wrong into the variable to fix."""
    base_url = os.environ.get("BRIGHTPEARL_BASE_URL") or settings.DEFAULT_BRIGHTPEARL_BASE_URL
    account = os.environ["BRIGHTPEARL_ACCOUNT"]
    resource = BrightpearlResource(
        base_url=base_url,
        account=account,
        app_ref=os.environ["BRIGHTPEARL_APP_REF"],
        account_token=os.environ["BRIGHTPEARL_ACCOUNT_TOKEN"],
        timeout_seconds=15,
        max_attempts=2,
        max_throttle_waits=3,
        backoff_base_seconds=0.5,
        backoff_max_seconds=2,
    )
    where = f"BRIGHTPEARL_BASE_URL={base_url}, BRIGHTPEARL_ACCOUNT={account}"
    try:
        with resource.get_client() as client:
            client.get(PREFLIGHT_PATH)
    except BrightpearlAuthError as exc:
        # Brightpearl's own words tell a wrong account ("Account 'x' does not have API access") from a wrong or
        # expired token; they come scrubbed of the token (the client's errors never carry it).
        said = f": {' '.join(exc.bp_message.split())[:160]}" if exc.bp_message else ""
        raise PreflightFailure(
            f"Brightpearl refused the credentials (HTTP 401{said}) for {where}: check BRIGHTPEARL_ACCOUNT (the "
            "account code), BRIGHTPEARL_APP_REF and BRIGHTPEARL_ACCOUNT_TOKEN (the private app's reference and its "
            "account token)."
        ) from None
    except BrightpearlConnectionError as exc:
        raise PreflightFailure(
            f"cannot reach Brightpearl at BRIGHTPEARL_BASE_URL={base_url} ({_first_line(exc)}): check the "
            "datacentre URL (e.g. https://euw1.brightpearlconnect.com) and the network."
        ) from None
    except (BrightpearlNotFoundError, BrightpearlMalformedResponseError) as exc:
        raise PreflightFailure(
            f"{where} does not answer like a Brightpearl account ({_first_line(exc)}): check BRIGHTPEARL_ACCOUNT "
            "(the account code) and BRIGHTPEARL_BASE_URL (your account's datacentre)."
        ) from None
    except BrightpearlRequestError as exc:
        if exc.status == 403:
            raise PreflightFailure(
                f"Brightpearl denied access (HTTP 403) for {where}: check BRIGHTPEARL_ACCOUNT and that the private "
                "app is installed on that account with access to warehouse, order, product and contact data."
            ) from None
        raise PreflightFailure(f"Brightpearl refused the preflight call for {where}: {_first_line(exc)}") from None
    except BrightpearlError as exc:
        raise PreflightFailure(
            f"Brightpearl is not answering normally at {where} ({_first_line(exc)}): try again later."
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
