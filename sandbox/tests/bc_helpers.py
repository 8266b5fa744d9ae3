"""A small hand-made BigCommerce world and a loopback uvicorn server for the emulator tests.

Kept independent of the data generator so the emulator can be tested on rows whose values we know.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from bp_sandbox.bigcommerce.app import create_app
from bp_sandbox.state import Store
from bp_sandbox.testing import http_client

STORE_HASH = "teststore"
TOKEN = "test-token-123"
CLOCK = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
CLOCK_MS = int(CLOCK.timestamp() * 1000)
BASE_MS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)  # order n created BASE + n minutes
MINUTE_MS = 60_000
ORDER_COUNT = 260
INCOMPLETE_ORDER = 5  # status 0
BILLING = {
    "first_name": "Ann",
    "last_name": "Lee",
    "company": "",
    "street_1": "1 Main St",
    "street_2": "",
    "city": "Austin",
    "state": "Texas",
    "zip": "78701",
    "country": "United States",
    "country_iso2": "US",
    "phone": "555",
    "email": "Ann@Example.com",
}


def _names(text: str) -> set[str]:
    return set(text.split())


# Property names of the official schemas (bigcommerce/docs @ 24f580ca, reference/*.yml), allOf merged.
SPEC_ORDER = _names(
    "id date_modified date_shipped cart_id status subtotal_tax shipping_cost_tax "
    "shipping_cost_tax_class_id handling_cost_tax handling_cost_tax_class_id wrapping_cost_tax "
    "wrapping_cost_tax_class_id payment_status store_credit_amount gift_certificate_amount currency_id "
    "currency_code currency_exchange_rate default_currency_id default_currency_code "
    "store_default_currency_code store_default_to_transactional_exchange_rate coupon_discount "
    "shipping_address_count is_deleted total_tax is_tax_inclusive_pricing is_email_opt_in order_source "
    "consignments products shipping_addresses coupons status_id billing_address fees base_handling_cost "
    "base_shipping_cost base_wrapping_cost channel_id customer_id customer_message date_created "
    "discount_amount ebay_order_id external_id external_merchant_id external_source geoip_country "
    "geoip_country_iso2 handling_cost_ex_tax handling_cost_inc_tax ip_address ip_address_v6 items_shipped "
    "items_total order_is_digital payment_method payment_provider_id refunded_amount shipping_cost_ex_tax "
    "shipping_cost_inc_tax staff_notes subtotal_ex_tax subtotal_inc_tax tax_provider_id customer_locale "
    "external_order_id total_ex_tax total_inc_tax wrapping_cost_ex_tax wrapping_cost_inc_tax"
)
SPEC_ORDER_EXAMPLE_ONLY = {"custom_status", "credit_card_type"}  # in the spec's examples, not its schema
SPEC_ORDER_PRODUCT = _names(
    "id order_id product_id order_pickup_method_id order_address_id name sku type base_price price_ex_tax "
    "price_inc_tax price_tax base_total total_ex_tax total_inc_tax total_tax quantity base_cost_price "
    "cost_price_inc_tax cost_price_ex_tax weight width height depth cost_price_tax is_refunded "
    "quantity_refunded refund_amount return_id wrapping_id wrapping_name base_wrapping_cost "
    "wrapping_cost_ex_tax wrapping_cost_inc_tax wrapping_cost_tax wrapping_message quantity_shipped "
    "event_name event_date fixed_shipping_cost ebay_item_id ebay_transaction_id option_set_id "
    "parent_order_product_id is_bundled_product bin_picking_number external_id brand applied_discounts "
    "product_options configurable_fields upc variant_id name_customer name_merchant gift_certificate_id "
    "discounted_total_inc_tax"
)
SPEC_SHIPMENT = _names(
    "id order_id customer_id order_address_id date_created tracking_number merchant_shipping_cost "
    "shipping_method shipping_provider tracking_carrier tracking_link comments billing_address "
    "shipping_address items shipping_provider_display_name generated_tracking_link"
)
SPEC_SHIPPING_ADDRESS = _names(
    "id order_id items_total items_shipped base_cost cost_ex_tax cost_inc_tax cost_tax cost_tax_class_id "
    "base_handling_cost handling_cost_ex_tax handling_cost_inc_tax handling_cost_tax "
    "handling_cost_tax_class_id shipping_zone_id shipping_zone_name form_fields shipping_quotes "
    "first_name last_name company street_1 street_2 city state zip country country_iso2 phone email "
    "shipping_method"
)
SPEC_CUSTOMER = _names(
    "email first_name last_name company phone registration_ip_address notes tax_exempt_category "
    "customer_group_id id date_modified date_created address_count attribute_count authentication "
    "addresses attributes form_fields store_credit_amounts accepts_product_review_abandoned_cart_emails "
    "origin_channel_id channel_ids"
)
SPEC_CUSTOMER_GROUP = _names(
    "id name is_default category_access discount_rules date_created date_modified is_group_for_guests"
)
SPEC_VARIANT = _names(
    "cost_price price sale_price retail_price map_price weight width height depth is_free_shipping "
    "fixed_cost_shipping_price purchasing_disabled purchasing_disabled_message image_url upc "
    "inventory_level inventory_warning_level bin_picking_number mpn gtin id product_id sku sku_id "
    "option_values calculated_price calculated_weight"
)
# product_Full minus the sub-resources only returned with `include` (images, options, custom_fields, ...).
SPEC_PRODUCT_BASE = _names(
    "id name type sku description weight width depth height price cost_price retail_price sale_price "
    "map_price tax_class_id product_tax_code categories brand_id inventory_level inventory_warning_level "
    "inventory_tracking fixed_cost_shipping_price is_free_shipping is_visible is_featured "
    "related_products warranty bin_picking_number layout_file upc search_keywords "
    "availability_description availability gift_wrapping_options_type gift_wrapping_options_list "
    "sort_order condition is_condition_shown order_quantity_minimum order_quantity_maximum page_title "
    "meta_keywords meta_description view_count preorder_release_date preorder_message is_preorder_only "
    "is_price_hidden price_hidden_label custom_url open_graph_type open_graph_title "
    "open_graph_description open_graph_use_meta_description open_graph_use_product_name "
    "open_graph_use_image gtin mpn reviews_rating_sum reviews_count total_sold date_created date_modified "
    "base_variant_id calculated_price option_set_id option_set_display"
)


def order_status(order_id: int) -> int:
    if order_id == INCOMPLETE_ORDER:
        return 0
    return 7 if order_id % 10 == 3 else 11


def seed(store: Store) -> None:
    """Orders 1..260 (order 1: two lines, qty 3 + 2; others one line of qty 1), 3 products, 2 locations,
    3 customers, 2 groups."""
    store.set_meta("bc_store_hash", STORE_HASH)
    store.set_meta("bc_access_token", TOKEN)
    store.set_meta("clock_ms", CLOCK_MS)
    with store.lock:
        c = store.conn
        c.executemany(
            "INSERT INTO bc_inventory_locations VALUES (?, ?, ?)",
            [(1, "BC-LOCATION-1", "Default location"), (2, "WH-2", "Warehouse 2")],
        )
        c.executemany(
            "INSERT INTO bc_products (id, name, sku, price, inventory_tracking, inventory_level, base_variant_id, "
            "date_created_ms, date_modified_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (101, "Plain Mug", "MUG-1", "12.5000", "product", 5, 201, BASE_MS, BASE_MS),
                (102, "T-Shirt", "TEE", "20.0000", "variant", 6, None, BASE_MS, BASE_MS + MINUTE_MS),
                (103, "Gift Card", "GIFT", "25.0000", "none", 0, 221, BASE_MS, BASE_MS + 2 * MINUTE_MS),
            ],
        )
        c.executemany(
            "INSERT INTO bc_variants (id, product_id, sku, price, inventory_level, option_values_json) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (201, 101, "MUG-1", None, 5, "[]"),
                (
                    211,
                    102,
                    "TEE-S",
                    None,
                    1,
                    json.dumps([{"id": 1, "label": "S", "option_id": 9, "option_display_name": "Size"}]),
                ),
                (212, 102, "TEE-M", "22.0000", 2, "[]"),
                (213, 102, "TEE-L", None, 3, "[]"),
                (221, 103, "GIFT", None, 0, "[]"),
            ],
        )
        c.executemany(
            "INSERT INTO bc_inventory VALUES (?, ?, ?)",
            [(1, 201, 5), (2, 201, 7), (1, 211, 1), (1, 212, 2), (1, 213, 3)],
        )
        c.executemany(
            "INSERT INTO bc_customer_groups (id, name, is_default) VALUES (?, ?, ?)",
            [(1, "Retail", 1), (2, "Wholesale", 0)],
        )
        c.executemany(
            "INSERT INTO bc_customers (id, email, first_name, last_name, company, customer_group_id, "
            "date_created_ms, date_modified_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (1, "ann@example.com", "Ann", "Lee", "", 1, BASE_MS, BASE_MS),
                (2, "Bob@Example.com", "Bob", "Ray", "Acme", 2, BASE_MS, BASE_MS + 10 * MINUTE_MS),
                (3, "cy@example.com", "Cy", "Oh", "Acme", 2, BASE_MS, BASE_MS + 20 * MINUTE_MS),
            ],
        )
        orders, addresses, lines = [], [], []
        for n in range(1, ORDER_COUNT + 1):
            created = BASE_MS + n * MINUTE_MS
            qty = 5 if n == 1 else 1
            orders.append(
                (
                    n,
                    1 if n % 2 else 0,
                    order_status(n),
                    "USD",
                    "10.0000",
                    "11.0000",
                    "1.0000",
                    "5.0000",
                    "5.5000",
                    "15.0000",
                    "16.5000",
                    "1.5000",
                    qty,
                    json.dumps(BILLING),
                    created,
                    created + 30_000,
                )
            )
            addresses.append((1000 + n, n, json.dumps(BILLING), "Flat Rate", qty))
            if n == 1:
                lines += [
                    (5001, 1, 101, 201, 1001, "Plain Mug", "MUG-1", 3),
                    (5002, 1, 102, 212, 1001, "T-Shirt", "TEE-M", 2),
                ]
            else:
                lines.append((5000 + 2 * n, n, 101, 201, 1000 + n, "Plain Mug", "MUG-1", 1))
        c.executemany(
            "INSERT INTO bc_orders (id, customer_id, status_id, currency_code, subtotal_ex_tax, subtotal_inc_tax, "
            "subtotal_tax, shipping_cost_ex_tax, shipping_cost_inc_tax, total_ex_tax, total_inc_tax, total_tax, "
            "items_total, billing_address_json, date_created_ms, date_modified_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            orders,
        )
        c.executemany(
            "INSERT INTO bc_shipping_addresses (id, order_id, address_json, shipping_method, items_total) "
            "VALUES (?, ?, ?, ?, ?)",
            addresses,
        )
        c.executemany(
            "INSERT INTO bc_order_products (id, order_id, product_id, variant_id, order_address_id, name, sku, "
            "quantity, base_price, price_ex_tax, price_inc_tax, price_tax, total_ex_tax, total_inc_tax, total_tax) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '2', '2', '2.2', '0.2', '2', '2.2', '0.2')",
            lines,
        )


@dataclass
class BC:
    """A running emulator: the store behind it, its base URL and an authenticated client."""

    store: Store
    app: Starlette
    root: str  # http://127.0.0.1:port
    client: httpx.Client  # base_url = root/stores/{hash}/

    def raw(self) -> httpx.Client:
        """A client with no auth headers, rooted at the server."""
        return http_client(base_url=self.root, timeout=10)

    def state(self, path: str, **params: str | int) -> httpx.Response:
        with self.raw() as client:
            return client.get(f"/_sandbox/storefront/{path}", params=params)


class AppSwitch:
    """An ASGI app that forwards to whichever emulator app is current, so one uvicorn server per
    test module can serve a fresh store to every test."""

    def __init__(self) -> None:
        self.app: Starlette | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "no emulator app installed"
        await self.app(scope, receive, send)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` with uvicorn on an ephemeral loopback port in a background thread."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Server:
    switch: AppSwitch
    root: str

    @contextmanager
    def emulator(self, db_path: Path) -> Iterator[BC]:
        """A freshly seeded store behind this server for the duration of one test."""
        store = Store(db_path)
        seed(store)
        app = create_app(store)
        self.switch.app = app
        with http_client(
            base_url=f"{self.root}/stores/{STORE_HASH}/",
            headers={"X-Auth-Token": TOKEN, "Accept": "application/json"},
            timeout=10,
        ) as client:
            yield BC(store, app, self.root, client)
        self.switch.app = None
        store.close()


@contextmanager
def loopback_server() -> Iterator[Server]:
    switch = AppSwitch()
    with serve(switch) as root:
        yield Server(switch, root)
