-- Brightpearl extraction tables (schema `brightpearl`) and sync bookkeeping (schema `_sync`).
-- CONTRACT: the analytics marts and checks read these names and columns; add columns, never rename.
-- Conventions: one row per key, upserted; times TIMESTAMPTZ in UTC; money DECIMAL(18,4) (never float);
-- every table carries is_deleted / deleted_seen_at (records vanished from Brightpearl are marked, never
-- dropped) and _synced_at (when this pipeline last wrote the row).
-- Idempotent: executed on every connection that writes, so only CREATE ... IF NOT EXISTS here.

CREATE SCHEMA IF NOT EXISTS brightpearl;
CREATE SCHEMA IF NOT EXISTS _sync;

-- ------------------------------------------------------------------ master data
CREATE TABLE IF NOT EXISTS brightpearl.products (
    product_id        BIGINT PRIMARY KEY,
    sku               VARCHAR,
    name              VARCHAR,
    ean               VARCHAR,
    upc               VARCHAR,
    barcode           VARCHAR,
    isbn              VARCHAR,
    mpn               VARCHAR,
    brand_id          BIGINT,
    product_type_id   BIGINT,
    product_group_id  BIGINT,
    status            VARCHAR,            -- LIVE, ARCHIVED, ...
    stock_tracked     BOOLEAN,
    is_bundle         BOOLEAN,
    created_on        TIMESTAMPTZ,
    updated_on        TIMESTAMPTZ,
    version           BIGINT,
    is_deleted        BOOLEAN DEFAULT false,
    deleted_seen_at   TIMESTAMPTZ,
    _synced_at        TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS brightpearl.contacts (
    contact_id        BIGINT PRIMARY KEY,
    email             VARCHAR,            -- primary email (communication.emails.PRI)
    salutation        VARCHAR,
    first_name        VARCHAR,
    last_name         VARCHAR,
    company_name      VARCHAR,
    is_customer       BOOLEAN,            -- only contact-search carries it; NULL until seen there
    is_supplier       BOOLEAN,
    is_staff          BOOLEAN,
    price_list_id     BIGINT,
    credit_limit      DECIMAL(18,4),
    credit_term_days  INTEGER,
    currency_id       BIGINT,
    telephone         VARCHAR,
    mobile            VARCHAR,
    created_on        TIMESTAMPTZ,
    updated_on        TIMESTAMPTZ,
    is_deleted        BOOLEAN DEFAULT false,
    deleted_seen_at   TIMESTAMPTZ,
    _synced_at        TIMESTAMPTZ,
    tag_ids           BIGINT[]            -- contactTags as tag ids (sorted; [] = no tag; NULL = read before tags were)
);
-- Warehouses created before contact tags were extracted get the column here (columns are only ever added).
ALTER TABLE brightpearl.contacts ADD COLUMN IF NOT EXISTS tag_ids BIGINT[];

-- ------------------------------------------------------------------ orders
CREATE TABLE IF NOT EXISTS brightpearl.orders (
    order_id                BIGINT PRIMARY KEY,
    order_type_code         VARCHAR,      -- SO, SC, PO, PC
    order_status_id         BIGINT,
    order_status_name       VARCHAR,
    contact_id              BIGINT,       -- parties.customer.contactId (supplier for PO/PC)
    channel_id              BIGINT,
    warehouse_id            BIGINT,
    external_ref            VARCHAR,
    customer_ref            VARCHAR,      -- Brightpearl "reference"
    currency_code           VARCHAR,
    exchange_rate           DECIMAL(18,6),
    total_net               DECIMAL(18,4),
    total_tax               DECIMAL(18,4),
    total_value             DECIMAL(18,4),
    payment_status          VARCHAR,      -- UNPAID, PARTIALLY_PAID, PAID, NOT_APPLICABLE
    shipping_status_code    VARCHAR,      -- NST, SNS, SPS, ASS
    stock_status_code       VARCHAR,
    allocation_status_code  VARCHAR,
    invoice_reference       VARCHAR,
    parent_order_id         BIGINT,
    price_list_id           BIGINT,
    price_mode_code         VARCHAR,
    staff_owner_id          BIGINT,
    shipping_method_id      BIGINT,
    delivery_date           TIMESTAMPTZ,
    tax_date                TIMESTAMPTZ,
    due_date                TIMESTAMPTZ,
    placed_on               TIMESTAMPTZ,
    created_on              TIMESTAMPTZ,
    updated_on              TIMESTAMPTZ,
    closed_on               TIMESTAMPTZ,
    version                 BIGINT,
    is_deleted              BOOLEAN DEFAULT false,
    deleted_seen_at         TIMESTAMPTZ,
    _synced_at              TIMESTAMPTZ,
    -- Brightpearl's own conversion into the account's accounting currency (currency.accountingCurrencyCode,
    -- totalValue.baseNet/baseTaxAmount/baseTotal): add money across currencies with these.
    base_currency_code      VARCHAR,
    base_total_net          DECIMAL(18,4),
    base_total_tax          DECIMAL(18,4),
    base_total_value        DECIMAL(18,4)
);
-- Warehouses created before the base-currency columns existed get them here (columns are only ever added).
ALTER TABLE brightpearl.orders ADD COLUMN IF NOT EXISTS base_currency_code VARCHAR;
ALTER TABLE brightpearl.orders ADD COLUMN IF NOT EXISTS base_total_net DECIMAL(18,4);
ALTER TABLE brightpearl.orders ADD COLUMN IF NOT EXISTS base_total_tax DECIMAL(18,4);
ALTER TABLE brightpearl.orders ADD COLUMN IF NOT EXISTS base_total_value DECIMAL(18,4);

-- Customer payments (accounting-service/customer-payment-search): RECEIPT = money received for a sales order,
-- PAYMENT = money paid out (refund of a sales credit). Amounts in the payment's currency (currency_code).
CREATE TABLE IF NOT EXISTS brightpearl.customer_payments (
    payment_id            BIGINT PRIMARY KEY,
    order_id              BIGINT,
    payment_type          VARCHAR,      -- RECEIPT, PAYMENT (, AUTH)
    payment_method_code   VARCHAR,
    currency_id           BIGINT,
    currency_code         VARCHAR,
    amount_authorized     DECIMAL(18,4),
    amount_paid           DECIMAL(18,4),
    expires               TIMESTAMPTZ,
    payment_date          TIMESTAMPTZ,
    created_on            TIMESTAMPTZ,
    journal_id            BIGINT,
    transaction_ref       VARCHAR,
    transaction_code      VARCHAR,
    is_deleted            BOOLEAN DEFAULT false,
    deleted_seen_at       TIMESTAMPTZ,
    _synced_at            TIMESTAMPTZ
);

-- Rows of a re-fetched order are replaced as a whole (a row removed in Brightpearl disappears here).
CREATE TABLE IF NOT EXISTS brightpearl.order_rows (
    order_id              BIGINT NOT NULL,
    row_id                BIGINT NOT NULL,
    row_sequence          INTEGER,
    product_id            BIGINT,
    sku                   VARCHAR,
    product_name          VARCHAR,
    quantity              DECIMAL(18,4),
    unit_price            DECIMAL(18,4),  -- productPrice.value
    item_cost             DECIMAL(18,4),
    discount_percentage   DECIMAL(9,4),
    row_net               DECIMAL(18,4),
    row_tax               DECIMAL(18,4),
    tax_rate              DECIMAL(9,4),
    tax_code              VARCHAR,
    nominal_code          VARCHAR,
    is_bundle_parent      BOOLEAN,
    is_bundle_child       BOOLEAN,
    parent_order_row_id   BIGINT,
    is_deleted            BOOLEAN DEFAULT false,
    deleted_seen_at       TIMESTAMPTZ,
    _synced_at            TIMESTAMPTZ,
    PRIMARY KEY (order_id, row_id)
);

-- ------------------------------------------------------------------ stock
-- One row per product x warehouse listed by product-availability; as_of = when it was fetched.
CREATE TABLE IF NOT EXISTS brightpearl.stock_levels (
    product_id        BIGINT NOT NULL,
    warehouse_id      BIGINT NOT NULL,
    in_stock          INTEGER,
    on_hand           INTEGER,
    allocated         INTEGER,
    in_transit        INTEGER,
    as_of             TIMESTAMPTZ,
    is_deleted        BOOLEAN DEFAULT false,
    deleted_seen_at   TIMESTAMPTZ,
    _synced_at        TIMESTAMPTZ,
    PRIMARY KEY (product_id, warehouse_id)
);

-- ------------------------------------------------------------------ goods-out notes (shipments)
CREATE TABLE IF NOT EXISTS brightpearl.goods_out_notes (
    goods_out_note_id   BIGINT PRIMARY KEY,
    order_id            BIGINT,
    warehouse_id        BIGINT,
    target_warehouse_id BIGINT,           -- transfers only
    is_transfer         BOOLEAN,
    priority            BOOLEAN,
    printed             BOOLEAN,
    picked              BOOLEAN,
    packed              BOOLEAN,
    shipped             BOOLEAN,
    printed_on          TIMESTAMPTZ,
    picked_on           TIMESTAMPTZ,
    packed_on           TIMESTAMPTZ,
    shipped_on          TIMESTAMPTZ,
    shipping_method_id  BIGINT,
    tracking_reference  VARCHAR,
    boxes               INTEGER,
    weight              DECIMAL(18,4),
    release_date        TIMESTAMPTZ,
    created_on          TIMESTAMPTZ,
    created_by          BIGINT,
    note_sequence       INTEGER,
    last_event_version  BIGINT,
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ
);

-- Quantity is summed over pick locations, so the grain is note x order row x product.
CREATE TABLE IF NOT EXISTS brightpearl.goods_out_note_rows (
    goods_out_note_id   BIGINT NOT NULL,
    order_row_id        BIGINT NOT NULL,
    product_id          BIGINT NOT NULL,
    quantity            INTEGER,
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ,
    PRIMARY KEY (goods_out_note_id, order_row_id, product_id)
);

-- ------------------------------------------------------------------ reference data (full refresh)
CREATE TABLE IF NOT EXISTS brightpearl.order_statuses (
    order_status_id   BIGINT PRIMARY KEY,
    name              VARCHAR,
    order_type_code   VARCHAR,
    sort_order        INTEGER,
    state             VARCHAR,
    color             VARCHAR,
    is_visible        BOOLEAN,
    is_disabled       BOOLEAN,
    is_deleted        BOOLEAN DEFAULT false,
    deleted_seen_at   TIMESTAMPTZ,
    _synced_at        TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS brightpearl.warehouses (
    warehouse_id      BIGINT PRIMARY KEY,
    name              VARCHAR,
    address           JSON,
    is_deleted        BOOLEAN DEFAULT false,
    deleted_seen_at   TIMESTAMPTZ,
    _synced_at        TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS brightpearl.channels (
    channel_id        BIGINT PRIMARY KEY,
    name              VARCHAR,
    channel_type_id   BIGINT,
    warehouse_id      BIGINT,
    price_list_id     BIGINT,
    is_deleted        BOOLEAN DEFAULT false,
    deleted_seen_at   TIMESTAMPTZ,
    _synced_at        TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS brightpearl.contact_tags (
    tag_id            BIGINT PRIMARY KEY,
    tag_name          VARCHAR,
    parent_tag_id     BIGINT,             -- 0: none
    color             VARCHAR,            -- hexadecimal, e.g. #ff0000
    is_deleted        BOOLEAN DEFAULT false,
    deleted_seen_at   TIMESTAMPTZ,
    _synced_at        TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS brightpearl.shipping_methods (
    shipping_method_id  BIGINT PRIMARY KEY,
    code                VARCHAR,
    name                VARCHAR,
    method_type         VARCHAR,
    carrier             VARCHAR,
    is_deleted          BOOLEAN DEFAULT false,
    deleted_seen_at     TIMESTAMPTZ,
    _synced_at          TIMESTAMPTZ
);

-- ------------------------------------------------------------------ sync bookkeeping
-- One row per synced resource; watermark = max updatedOn committed (never beyond the search start).
CREATE TABLE IF NOT EXISTS _sync.watermarks (
    resource          VARCHAR PRIMARY KEY,
    watermark         TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ,
    last_mode         VARCHAR,
    last_window_from  TIMESTAMPTZ,
    last_window_to    TIMESTAMPTZ,
    last_run_id       VARCHAR,
    last_reconciled_at TIMESTAMPTZ
);

-- Dead letters: records (or id ranges / windows, record_id like 'window:...' / 'ids:1-200') that failed.
-- Retried first on the next run; resolved_at is set once they go through.
CREATE TABLE IF NOT EXISTS _sync.quarantine (
    resource          VARCHAR NOT NULL,
    record_id         VARCHAR NOT NULL,
    reason            VARCHAR,
    payload           JSON,
    first_seen        TIMESTAMPTZ,
    last_seen         TIMESTAMPTZ,
    attempts          INTEGER DEFAULT 1,
    resolved_at       TIMESTAMPTZ,
    PRIMARY KEY (resource, record_id)
);

-- One row per asset materialization: what it did and what it cost.
CREATE TABLE IF NOT EXISTS _sync.runs (
    run_id            VARCHAR NOT NULL,
    asset             VARCHAR NOT NULL,
    mode              VARCHAR,
    partition_range   VARCHAR,
    window_from       TIMESTAMPTZ,
    window_to         TIMESTAMPTZ,
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    rows_inserted     BIGINT,
    rows_updated      BIGINT,
    rows_deleted      BIGINT,
    rows_undeleted    BIGINT,
    rows_quarantined  BIGINT,
    api_calls         BIGINT,
    throttled         BIGINT,
    retries           BIGINT,
    watermark         TIMESTAMPTZ,
    PRIMARY KEY (run_id, asset)
);

-- The last build of each analyst mart: a mart whose SQL and input tables have the same fingerprint is not rebuilt
-- (lib/marts/build.py refresh_marts).
CREATE TABLE IF NOT EXISTS _sync.marts (
    mart              VARCHAR PRIMARY KEY,    -- the mart's name: table analytics.<mart>
    fingerprint       VARCHAR NOT NULL,       -- sha256 of its SQL and of the row count and content hash of each input
    built_at          TIMESTAMPTZ NOT NULL,
    row_count         BIGINT NOT NULL
);

-- What each mart's last build read: per input table its fingerprint and newest _synced_at, so a per-order mart can be
-- updated in place for the orders changed since (lib/marts/build.py).
CREATE TABLE IF NOT EXISTS _sync.mart_inputs (
    mart              VARCHAR NOT NULL,
    input             VARCHAR NOT NULL,       -- schema.table, or 'sql' (digest of the mart's SQL and shared views)
    fingerprint       VARCHAR NOT NULL,
    synced_max        TIMESTAMPTZ,            -- max(_synced_at) of the table then (NULL: not tracked, or empty)
    PRIMARY KEY (mart, input)
);

-- Ids seen by the running reconciliation sweep (cleared before and after each sweep).
CREATE TABLE IF NOT EXISTS _sync.sweep_ids (
    resource          VARCHAR NOT NULL,
    id                BIGINT NOT NULL         -- no key: the client already drops ids repeated across pages
);
