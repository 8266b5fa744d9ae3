"""BigCommerce emulator: one Starlette app serving `/stores/{store_hash}/v2|v3/...` and the
unauthenticated test-state endpoints under `/_sandbox/storefront/...`.

The sandbox server mounts it through `create_app(store)`; nothing here imports the pipeline.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bp_sandbox.bigcommerce import (
    catalog,
    customer_groups,
    customers,
    inventory,
    orders,
    shipments,
    statuses,
    storefront,
)
from bp_sandbox.bigcommerce.gateway import Gateway
from bp_sandbox.bigcommerce.ratelimit import RateLimiter
from bp_sandbox.state import Store


def api_routes(gateway: Gateway) -> list[BaseRoute]:
    """All authenticated API routes, most specific first, then the counted 404 fallback."""
    routes: list[BaseRoute] = []
    routes += orders.routes(gateway)
    routes += shipments.routes(gateway)
    routes += [
        gateway.route("/v2/order_statuses", GET=statuses.list_statuses),
        gateway.route("/v2/order_statuses/{status_id:int}", GET=statuses.get_status),
    ]
    routes += customer_groups.routes(gateway)
    routes += catalog.routes(gateway)
    routes += inventory.routes(gateway)
    routes += customers.routes(gateway)
    routes.append(gateway.fallback())
    return routes


def create_app(store: Store) -> Starlette:
    """The emulator app. `app.state.rate_limiter` exposes the limiter (e.g. to reset it between tests)."""
    limiter = RateLimiter()
    gateway = Gateway(store, limiter)
    app = Starlette(routes=[*storefront.routes(store), *api_routes(gateway)])
    app.state.store = store
    app.state.rate_limiter = limiter
    return app
