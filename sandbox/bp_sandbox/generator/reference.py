"""Static reference data of the generated Brightpearl account (same for every seed and scale)."""

from __future__ import annotations

import json
import sqlite3
from typing import Final

ACCOUNT: Final = "sandbox"
APP_REF: Final = "sandbox_bppipelines"
ACCOUNT_TOKEN: Final = "sbx-AccountToken-7Qm2xL9pV4dK8s"  # fixed sandbox credential, not a secret
BC_STORE_HASH: Final = "sbx0store"
BC_ACCESS_TOKEN: Final = "sbx-bc-access-token-3Jf8Wq1Z"
ACCOUNT_TIMEZONE: Final = "America/Chicago"
BC_INTEGRATION_INSTANCE_ID: Final = 7  # installedIntegrationInstanceId of the BigCommerce app
SYSTEM_USER_ID: Final = 4  # createdById / eventOwnerId of automated actions (as in the recordings)

WAREHOUSES: Final = (
    (
        1,
        "Chicago Main Warehouse",
        {
            "streetAddress": "2200 S Halsted St",
            "postcode": "60608",
            "city": "Chicago",
            "state": "IL",
            "countryIsoCode2": "US",
        },
    ),
    (
        2,
        "East Coast DC – Newark",
        {"streetAddress": "100 Port St", "postcode": "07114", "city": "Newark", "state": "NJ", "countryIsoCode2": "US"},
    ),
    (
        3,
        "West Coast 3PL – Reno",
        {
            "streetAddress": "55 Logistics Way",
            "postcode": "89502",
            "city": "Reno",
            "state": "NV",
            "countryIsoCode2": "US",
        },
    ),
)
# (id, name, channel_type_id, is_storefront, warehouse_id, price_list_id)
CHANNELS: Final = (
    (1, "Brightpearl", 1, 0, 1, 2),
    (2, "BigCommerce Storefront", 2, 1, 1, 2),
    (3, "Amazon US", 3, 0, 3, 2),
    (4, "Wholesale Direct", 1, 0, 1, 3),
)
STOREFRONT_CHANNEL_ID: Final = 2
PHONE_CHANNEL_ID: Final = 1
AMAZON_CHANNEL_ID: Final = 3
WHOLESALE_CHANNEL_ID: Final = 4

# (id, code, name, method_type, carrier, storefront name or None). The storefront names differ on purpose:
# connectors that map shipping methods by exact name break (see peers.md); docs/sandbox.md lists the pairs.
SHIPPING_METHODS: Final = (
    (1, "STD", "Standard Shipping", "STANDARD", "UPS", "Standard Shipping"),
    (2, "EXP", "Express Shipping", "EXPRESS", "UPS", "Express Shipping (2-3 days)"),
    (3, "NDA", "Next Day Air", "EXPRESS", "UPS", "UPS® Next Day Air"),
    (4, "USPS", "USPS Priority Mail", "STANDARD", "USPS", "USPS Priority Mail"),
    (5, "LTL", "Freight (LTL)", "FREIGHT", "FedEx Freight", None),
    (6, "PICK", "Customer Pickup", "COLLECTION", "", "Pickup In Store"),
    (7, "FREE", "Free Shipping", "STANDARD", "FedEx", "Free Shipping"),
)

# (id, name, order_type_code, sort_order, state, color, visible, disabled) — ids of the recorded defaults kept
# (3 New phone order, 4 Invoiced, 6 Pending PO, 10 Sales credit, 12 Purchase credit).
ORDER_STATUSES: Final = (
    (1, "Draft / Quote", "SO", 0, "draft", "#E7E6E4", 0, 0),
    (2, "Quote sent", "SO", 1, "draft", "#D9D2E9", 1, 0),
    (3, "New phone order", "SO", 2, "open", "#CFE2F3", 1, 0),
    (14, "New web order", "SO", 3, "open", "#9FC5E8", 1, 0),
    (15, "Awaiting payment", "SO", 4, "open", "#FFE599", 1, 0),
    (16, "Ready to ship", "SO", 5, "open", "#B6D7A8", 1, 0),
    (4, "Invoiced", "SO", 6, "invoiced", "#93C47D", 1, 0),
    (5, "Cancelled", "SO", 7, "cancelled", "#E06666", 1, 0),
    (17, "Legacy – do not use", "SO", 99, "open", "#999999", 0, 1),
    (6, "Pending PO", "PO", 0, "open", "#CFE2F3", 1, 0),
    (7, "Placed with supplier", "PO", 1, "open", "#FFE599", 1, 0),
    (8, "Goods received", "PO", 2, "completed", "#93C47D", 1, 0),
    (9, "Cancelled PO", "PO", 3, "cancelled", "#E06666", 1, 0),
    (10, "Sales credit", "SC", 0, "open", "#F4CCCC", 1, 0),
    (11, "Credit complete", "SC", 1, "completed", "#93C47D", 1, 0),
    (12, "Purchase credit", "PC", 0, "open", "#F4CCCC", 1, 0),
    (13, "Purchase credit complete", "PC", 1, "completed", "#93C47D", 1, 0),
)
DEFAULT_STATUS: Final = {"SO": 3, "PO": 6, "SC": 10, "PC": 12}  # as recorded for POST order-service/order
SO_CANCELLED_STATUS: Final = 5

PRICE_LISTS: Final = (
    (1, "COST", "Cost", "USD", "BUY"),
    (2, "RETAIL", "Retail", "USD", "SELL"),
    (3, "WHOLESALE", "Wholesale", "USD", "SELL"),
)
RETAIL_PRICE_LIST: Final = 2
WHOLESALE_PRICE_LIST: Final = 3
BRANDS: Final = (
    (1, "Generic Brand"),
    (2, "Maison Étoile"),
    (3, "Hikari 光"),
    (4, "Northwind"),
    (5, "Fjällkraft"),
    (6, "Casa Peña"),
    (7, "Blue Harbor"),
    (8, "Kōbō Works"),
)
PRODUCT_TYPES: Final = ((1, "Standard Product"), (2, "Bundle"), (3, "Service"))
CATEGORIES: Final = (
    (296, "Apparel"),
    (297, "Home & Kitchen"),
    (298, "Stationery"),
    (299, "Accessories"),
    (300, "Gifts"),
    (301, "New Arrivals"),
    (302, "Outdoor"),
    (303, "Tea & Coffee"),
)
# contact-service/tag: (id, name, colour)
CONTACT_TAGS: Final = ((9, "Storefront", "#3d85c6"), (16, "VIP", "#ff0000"), (23, "Wholesale", "#0000ff"))
# Storefront customer groups: (id, name, is_default)
BC_CUSTOMER_GROUPS: Final = ((1, "Retail", 1), (2, "Wholesale", 0), (3, "VIP", 0))
BC_LOCATION: Final = (1, "MAIN", "Main store location")

# Tax: (code, rate in basis points). B2B sales are resale-exempt ("N"), retail sales taxable ("T").
TAX_RETAIL: Final = ("T", 825)
TAX_EXEMPT: Final = ("N", 0)
TAX_CLASS_IDS: Final = {"T": 2, "N": 3, "Z": 1}


def insert_reference(conn: sqlite3.Connection) -> None:
    conn.executemany(
        "INSERT INTO warehouses VALUES (?,?,?)", [(i, n, json.dumps(a, ensure_ascii=False)) for i, n, a in WAREHOUSES]
    )
    conn.executemany("INSERT INTO channels VALUES (?,?,?,?,?,?)", CHANNELS)
    conn.executemany("INSERT INTO shipping_methods VALUES (?,?,?,?,?)", [m[:5] for m in SHIPPING_METHODS])
    conn.executemany("INSERT INTO order_statuses VALUES (?,?,?,?,?,?,?,?)", ORDER_STATUSES)
    conn.executemany("INSERT INTO price_lists VALUES (?,?,?,?,?)", PRICE_LISTS)
    conn.executemany("INSERT INTO brands VALUES (?,?)", BRANDS)
    conn.executemany("INSERT INTO product_types VALUES (?,?)", PRODUCT_TYPES)
    conn.executemany("INSERT INTO bc_customer_groups (id, name, is_default) VALUES (?,?,?)", BC_CUSTOMER_GROUPS)
    conn.execute("INSERT INTO bc_inventory_locations VALUES (?,?,?)", BC_LOCATION)


def base_meta(seed: int, orders: int, clock_ms: int) -> dict[str, object]:
    return {
        "seed": seed,
        "orders": orders,
        "clock_ms": clock_ms,
        "account_timezone": ACCOUNT_TIMEZONE,
        "account_offset_minutes": -360,
        "storefront_channel_id": STOREFRONT_CHANNEL_ID,
        "bc_store_hash": BC_STORE_HASH,
        "bc_access_token": BC_ACCESS_TOKEN,
        "bp_account": ACCOUNT,
        "bp_app_ref": APP_REF,
        "bp_account_token": ACCOUNT_TOKEN,
        "bc_integration_instance_id": BC_INTEGRATION_INSTANCE_ID,
        "changes_calls": 0,
        "changes_clock_ms": clock_ms,
    }
