"""`BrightpearlResource` in Dagster: configuration checks, secret-safe reprs and events, one client per context."""

# No `from __future__ import annotations`: Dagster resolves the asset parameters' annotations at definition time.
from collections.abc import Iterator

import dagster as dg
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bp_pipelines.lib.brightpearl import BrightpearlAuthError, BrightpearlClient
from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.settings import ConfigError

from .cassette_server import LoopbackServer

TOKEN = "resource-Secret+/Token=="


async def _api(request: Request) -> JSONResponse:
    headers = {"brightpearl-requests-remaining": "190", "brightpearl-next-throttle-period": "40000"}
    if request.headers.get("brightpearl-account-token") != TOKEN:
        body = {"response": f"Invalid instance token: {request.headers.get('brightpearl-account-token')}"}
        return JSONResponse(body, status_code=401, headers=headers)
    assert request.headers["brightpearl-app-ref"] == "acme_app"
    return JSONResponse({"response": [{"id": 1, "name": request.path_params["path"]}]}, headers=headers)


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(Starlette(routes=[Route("/public-api/acme/{path:path}", _api)])) as running:
        yield running


def make_resource(base_url: str, token: str = TOKEN, **kwargs: object) -> BrightpearlResource:
    return BrightpearlResource(base_url=base_url, account="acme", app_ref="acme_app", account_token=token, **kwargs)


def test_repr_and_str_hide_the_token() -> None:
    resource = make_resource("https://euw1.brightpearlconnect.com")
    assert TOKEN not in repr(resource) and TOKEN not in str(resource)
    assert "euw1.brightpearlconnect.com" in repr(resource)
    with resource.get_client() as bp:
        assert TOKEN not in repr(bp)


@pytest.mark.parametrize(
    "url", ["http://euw1.brightpearlconnect.com", "ftp://127.0.0.1", "http://10.0.0.5:8080", "https://"]
)
def test_base_url_must_be_https_or_loopback_http(url: str) -> None:
    with pytest.raises((ConfigError, ValueError), match="BRIGHTPEARL_BASE_URL"):
        make_resource(url)


def test_base_url_from_env_var_is_checked_when_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_BP_URL", "http://example.com")
    monkeypatch.setenv("TEST_BP_TOKEN", TOKEN)
    resource = BrightpearlResource(
        base_url=dg.EnvVar("TEST_BP_URL"), account="acme", app_ref="acme_app", account_token=dg.EnvVar("TEST_BP_TOKEN")
    )

    @dg.asset
    def probe(bp: BrightpearlResource) -> None:
        bp.get_client()

    # The name passes construction; Dagster re-validates with the resolved value when it initialises the resource.
    result = dg.materialize([probe], resources={"bp": resource}, raise_on_error=False)
    assert not result.success
    assert any("BRIGHTPEARL_BASE_URL='http://example.com' is not allowed" in str(e) for e in result.all_events)


def test_settings_validation() -> None:
    with pytest.raises(ValueError):
        make_resource("https://euw1.brightpearlconnect.com", max_attempts=0)
    with pytest.raises(ValueError):
        make_resource("https://euw1.brightpearlconnect.com", reserve_requests=200)
    resource = make_resource("http://127.0.0.1:1", max_attempts=2, backoff_base_seconds=0.5)
    policy = resource.retry_policy()
    assert (policy.max_attempts, policy.backoff_base_seconds, policy.max_throttle_waits) == (2, 0.5, 10)


def test_each_get_client_has_its_own_http_client_and_shares_the_governor(server: LoopbackServer) -> None:
    resource = make_resource(server.url)
    with resource.get_client() as first, resource.get_client() as second:
        assert isinstance(first, BrightpearlClient)
        assert first._http is not second._http and first._governor is second._governor
        assert first.get("product-service/brand/") == [{"id": 1, "name": "product-service/brand/"}]
        assert second._governor.snapshot()[0] == 190  # learnt from first's response
    assert first._http.is_closed and second._http.is_closed


def test_asset_run_with_env_var_token_keeps_it_out_of_events_and_metadata(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIGHTPEARL_ACCOUNT_TOKEN", TOKEN)
    resource = BrightpearlResource(
        base_url=server.url, account="acme", app_ref="acme_app", account_token=dg.EnvVar("BRIGHTPEARL_ACCOUNT_TOKEN")
    )

    @dg.asset
    def warehouses(context: dg.AssetExecutionContext, bp: BrightpearlResource) -> dg.MaterializeResult:
        with bp.get_client() as client:
            rows = client.get("warehouse-service/warehouse/")
            context.log.info(f"client {client!r} resource {bp!r}")
        return dg.MaterializeResult(metadata={"rows": len(rows), **client.stats.as_metadata()})

    result = dg.materialize([warehouses], resources={"bp": resource})
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["bp_calls"].value == 1
    assert metadata["bp_calls_by_endpoint"].value == {"GET warehouse-service/warehouse": 1}
    for event in result.all_events:
        assert TOKEN not in str(event)


def test_failed_asset_run_does_not_leak_an_echoed_token(server: LoopbackServer) -> None:
    wrong = "wrong-Token=="
    resource = make_resource(server.url, token=wrong)

    @dg.asset
    def products(bp: BrightpearlResource) -> None:
        with bp.get_client() as client:
            client.get("product-service/product/1")

    result = dg.materialize([products], resources={"bp": resource}, raise_on_error=False)
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error.cause.cls_name == BrightpearlAuthError.__name__
    assert "Invalid instance token: ***" in error.cause.message
    for event in result.all_events:
        assert wrong not in str(event)
