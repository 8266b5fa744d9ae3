"""Test-state endpoints under /_sandbox/storefront/... : no auth, no rate limit, not counted.

They render the same JSON as the API (V2 for orders/shipments, V3 for customers) so a test can
assert on what a client would see, without spending quota or touching request counters.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bp_sandbox.bigcommerce import customer_rules, inventory_items
from bp_sandbox.bigcommerce import order_format as fmt
from bp_sandbox.bigcommerce.gateway import Ctx, credentials
from bp_sandbox.bigcommerce.shipment_rules import shipment_json
from bp_sandbox.bigcommerce.shipments import SELECT as SHIPMENT_SELECT
from bp_sandbox.state import Store


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def routes(store: Store) -> list[Route]:
    def ctx_for(request: Request) -> Ctx:
        return Ctx(store, request, "v2", credentials(store)[0])

    def shipments_of(order_id: int | None) -> list[dict[str, object]]:
        where, args = ("WHERE s.order_id = ? ", (order_id,)) if order_id is not None else ("", ())
        rows = store.query(SHIPMENT_SELECT + where + "ORDER BY s.id", args)
        bills = {
            int(r["id"]): r["billing_address_json"]
            for r in store.query(
                "SELECT id, billing_address_json FROM bc_orders WHERE id IN (SELECT order_id FROM bc_shipments)"
            )
        }
        return [shipment_json(r, bills.get(int(r["order_id"]), "{}"), r["shipping_json"]) for r in rows]

    async def order(request: Request) -> Response:
        order_id = int(request.path_params["order_id"])
        row = store.query_one("SELECT * FROM bc_orders WHERE id = ?", (order_id,))
        if row is None:
            return _error(404, f"order {order_id} not found")
        ctx = ctx_for(request)
        addresses = store.query("SELECT * FROM bc_shipping_addresses WHERE order_id = ? ORDER BY id", (order_id,))
        products = store.query("SELECT * FROM bc_order_products WHERE order_id = ? ORDER BY id", (order_id,))
        return JSONResponse(
            {
                "order": fmt.order_json(ctx, row, len(addresses)),
                "products": [fmt.order_product_json(p) for p in products],
                "shipping_addresses": [fmt.shipping_address_json(ctx, a) for a in addresses],
                "shipments": shipments_of(order_id),
            }
        )

    async def shipments(request: Request) -> Response:
        raw = request.query_params.get("order_id")
        if raw is not None and not raw.isdigit():
            return _error(400, "order_id must be an integer")
        return JSONResponse(shipments_of(int(raw) if raw is not None else None))

    async def customers(request: Request) -> Response:
        email = request.query_params.get("email")
        where, args = ("WHERE lower(c.email) = lower(?) ", (email,)) if email else ("", ())
        rows = store.query(
            "SELECT c.*, x.extras_json FROM bc_customers c LEFT JOIN bc_customer_extras x "
            "ON x.customer_id = c.id " + where + "ORDER BY c.id",
            args,
        )
        include = set(customer_rules.INCLUDES)
        return JSONResponse([customer_rules.customer_json(r, r["extras_json"], include) for r in rows])

    async def inventory(request: Request) -> Response:
        sku = request.query_params.get("sku")
        if not sku:
            return _error(400, "sku is required")
        variant = store.query_one("SELECT * FROM bc_variants WHERE sku = ? ORDER BY id LIMIT 1", (sku,))
        product_id = variant["product_id"] if variant else None
        product = store.query_one(
            "SELECT * FROM bc_products WHERE id = ? OR (? IS NULL AND sku = ?) ORDER BY id LIMIT 1",
            (product_id, product_id, sku),
        )
        if product is None:
            return _error(404, f"sku {sku} not found")
        key = int(variant["id"]) if variant else inventory_items.base_key(store, product)
        levels = inventory_items.stock(store, [key] if key is not None else [])
        return JSONResponse(
            {
                "sku": sku,
                "product_id": int(product["id"]),
                "variant_id": key,
                "inventory_tracking": product["inventory_tracking"],
                "product_inventory_level": int(product["inventory_level"]),
                "variant_inventory_level": int(variant["inventory_level"]) if variant else None,
                "locations": [{"location_id": loc, "quantity": qty} for (loc, _), qty in sorted(levels.items())],
            }
        )

    prefix = "/_sandbox/storefront"
    return [
        Route(prefix + "/orders/{order_id:int}", order),
        Route(prefix + "/shipments", shipments),
        Route(prefix + "/customers", customers),
        Route(prefix + "/inventory", inventory),
    ]
