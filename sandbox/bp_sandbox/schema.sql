-- Sandbox world state (SQLite). Shared by the Brightpearl and BigCommerce emulators.
-- Conventions: times are INTEGER epoch milliseconds UTC (suffix _ms); money is TEXT decimal
-- (e.g. '9.0909'), never float; quantities are INTEGER; soft deletes use deleted=1 (a deleted
-- record vanishes from the API, which is what the real services do).

CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- keys: seed, orders (scale), clock_ms, account_offset_minutes, storefront_channel_id,
--       bc_store_hash, bc_access_token, bp_account, bp_app_ref, bp_account_token

-- ---------------------------------------------------------------- Brightpearl reference data
CREATE TABLE IF NOT EXISTS warehouses (id INTEGER PRIMARY KEY, name TEXT NOT NULL, address_json TEXT);
CREATE TABLE IF NOT EXISTS channels (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, channel_type_id INTEGER NOT NULL DEFAULT 1,
    is_storefront INTEGER NOT NULL DEFAULT 0, warehouse_id INTEGER, price_list_id INTEGER);
CREATE TABLE IF NOT EXISTS shipping_methods (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, method_type TEXT,
    carrier TEXT);                                   -- carrier: e.g. 'UPS', 'Royal Mail'
CREATE TABLE IF NOT EXISTS order_statuses (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, order_type_code TEXT NOT NULL,
    sort_order INTEGER NOT NULL, state TEXT, color TEXT, visible INTEGER NOT NULL DEFAULT 1,
    disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS price_lists (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, currency_code TEXT NOT NULL,
    price_list_type TEXT NOT NULL DEFAULT 'SELL');
CREATE TABLE IF NOT EXISTS brands (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS product_types (id INTEGER PRIMARY KEY, name TEXT NOT NULL);

-- ---------------------------------------------------------------- Brightpearl master data
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL,
    brand_id INTEGER, product_type_id INTEGER, product_group_id INTEGER,
    ean TEXT, upc TEXT, barcode TEXT, isbn TEXT, mpn TEXT,
    status TEXT NOT NULL DEFAULT 'LIVE', stock_tracked INTEGER NOT NULL DEFAULT 1,
    is_bundle INTEGER NOT NULL DEFAULT 0,
    variations_json TEXT,                             -- [{optionId, optionName, optionValueId, optionValue}]
    price TEXT, cost TEXT, weight TEXT,
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0,
    category_codes TEXT NOT NULL DEFAULT '',          -- comma list of Brightpearl category codes, first = primary
    primary_supplier_id INTEGER);
CREATE INDEX IF NOT EXISTS products_updated ON products(updated_ms);
CREATE INDEX IF NOT EXISTS products_sku ON products(sku);

CREATE TABLE IF NOT EXISTS bundle_components (
    bundle_product_id INTEGER NOT NULL, component_product_id INTEGER NOT NULL, quantity INTEGER NOT NULL,
    PRIMARY KEY (bundle_product_id, component_product_id));

CREATE TABLE IF NOT EXISTS stock (
    product_id INTEGER NOT NULL, warehouse_id INTEGER NOT NULL,
    in_stock INTEGER NOT NULL, allocated INTEGER NOT NULL, in_transit INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (product_id, warehouse_id));          -- onHand = in_stock - allocated

CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY, salutation TEXT, first_name TEXT, last_name TEXT, email TEXT,
    company_name TEXT, organisation_id INTEGER,
    is_customer INTEGER NOT NULL DEFAULT 1, is_supplier INTEGER NOT NULL DEFAULT 0,
    is_staff INTEGER NOT NULL DEFAULT 0, is_b2b INTEGER NOT NULL DEFAULT 0,
    price_list_id INTEGER, credit_limit TEXT NOT NULL DEFAULT '0', credit_term_days INTEGER NOT NULL DEFAULT 0,
    currency_id INTEGER, phone TEXT, mobile TEXT,
    address_json TEXT,                                -- {addressLine1..4, postalCode, countryIsoCode}
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    def_address_id INTEGER, bil_address_id INTEGER, del_address_id INTEGER,  -- postal_addresses ids
    contact_tags TEXT NOT NULL DEFAULT '',            -- comma list of contact tag ids
    newsletter INTEGER NOT NULL DEFAULT 0, last_ordered_ms INTEGER);
CREATE INDEX IF NOT EXISTS contacts_updated ON contacts(updated_ms);
CREATE INDEX IF NOT EXISTS contacts_email ON contacts(email);

-- ---------------------------------------------------------------- Brightpearl transactions
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, order_type_code TEXT NOT NULL,        -- SO, SC, PO, PC
    parent_order_id INTEGER NOT NULL DEFAULT 0, status_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL, channel_id INTEGER NOT NULL DEFAULT 0, warehouse_id INTEGER,
    external_ref TEXT, customer_ref TEXT, currency_code TEXT NOT NULL, exchange_rate TEXT NOT NULL DEFAULT '1.000000',
    price_list_id INTEGER, price_mode_code TEXT NOT NULL DEFAULT 'EXC',
    total_net TEXT NOT NULL, total_tax TEXT NOT NULL, total_value TEXT NOT NULL,
    payment_status TEXT NOT NULL,                                  -- UNPAID, PARTIALLY_PAID, PAID, NOT_APPLICABLE
    shipping_status_code TEXT NOT NULL,                            -- NST, SNS, SPS, ASS
    stock_status_code TEXT NOT NULL DEFAULT 'SOA', allocation_status_code TEXT NOT NULL DEFAULT 'AAA',
    invoice_reference TEXT, tax_date_ms INTEGER, due_date_ms INTEGER,
    shipping_method_id INTEGER NOT NULL DEFAULT 0, delivery_date_ms INTEGER,
    placed_on_ms INTEGER, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, closed_ms INTEGER,
    created_by_id INTEGER NOT NULL DEFAULT 4, staff_owner_contact_id INTEGER NOT NULL DEFAULT 0,
    installed_integration_instance_id INTEGER, version INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0,
    billing_address_id INTEGER, delivery_address_id INTEGER);  -- postal_addresses snapshot ids
CREATE INDEX IF NOT EXISTS orders_updated ON orders(updated_ms);
CREATE INDEX IF NOT EXISTS orders_created ON orders(created_ms);
CREATE INDEX IF NOT EXISTS orders_external_ref ON orders(external_ref);
CREATE INDEX IF NOT EXISTS orders_contact ON orders(contact_id);

CREATE TABLE IF NOT EXISTS order_rows (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, sequence INTEGER NOT NULL,
    product_id INTEGER, sku TEXT, product_name TEXT NOT NULL, quantity INTEGER NOT NULL,
    unit_price TEXT NOT NULL, item_cost TEXT NOT NULL DEFAULT '0.0000', discount_percentage TEXT NOT NULL DEFAULT '0.00',
    row_net TEXT NOT NULL, row_tax TEXT NOT NULL, tax_rate TEXT NOT NULL, tax_code TEXT NOT NULL,
    nominal_code TEXT NOT NULL DEFAULT '4000',
    bundle_parent INTEGER NOT NULL DEFAULT 0, bundle_child INTEGER NOT NULL DEFAULT 0,
    parent_order_row_id INTEGER NOT NULL DEFAULT 0, external_ref TEXT);
CREATE INDEX IF NOT EXISTS order_rows_order ON order_rows(order_id);

CREATE TABLE IF NOT EXISTS goods_out_notes (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, warehouse_id INTEGER NOT NULL,
    transfer INTEGER NOT NULL DEFAULT 0, priority INTEGER NOT NULL DEFAULT 0,
    printed INTEGER NOT NULL DEFAULT 0, picked INTEGER NOT NULL DEFAULT 0, packed INTEGER NOT NULL DEFAULT 0,
    shipped INTEGER NOT NULL DEFAULT 0, printed_ms INTEGER, picked_ms INTEGER, packed_ms INTEGER, shipped_ms INTEGER,
    shipping_method_id INTEGER NOT NULL DEFAULT 0, tracking_reference TEXT NOT NULL DEFAULT '',
    boxes INTEGER, weight TEXT, release_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL,
    created_by INTEGER NOT NULL DEFAULT 4, sequence INTEGER NOT NULL DEFAULT 1,
    last_event_version INTEGER NOT NULL DEFAULT 1, deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS gon_created ON goods_out_notes(created_ms);
CREATE INDEX IF NOT EXISTS gon_shipped ON goods_out_notes(shipped_ms);
CREATE INDEX IF NOT EXISTS gon_order ON goods_out_notes(order_id);

CREATE TABLE IF NOT EXISTS goods_out_note_rows (
    note_id INTEGER NOT NULL, order_row_id INTEGER NOT NULL, product_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL, location_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (note_id, order_row_id, product_id));

-- Postal addresses are immutable snapshots: a contact edit adds a new row, so old orders keep theirs.
-- Customer payments (accounting-service/customer-payment-search): RECEIPT = money in for a sales order,
-- PAYMENT = money refunded for a sales credit; amounts in the order currency.
CREATE TABLE IF NOT EXISTS customer_payments (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, payment_type TEXT NOT NULL,
    payment_method_code TEXT NOT NULL, currency_code TEXT NOT NULL, amount_paid TEXT NOT NULL,
    amount_authorized TEXT NOT NULL DEFAULT '0.00', payment_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL,
    journal_id INTEGER NOT NULL, transaction_ref TEXT, transaction_code TEXT, expires_ms INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS customer_payments_order ON customer_payments(order_id);
CREATE INDEX IF NOT EXISTS customer_payments_created ON customer_payments(created_ms);

CREATE TABLE IF NOT EXISTS postal_addresses (
    id INTEGER PRIMARY KEY, address_json TEXT NOT NULL);  -- addressLine1..4, postalCode, countryIsoCode
                                                          -- (+ optional addressFullName/companyName/email/telephone)

-- Companies written through `POST contact-service/company` (generated B2B organisations live on the contacts:
-- organisation_id + company_name); a contact joins one with `PATCH /companyId`.
CREATE TABLE IF NOT EXISTS companies (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS order_notes (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, text TEXT NOT NULL, is_public INTEGER NOT NULL DEFAULT 0,
    added_ms INTEGER NOT NULL);

-- ---------------------------------------------------------------- BigCommerce storefront
CREATE TABLE IF NOT EXISTS bc_orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL DEFAULT 0, status_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL DEFAULT 1, currency_code TEXT NOT NULL,
    subtotal_ex_tax TEXT NOT NULL, subtotal_inc_tax TEXT NOT NULL, subtotal_tax TEXT NOT NULL,
    shipping_cost_ex_tax TEXT NOT NULL DEFAULT '0.0000', shipping_cost_inc_tax TEXT NOT NULL DEFAULT '0.0000',
    total_ex_tax TEXT NOT NULL, total_inc_tax TEXT NOT NULL, total_tax TEXT NOT NULL,
    items_total INTEGER NOT NULL, items_shipped INTEGER NOT NULL DEFAULT 0,
    payment_method TEXT NOT NULL DEFAULT 'Credit Card', payment_status TEXT NOT NULL DEFAULT 'captured',
    billing_address_json TEXT NOT NULL,               -- {first_name,last_name,company,street_1,...,email}
    staff_notes TEXT NOT NULL DEFAULT '', customer_message TEXT NOT NULL DEFAULT '',
    external_order_id TEXT, date_created_ms INTEGER NOT NULL, date_modified_ms INTEGER NOT NULL,
    date_shipped_ms INTEGER, is_deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS bc_orders_modified ON bc_orders(date_modified_ms);

CREATE TABLE IF NOT EXISTS bc_order_products (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, product_id INTEGER NOT NULL DEFAULT 0,
    variant_id INTEGER NOT NULL DEFAULT 0, order_address_id INTEGER NOT NULL, name TEXT NOT NULL,
    sku TEXT NOT NULL, quantity INTEGER NOT NULL, quantity_shipped INTEGER NOT NULL DEFAULT 0,
    base_price TEXT NOT NULL, price_ex_tax TEXT NOT NULL, price_inc_tax TEXT NOT NULL, price_tax TEXT NOT NULL,
    total_ex_tax TEXT NOT NULL, total_inc_tax TEXT NOT NULL, total_tax TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'physical');
CREATE INDEX IF NOT EXISTS bc_order_products_order ON bc_order_products(order_id);

CREATE TABLE IF NOT EXISTS bc_shipping_addresses (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, address_json TEXT NOT NULL,
    shipping_method TEXT NOT NULL DEFAULT '', items_total INTEGER NOT NULL, items_shipped INTEGER NOT NULL DEFAULT 0,
    cost_ex_tax TEXT NOT NULL DEFAULT '0.0000', cost_inc_tax TEXT NOT NULL DEFAULT '0.0000');
CREATE INDEX IF NOT EXISTS bc_shipping_addresses_order ON bc_shipping_addresses(order_id);

CREATE TABLE IF NOT EXISTS bc_shipments (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, order_address_id INTEGER NOT NULL,
    tracking_number TEXT NOT NULL DEFAULT '', tracking_carrier TEXT NOT NULL DEFAULT '',
    shipping_method TEXT NOT NULL DEFAULT '', shipping_provider TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL DEFAULT '', items_json TEXT NOT NULL,  -- [{order_product_id, product_id, quantity}]
    customer_id INTEGER NOT NULL DEFAULT 0, date_created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS bc_shipments_order ON bc_shipments(order_id);

CREATE TABLE IF NOT EXISTS bc_products (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, sku TEXT NOT NULL, type TEXT NOT NULL DEFAULT 'physical',
    price TEXT NOT NULL, inventory_tracking TEXT NOT NULL DEFAULT 'product',   -- none | product | variant
    inventory_level INTEGER NOT NULL DEFAULT 0, base_variant_id INTEGER,
    date_created_ms INTEGER NOT NULL, date_modified_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS bc_products_sku ON bc_products(sku);

CREATE TABLE IF NOT EXISTS bc_variants (
    id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, sku TEXT NOT NULL, upc TEXT NOT NULL DEFAULT '',
    price TEXT, inventory_level INTEGER NOT NULL DEFAULT 0, option_values_json TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS bc_variants_sku ON bc_variants(sku);
CREATE INDEX IF NOT EXISTS bc_variants_product ON bc_variants(product_id);

CREATE TABLE IF NOT EXISTS bc_inventory_locations (id INTEGER PRIMARY KEY, code TEXT NOT NULL, label TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bc_inventory (
    location_id INTEGER NOT NULL, variant_id INTEGER NOT NULL, quantity INTEGER NOT NULL,
    PRIMARY KEY (location_id, variant_id));

CREATE TABLE IF NOT EXISTS bc_customer_groups (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, is_default INTEGER NOT NULL DEFAULT 0,
    category_access_json TEXT NOT NULL DEFAULT '{"type":"all"}');

CREATE TABLE IF NOT EXISTS bc_customers (
    id INTEGER PRIMARY KEY, email TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
    company TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '', notes TEXT NOT NULL DEFAULT '',
    customer_group_id INTEGER NOT NULL DEFAULT 0, force_password_reset INTEGER NOT NULL DEFAULT 0,
    origin_channel_id INTEGER NOT NULL DEFAULT 1,
    date_created_ms INTEGER NOT NULL, date_modified_ms INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS bc_customers_email ON bc_customers(lower(email));

-- ---------------------------------------------------------------- BigCommerce emulator extras
-- Owned by sandbox/bp_sandbox/bigcommerce/. Side tables for API fields the bc_* tables above do
-- not hold; every read LEFT JOINs them, so rows written by the generator need no extras row.
CREATE TABLE IF NOT EXISTS bc_shipment_extras (
    shipment_id INTEGER PRIMARY KEY, tracking_link TEXT NOT NULL DEFAULT '',
    merchant_shipping_cost TEXT NOT NULL DEFAULT '0.0000');
CREATE TABLE IF NOT EXISTS bc_customer_extras (
    customer_id INTEGER PRIMARY KEY,
    extras_json TEXT NOT NULL DEFAULT '{}');         -- tax_exempt_category, addresses, channel_ids, ...
CREATE TABLE IF NOT EXISTS bc_customer_group_extras (
    group_id INTEGER PRIMARY KEY, discount_rules_json TEXT NOT NULL DEFAULT '[]',
    is_group_for_guests INTEGER NOT NULL DEFAULT 0, date_created_ms INTEGER, date_modified_ms INTEGER);
