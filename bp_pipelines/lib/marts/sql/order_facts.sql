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
WITH classified AS (
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
        coalesce(o.placed_on, o.created_on) AS ordered_on
    FROM brightpearl.orders AS o
    LEFT JOIN brightpearl.order_statuses AS s
        ON s.order_status_id = o.order_status_id AND s.is_deleted IS NOT TRUE
    WHERE o.is_deleted IS NOT TRUE
)
SELECT
    c.*,
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
        AND NOT (c.shipping_status_code = 'NST' AND c.is_invoiced)
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
FROM classified AS c
