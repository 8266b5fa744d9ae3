-- Storefront push bookkeeping (schema `push`): the ledger every push goes through, and its dead letters.
-- CONTRACT for analysts (docs/warehouse.md "Storefront push"): add columns, never rename.
-- Idempotent DDL, executed with schema.sql.

CREATE SCHEMA IF NOT EXISTS push;

-- One row per intended change on the storefront, written BEFORE anything is sent.
-- push_id is deterministic from the Brightpearl change ('shipment:gon:<goods_out_note_id>',
-- 'shipment:order:<order_id>', 'status:<order_id>:<order_status_id>:<updated_on epoch ms>'), so planning the
-- same change twice (re-materialized partition, backfill, retry) finds the row already there.
-- state: planned -> sending (committed just before the request) -> confirmed | skipped | dead
--        sending/ambiguous rows are reconciled against the storefront before anything is re-sent.
CREATE TABLE IF NOT EXISTS push.ledger (
    push_id             VARCHAR PRIMARY KEY,
    kind                VARCHAR NOT NULL,      -- shipment | order_status (more kinds: import, accounts, stock)
    target              VARCHAR DEFAULT 'storefront',  -- the system written to: storefront | brightpearl
    bp_order_id         BIGINT,
    storefront_order_id BIGINT,
    source_id           BIGINT,                -- goods_out_note_id (shipment) or Brightpearl order_status_id
    changed_at          TIMESTAMPTZ,           -- when the change happened in Brightpearl (its partition)
    desired             JSON,                  -- what the storefront should end up with (Brightpearl terms)
    request             JSON,                  -- the request body sent (storefront terms)
    state               VARCHAR NOT NULL,
    attempts            INTEGER DEFAULT 0,
    response            JSON,                  -- the storefront's answer (created shipment, updated order, error)
    storefront_ref      VARCHAR,               -- e.g. the storefront shipment id
    note                VARCHAR,               -- why skipped / capped / reconciled
    planned_at          TIMESTAMPTZ,
    sent_at             TIMESTAMPTZ,
    finished_at         TIMESTAMPTZ,
    run_id              VARCHAR
);

-- Pushes that cannot go through until someone fixes the cause (order missing on the storefront, unknown SKU,
-- validation error, ...). Never block the others; re-driven by the storefront_redrive job (resolved_at set).
CREATE TABLE IF NOT EXISTS push.dead_letters (
    push_id             VARCHAR PRIMARY KEY,
    kind                VARCHAR NOT NULL,
    bp_order_id         BIGINT,
    storefront_order_id BIGINT,
    reason              VARCHAR NOT NULL,
    storefront_status   INTEGER,               -- HTTP status of the storefront's answer, if any
    storefront_response JSON,
    first_seen          TIMESTAMPTZ,
    last_seen           TIMESTAMPTZ,
    attempts            INTEGER DEFAULT 1,
    resolved_at         TIMESTAMPTZ
);

-- Push-wide facts, e.g. 'push_from' = the moment the push first ran when the configuration sets none.
CREATE TABLE IF NOT EXISTS push.state (
    key                 VARCHAR PRIMARY KEY,
    value               VARCHAR,
    updated_at          TIMESTAMPTZ
);
