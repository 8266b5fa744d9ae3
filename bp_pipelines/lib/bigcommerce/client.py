"""`BigCommerceClient`: authenticated V2/V3 requests with header-driven pacing, retries and paging."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx

from ..tls import ssl_context
from .errors import BigCommerceAuthError, BigCommerceMalformedResponse, BigCommerceNotFound, scrub
from .pacing import RatePacer
from .paging import V2_LIMIT_MAX, V3_LIMIT_MAX, PagingError, v2_pages, v3_pages
from .policy import Attempts, RetryPolicy
from .responses import check_response, transport_error
from .stats import ClientStats, endpoint_template
from .wire import Params, api_url, api_version, encode_body, encode_query

logger = logging.getLogger("bp_pipelines.bigcommerce")

DEFAULT_BASE_URL = "https://api.bigcommerce.com"


class BigCommerceClient:
    """One store, one `httpx.Client`. Use as a context manager (`with resource.get_client() as bc:`).

    Paths are relative to the store: `"v2/orders/123"`, `"v3/catalog/products"`. Thread-safe: the connection pool,
    the stats and the pacer are shared safely between threads."""

    def __init__(
        self,
        base_url: str,
        store_hash: str,
        access_token: str,
        *,
        timeout: float = 30,
        max_attempts: int = 5,
        retry: RetryPolicy | None = None,
        pacer: RatePacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.store_hash = store_hash
        self.stats = ClientStats()
        self.pacer = pacer or RatePacer()
        self._retry = retry or RetryPolicy(max_attempts=max_attempts)
        self._secrets = (access_token,)
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=ssl_context(),
            headers={
                "x-auth-token": access_token,
                "accept": "application/json",
                "user-agent": f"bp_pipelines httpx/{httpx.__version__}",
            },
        )

    def __repr__(self) -> str:
        return f"BigCommerceClient(base_url={self.base_url!r}, store_hash={self.store_hash!r})"

    def __enter__(self) -> BigCommerceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- plain verbs ----------------------------------------------------------------------------------------------

    def get(self, path: str, params: Params | None = None) -> Any:
        """The decoded body; `None` for 204 (an empty V2 list). 404 raises `BigCommerceNotFound`."""
        return self.request("GET", path, params=params)

    def put(self, path: str, json: Any) -> Any:
        """PUT is idempotent (a status, an absolute stock level): re-sent after 5xx/timeouts."""
        return self.request("PUT", path, json=json)

    def post(self, path: str, json: Any) -> Any:
        """POST is re-sent only after a 429 or when nothing was sent; a timeout/5xx/dropped connection raises
        `BigCommerceAmbiguousWrite` (read back before re-sending)."""
        return self.request("POST", path, json=json)

    def delete(self, path: str, params: Params | None = None) -> None:
        self.request("DELETE", path, params=params)

    def request(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> Any:
        """Send one logical request (retried per the policy) and return the decoded body, or None when empty."""
        method, path = method.upper(), path.strip("/")
        query = encode_query(params, api_version(path))
        url = api_url(self.base_url, self.store_hash, path) + (f"?{query}" if query else "")
        content = None if json is None else encode_body(json)
        attempts = Attempts(method=method, path=path)
        send = partial(self._attempt, attempts, url, content)
        return self._retry.run(send, attempts, stats=self.stats, sleep=self._sleep)

    def _attempt(self, attempts: Attempts, url: str, content: bytes | None) -> Any:
        attempts.number += 1
        self.stats.record_wait(self.pacer.acquire())
        endpoint = endpoint_template(attempts.method, attempts.path)
        self.stats.record_request(endpoint)
        headers = {"content-type": "application/json"} if content is not None else None
        try:
            response = self._http.request(attempts.method, url, content=content, headers=headers)
        except httpx.TransportError as exc:
            self.pacer.cancel()
            raise transport_error(exc, attempts, self._retry, self._secrets) from exc
        logger.debug(
            "BigCommerce %s -> HTTP %s (left %s)",
            endpoint,
            response.status_code,
            response.headers.get("x-rate-limit-requests-left"),
        )
        return check_response(response, attempts, self._retry, self.pacer, self.stats, self._secrets)

    # --- paging ---------------------------------------------------------------------------------------------------

    def paginate(self, path: str, params: Params | None = None, *, limit: int | None = None) -> Iterator[dict]:
        """Every item of a V2 list (bare arrays, `page`/`limit`, ends on 204 or a short page) or a V3 list
        (`data` + `meta.pagination`), page by page to the end."""
        version = api_version(path)
        given = (params or {}).get("limit")
        limit = (
            limit
            or (int(given) if isinstance(given, int | str) else 0)
            or (V2_LIMIT_MAX if version == "v2" else V3_LIMIT_MAX)
        )
        pages = v2_pages if version == "v2" else v3_pages
        try:
            for page in pages(partial(self.get, path), params, limit):
                yield from page
        except PagingError as exc:
            message = scrub(f"BigCommerce GET {path} returned a malformed list: {exc}", self._secrets)
            raise BigCommerceMalformedResponse(message, method="GET", path=path) from None

    # --- typed helpers (Orders V2) --------------------------------------------------------------------------------

    def get_order(self, order_id: int) -> dict | None:
        """The order, or None when BigCommerce has no such order (404; archived orders vanish too)."""
        try:
            return self.get(f"v2/orders/{int(order_id)}")
        except BigCommerceNotFound:
            return None

    def list_orders(self, **filters: Any) -> Iterator[dict]:
        """`GET v2/orders` to the end. Filters as documented (`min_date_modified=<datetime>`, `status_id=11`,
        `channel_id`, `sort="date_modified:asc"`, ...); datetimes are sent as RFC-2822."""
        return self.paginate("v2/orders", filters)

    def count_orders(self, **filters: Any) -> int:
        body = self.get("v2/orders/count", filters)
        return int(body.get("count", 0)) if isinstance(body, dict) else 0

    def order_products(self, order_id: int) -> list[dict]:
        """Every line of the order (lines page at 50 by default, so they are paged)."""
        return list(self.paginate(f"v2/orders/{int(order_id)}/products"))

    def order_shipping_addresses(self, order_id: int) -> list[dict]:
        return list(self.paginate(f"v2/orders/{int(order_id)}/shipping_addresses"))

    def order_shipments(self, order_id: int) -> list[dict]:
        """The order's shipments; `[]` when there are none (BigCommerce answers 204)."""
        return list(self.paginate(f"v2/orders/{int(order_id)}/shipments"))

    def create_shipment(self, order_id: int, payload: dict) -> dict:
        """POST a shipment (`order_address_id`, `items[{order_product_id, quantity}]`, tracking fields).
        Never re-sent after a timeout/5xx: `BigCommerceAmbiguousWrite` asks the caller to re-read the shipments."""
        return self.post(f"v2/orders/{int(order_id)}/shipments", payload)

    def update_order_status(self, order_id: int, status_id: int) -> dict:
        """PUT `{"status_id": N}` (idempotent, so retried); returns the updated order."""
        return self.put(f"v2/orders/{int(order_id)}", {"status_id": int(status_id)})

    def order_statuses(self) -> list[dict]:
        """The store's statuses `{id, name, system_label, custom_label, ...}`; match on `id`, labels are renamable."""
        return list(self.get("v2/order_statuses") or [])

    # --- preflight ------------------------------------------------------------------------------------------------

    def check_credentials(self) -> None:
        """One cheap authenticated call (`GET v2/order_statuses`, Orders scope). Raises `BigCommerceAuthError`
        naming the setting to fix; an unknown store hash answers 404 and is reported the same way."""
        try:
            self.get("v2/order_statuses")
        except BigCommerceNotFound as exc:
            raise BigCommerceAuthError(
                f"BigCommerce store {self.store_hash!r} was not found at {self.base_url} (HTTP 404). "
                "Check BIGCOMMERCE_STORE_HASH and BIGCOMMERCE_BASE_URL.",
                method=exc.method,
                path=exc.path,
                status=404,
            ) from None
