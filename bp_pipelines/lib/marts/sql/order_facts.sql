-- order_facts: every live (not is_deleted) order with the business classification all marts share.
-- Created as a TEMP VIEW on the mart-building connection only; never persisted.
-- Rules (docs/warehouse.md "Analyst marts"):
--   quote        SO in a draft/quote status (order_statuses.state = 'draft' or a status name containing "quote"), not invoiced
--   cancelled    status state 'cancelled' or a status name containing "cancel"
--   closed       Brightpearl closedOn set, or status state 'completed'
--   invoiced     an invoice_reference is present (SO -> customer invoice, SC -> credit note)
--   open SO      not quote / cancelled / closed, and stock not all shipped (ASS); an order with no stock-tracked
--                products (NST) stays open until it is invoiced
--   open PO      not cancelled / closed and not all received (shipping status ASS)
-- Money: base_* = Brightpearl's own conversion into the accounting currency (totalValue.base*); an order stored
-- before those columns existed falls back to its own totals only when its exchange rate is 1 (same currency).
-- paid_value = customer payments of the order in the order currency (SO: receipts minus refunds; SC: refunds
-- minus receipts); outstanding_value = what is still owed on an unpaid / partially paid document.
WITH payments AS (
    SELECT
        p.order_id,
        sum(CASE p.payment_type WHEN 'RECEIPT' THEN p.amount_paid WHEN 'PAYMENT' THEN -p.amount_paid ELSE 0 END)
            AS received
    FROM brightpearl.customer_payments AS p
    WHERE p.is_deleted IS NOT TRUE
    GROUP BY p.order_id
),
classified AS (
    SELECT
        o.*,
        coalesce(s.name, o.order_status_name) AS status_name,
        lower(s.state) AS status_state,
        coalesce(lower(s.state) = 'draft' OR lower(coalesce(s.name, o.order_status_name)) LIKE '%quote%', false)
            AS in_quote_status,
        coalesce(lower(s.state) = 'cancelled' OR lower(coalesce(s.name, o.order_status_name)) LIKE '%cancel%', false)
            AS is_cancelled,
        (o.closed_on IS NOT NULL OR coalesce(lower(s.state) = 'completed', false)) AS is_closed,
        coalesce(trim(o.invoice_reference) <> '', false) AS is_invoiced,
        coalesce(o.payment_status IN ('UNPAID', 'PARTIALLY_PAID'), false) AS is_unpaid,
        coalesce(o.placed_on, o.created_on) AS ordered_on,
        CASE WHEN o.base_total_value IS NOT NULL THEN o.base_total_net WHEN o.exchange_rate = 1 THEN o.total_net END
            AS base_net,
        CASE WHEN o.base_total_value IS NOT NULL THEN o.base_total_tax WHEN o.exchange_rate = 1 THEN o.total_tax END
            AS base_tax,
        coalesce(o.base_total_value, CASE WHEN o.exchange_rate = 1 THEN o.total_value END) AS base_value,
        CAST(coalesce(CASE o.order_type_code WHEN 'SC' THEN -pay.received ELSE pay.received END, 0)
            AS DECIMAL(18, 4)) AS paid_value
    FROM brightpearl.orders AS o
    LEFT JOIN brightpearl.order_statuses AS s
        ON s.order_status_id = o.order_status_id AND s.is_deleted IS NOT TRUE
    LEFT JOIN payments AS pay ON pay.order_id = o.order_id
    WHERE o.is_deleted IS NOT TRUE
),
owed AS (
    SELECT
        c.*,
        -- PAID / NOT_APPLICABLE owe nothing whatever the payments say; unpaid ones owe the total minus payments
        CAST(CASE WHEN c.is_unpaid THEN abs(c.total_value) - c.paid_value ELSE 0 END AS DECIMAL(18, 4))
            AS outstanding_value
    FROM classified AS c
)
SELECT
    c.*,
    -- the order's own rate (base / total) converts its payments, as Brightpearl converts the order
    CAST(CASE WHEN c.total_value <> 0 THEN c.outstanding_value * abs(c.base_value) / abs(c.total_value)
              WHEN c.outstanding_value = 0 THEN 0 END AS DECIMAL(18, 4)) AS base_outstanding_value,
    (c.order_type_code = 'SO' AND c.in_quote_status AND NOT c.is_invoiced) AS is_quote,
    (c.order_type_code = 'SO' AND c.is_invoiced) AS is_invoice,
    (c.order_type_code = 'SC' AND c.is_invoiced) AS is_credit_note,
    (c.order_type_code = 'SO' AND NOT (c.in_quote_status AND NOT c.is_invoiced) AND NOT c.is_cancelled) AS is_sale,
    (
        c.order_type_code = 'SO'
        AND NOT (c.in_quote_status AND NOT c.is_invoiced)
        AND NOT c.is_cancelled
        AND NOT c.is_closed
        AND coalesce(c.shipping_status_code, '') <> 'ASS'
        AND NOT (coalesce(c.shipping_status_code, '') = 'NST' AND c.is_invoiced)  -- no code: still open, not NULL
    ) AS is_open_sale,
    (
        c.order_type_code = 'PO'
        AND NOT c.is_cancelled
        AND NOT c.is_closed
        AND coalesce(c.shipping_status_code, '') <> 'ASS'
    ) AS is_open_purchase,
    CASE c.shipping_status_code
        WHEN 'ASS' THEN 'shipped'
        WHEN 'SPS' THEN 'partially_shipped'
        WHEN 'SNS' THEN 'not_shipped'
        WHEN 'NST' THEN 'nothing_to_ship'
        ELSE 'unknown'
    END AS shipped_state
FROM owed AS c
