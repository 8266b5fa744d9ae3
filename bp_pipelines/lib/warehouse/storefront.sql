-- The BigCommerce storefront as extracted (schema `storefront`), and what the stock push found there.
-- CONTRACT for analysts (docs/warehouse.md "Storefront extraction"): add columns, never rename.
-- Idempotent DDL, executed with schema.sql. One row per key, upserted; dates are TIMESTAMPTZ in UTC (V2 RFC-2822
-- and V3 ISO-8601 parsed), money DECIMAL(18,4) (never through float). _synced_at = when the row last changed here.

CREATE SCHEMA IF NOT EXISTS storefront;

CREATE TABLE IF NOT EXISTS storefront.orders (
    order_id            BIGINT PRIMARY KEY,
    customer_id         BIGINT,               -- 0 = guest
    status_id           INTEGER,
    status              VARCHAR,
    channel_id          BIGINT,
    external_id         VARCHAR,
    date_created        TIMESTAMPTZ,
    date_modified       TIMESTAMPTZ,
    date_shipped        TIMESTAMPTZ,
    currency_code       VARCHAR,
    subtotal_ex_tax     DECIMAL(18,4),
    subtotal_inc_tax    DECIMAL(18,4),
    shipping_cost_inc_tax DECIMAL(18,4),
    total_tax           DECIMAL(18,4),
    total_ex_tax        DECIMAL(18,4),
    total_inc_tax       DECIMAL(18,4),
    items_total         INTEGER,
    items_shipped       INTEGER,
    payment_method      VARCHAR,
    payment_status      VARCHAR,
    billing_email       VARCHAR,
    billing_first_name  VARCHAR,
    billing_last_name   VARCHAR,
    billing_company     VARCHAR,
    customer_message    VARCHAR,
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ
);

-- Added for the order import (it plans from these tables, never from the API): the billing address a contact
-- and a sales order are created with, the staff notes, and the shipping charge as net and tax.
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS staff_notes VARCHAR;
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS billing_phone VARCHAR;
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS billing_street_1 VARCHAR;
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS billing_street_2 VARCHAR;
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS billing_city VARCHAR;
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS billing_state VARCHAR;
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS billing_zip VARCHAR;
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS billing_country VARCHAR;
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS billing_country_iso2 VARCHAR;
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS shipping_cost_ex_tax DECIMAL(18,4);
ALTER TABLE storefront.orders ADD COLUMN IF NOT EXISTS shipping_cost_tax DECIMAL(18,4);

-- Lines of an order; re-fetched whole with their order (a line gone from the storefront goes here too).
CREATE TABLE IF NOT EXISTS storefront.order_products (
    order_product_id    BIGINT PRIMARY KEY,
    order_id            BIGINT NOT NULL,
    product_id          BIGINT,
    variant_id          BIGINT,
    order_address_id    BIGINT,
    sku                 VARCHAR,
    name                VARCHAR,
    quantity            INTEGER,
    quantity_shipped    INTEGER,
    price_ex_tax        DECIMAL(18,4),
    price_inc_tax       DECIMAL(18,4),
    total_ex_tax        DECIMAL(18,4),
    total_inc_tax       DECIMAL(18,4),
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ
);

-- Added for the order import: the line's tax as charged, its type (physical | digital | giftcertificate: a gift
-- certificate line has no catalog product) and UPC (import.match_on: upc).
ALTER TABLE storefront.order_products ADD COLUMN IF NOT EXISTS total_tax DECIMAL(18,4);
ALTER TABLE storefront.order_products ADD COLUMN IF NOT EXISTS type VARCHAR;
ALTER TABLE storefront.order_products ADD COLUMN IF NOT EXISTS upc VARCHAR;

CREATE TABLE IF NOT EXISTS storefront.order_shipping_addresses (
    order_address_id    BIGINT PRIMARY KEY,
    order_id            BIGINT NOT NULL,
    first_name          VARCHAR,
    last_name           VARCHAR,
    company             VARCHAR,
    street_1            VARCHAR,
    street_2            VARCHAR,
    city                VARCHAR,
    state               VARCHAR,
    zip                 VARCHAR,
    country             VARCHAR,
    country_iso2        VARCHAR,
    email               VARCHAR,
    phone               VARCHAR,
    shipping_method     VARCHAR,
    items_total         INTEGER,
    items_shipped       INTEGER,
    cost_ex_tax         DECIMAL(18,4),
    cost_inc_tax        DECIMAL(18,4),
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS storefront.shipments (
    shipment_id         BIGINT PRIMARY KEY,
    order_id            BIGINT NOT NULL,
    order_address_id    BIGINT,
    date_created        TIMESTAMPTZ,
    tracking_number     VARCHAR,
    tracking_carrier    VARCHAR,
    shipping_provider   VARCHAR,
    shipping_method     VARCHAR,
    comments            VARCHAR,
    items               JSON,                 -- [{order_product_id, product_id, quantity}]
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS storefront.customers (
    customer_id         BIGINT PRIMARY KEY,
    email               VARCHAR,
    first_name          VARCHAR,
    last_name           VARCHAR,
    company             VARCHAR,
    phone               VARCHAR,
    customer_group_id   BIGINT,
    date_created        TIMESTAMPTZ,
    date_modified       TIMESTAMPTZ,
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS storefront.products (
    product_id          BIGINT PRIMARY KEY,
    name                VARCHAR,
    sku                 VARCHAR,              -- the base SKU (a product with options: usually not a sellable SKU)
    type                VARCHAR,
    price               DECIMAL(18,4),
    inventory_tracking  VARCHAR,              -- none | product | variant
    inventory_level     INTEGER,              -- default location only (catalog API)
    base_variant_id     BIGINT,
    is_visible          BOOLEAN,
    date_created        TIMESTAMPTZ,
    date_modified       TIMESTAMPTZ,
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ
);

-- Every sellable SKU: a product without options has its base variant here, with the product's SKU.
CREATE TABLE IF NOT EXISTS storefront.variants (
    variant_id          BIGINT PRIMARY KEY,
    product_id          BIGINT NOT NULL,
    sku                 VARCHAR,
    upc                 VARCHAR,
    price               DECIMAL(18,4),        -- NULL = inherits the product's price
    calculated_price    DECIMAL(18,4),
    inventory_level     INTEGER,
    purchasing_disabled BOOLEAN,
    option_values       JSON,
    gtin                VARCHAR,              -- GTIN/EAN (order lines carry none: import.match_on: ean reads it here)
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ
);

ALTER TABLE storefront.variants ADD COLUMN IF NOT EXISTS gtin VARCHAR;

-- What the storefront believed before the stock push overwrote it: one row per SKU pushed, written BEFORE the
-- PUT (push_id = the push.ledger row). A retry of the same push records nothing twice.
CREATE TABLE IF NOT EXISTS storefront.inventory_drift (
    push_id                 VARCHAR PRIMARY KEY,
    sku                     VARCHAR NOT NULL,
    variant_id              BIGINT,
    location_id             BIGINT,
    storefront_level_before INTEGER,          -- NULL: the storefront had no inventory item for the SKU yet
    brightpearl_available   INTEGER NOT NULL,
    recorded_at             TIMESTAMPTZ NOT NULL,
    run_id                  VARCHAR
);

-- Every storefront inventory item (tracked SKU) as the last stock push left it: the level read from the storefront,
-- updated to the level pushed once a push is confirmed, beside Brightpearl's available stock for the SKU (NULL: no
-- Brightpearl product). Replaced whole by each stock push; the reconciliation marts read it without an API call.
CREATE TABLE IF NOT EXISTS storefront.inventory_levels (
    sku                   VARCHAR PRIMARY KEY,  -- as the storefront spells it
    variant_id            BIGINT,
    product_id            BIGINT,
    location_id           BIGINT,
    level                 INTEGER,
    brightpearl_available INTEGER,
    push_state            VARCHAR,            -- unchanged | confirmed | dead | not_matched
    read_at               TIMESTAMPTZ
);
