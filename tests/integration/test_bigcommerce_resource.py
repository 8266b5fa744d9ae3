"""`BigCommerceResource` in Dagster: configuration checks, and the access token kept out of reprs, exceptions,
logs, events and metadata, also when a server echoes it back."""

# No `from __future__ import annotations`: Dagster resolves the asset parameters' annotations at definition time.
import logging
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bp_pipelines.lib.bigcommerce import (
    BigCommerceAuthError,
    BigCommerceClient,
    BigCommerceValidationError,
)
from bp_pipelines.resources.bigcommerce import BigCommerceResource
from bp_pipelines.settings import ConfigError

from .cassette_server import ALL_METHODS, LoopbackServer

ECHO_TOKEN = "echo-Secret+/Token=="


async def _echo(request: Request) -> JSONResponse:
    """A server that quotes the token back in its errors (the worst case for a leak)."""
    sent = request.headers.get("x-auth-token", "")
    if sent != ECHO_TOKEN:
        return JSONResponse([{"status": 401, "message": f"Token {sent} is not valid"}], status_code=401)
    body = {"status": 422, "title": f"Bad record for {sent}", "errors": {"0.email": f"{sent} is not an email"}}
    return JSONResponse(body, status_code=422)


@pytest.fixture(scope="module")
def echo_server() -> Iterator[LoopbackServer]:
    with LoopbackServer(Starlette(routes=[Route("/stores/{rest:path}", _echo, methods=ALL_METHODS)])) as running:
        yield running


@pytest.fixture(scope="module")
def sbx(module_sandbox: Callable[..., Any]) -> Any:
    return module_sandbox(seed=42, orders=300, rate_window_scale=0.01)


def test_repr_and_str_hide_the_token() -> None:
    resource = BigCommerceResource(store_hash="abc123", access_token=ECHO_TOKEN)
    assert ECHO_TOKEN not in repr(resource) and ECHO_TOKEN not in str(resource)
    assert "abc123" in repr(resource) and resource.base_url == "https://api.bigcommerce.com"
    with resource.get_client() as bc:
        assert ECHO_TOKEN not in repr(bc)


@pytest.mark.parametrize("url", ["http://api.bigcommerce.com", "ftp://127.0.0.1", "http://10.0.0.5:8080"])
def test_base_url_must_be_https_or_loopback_http(url: str) -> None:
    with pytest.raises((ConfigError, ValueError), match="BIGCOMMERCE_BASE_URL"):
        BigCommerceResource(base_url=url, store_hash="abc", access_token="t")


def test_empty_credentials_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="BIGCOMMERCE_ACCESS_TOKEN is empty"):
        BigCommerceResource(store_hash="abc", access_token=" ").get_client()
    with pytest.raises(ConfigError, match="BIGCOMMERCE_STORE_HASH is empty"):
        BigCommerceResource(store_hash="", access_token="t").get_client()


def test_settings_reach_the_client() -> None:
    resource = BigCommerceResource(
        base_url="http://127.0.0.1:1", store_hash="abc", access_token="t", max_attempts=2, backoff_base_seconds=0.5
    )
    with resource.get_client() as first, resource.get_client() as second:
        assert isinstance(first, BigCommerceClient) and first.pacer is second.pacer
        assert first._http is not second._http
        assert (first._retry.max_attempts, first._retry.backoff_base_seconds) == (2, 0.5)
    assert first._http.is_closed and second._http.is_closed


def test_echoed_token_is_scrubbed_from_errors_and_logs(
    echo_server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Token+/=="
    refused = BigCommerceResource(base_url=echo_server.url, store_hash="s1", access_token=wrong)
    with refused.get_client() as bc, pytest.raises(BigCommerceAuthError) as auth:
        bc.get("v2/orders/1")
    accepted = BigCommerceResource(base_url=echo_server.url, store_hash="s1", access_token=ECHO_TOKEN)
    with accepted.get_client() as bc, pytest.raises(BigCommerceValidationError) as invalid:
        bc.post("v3/customers", [{"email": "x"}])
    assert "Token *** is not valid" in str(auth.value) and wrong not in str(auth.value)
    assert "Bad record for ***" in str(invalid.value) and invalid.value.title == "Bad record for ***"
    assert invalid.value.errors == {"0.email": "*** is not an email"} and invalid.value.body["status"] == 422
    for text in (str(invalid.value), invalid.value.title, str(invalid.value.body), caplog.text):
        assert ECHO_TOKEN not in text and wrong not in text


def test_asset_runs_keep_the_token_out_of_events_logs_and_metadata(sbx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    token = sbx.bigcommerce_access_token
    monkeypatch.setenv("BIGCOMMERCE_ACCESS_TOKEN", token)
    monkeypatch.setenv("BIGCOMMERCE_STORE_HASH", sbx.bigcommerce_store_hash)
    resource = BigCommerceResource(
        base_url=sbx.bigcommerce_base_url,
        store_hash=dg.EnvVar("BIGCOMMERCE_STORE_HASH"),
        access_token=dg.EnvVar("BIGCOMMERCE_ACCESS_TOKEN"),
    )

    @dg.asset
    def storefront_statuses(context: dg.AssetExecutionContext, bc: BigCommerceResource) -> dg.MaterializeResult:
        with bc.get_client() as client:
            statuses = client.order_statuses()
            context.log.info(f"client {client!r} resource {bc!r}")
        return dg.MaterializeResult(metadata={"statuses": len(statuses), **client.stats.as_metadata()})

    @dg.asset
    def bad_customer(bc: BigCommerceResource) -> None:
        with bc.get_client() as client:
            client.post("v3/customers", [{"email": "no-names@example.com"}])  # 422: names are required

    ok = dg.materialize([storefront_statuses], resources={"bc": resource})
    metadata = ok.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["statuses"].value == 15 and metadata["bc_requests"].value == 1
    failed = dg.materialize([bad_customer], resources={"bc": resource}, raise_on_error=False)
    error = failed.get_step_failure_events()[0].step_failure_data.error
    assert error.cause.cls_name == BigCommerceValidationError.__name__ and "HTTP 422" in error.cause.message
    for event in [*ok.all_events, *failed.all_events]:
        assert token not in str(event)

    monkeypatch.setenv("BIGCOMMERCE_ACCESS_TOKEN", "a-Wrong-token-value")
    refused = dg.materialize([storefront_statuses], resources={"bc": resource}, raise_on_error=False)
    error = refused.get_step_failure_events()[0].step_failure_data.error
    assert error.cause.cls_name == BigCommerceAuthError.__name__ and "BIGCOMMERCE_ACCESS_TOKEN" in error.cause.message
    for event in refused.all_events:
        assert "a-Wrong-token-value" not in str(event)
