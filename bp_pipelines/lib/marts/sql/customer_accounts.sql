-- customer_accounts: one row per live customer contact -- the "my account" page of a B2B portal.
-- Customers: contacts flagged is_customer, contacts never classified (is_customer NULL, not supplier/staff),
-- and any contact with sales orders or sales credits. Money adds documents of every currency, so it is in the
-- account's base (accounting) currency, base_currency_code: Brightpearl's base totals, payments converted at
-- their order's rate. balance_outstanding = invoiced minus paid on unpaid / partially paid invoices, minus what
-- is still owed to the customer on credit notes.
-- order_facts is read once (activity, materialized): reading it twice held two of its per-order joins in memory at
-- once, which ran out of a 96 MB limit at 1M orders.
WITH activity AS MATERIALIZED (
    SELECT
        f.contact_id,
        count(*) FILTER (WHERE f.is_sale) AS order_count,
        min(f.ordered_on) FILTER (WHERE f.is_sale) AS first_order_on,
        max(f.ordered_on) FILTER (WHERE f.is_sale) AS last_order_on,
        count(*) FILTER (WHERE f.is_open_sale) AS open_orders,
        coalesce(sum(f.base_value) FILTER (WHERE f.is_open_sale), 0) AS open_orders_value,
        count(*) FILTER (WHERE f.is_quote AND NOT f.is_cancelled) AS open_quotations,
        count(*) FILTER (WHERE f.is_invoice AND f.is_unpaid) AS unpaid_invoices,
        count(*) FILTER (WHERE f.is_invoice AND f.payment_status = 'PARTIALLY_PAID') AS partially_paid_invoices,
        coalesce(sum(f.base_outstanding_value) FILTER (WHERE f.is_invoice), 0) AS unpaid_invoiced_value,
        coalesce(sum(f.base_outstanding_value) FILTER (WHERE f.is_credit_note), 0) AS unpaid_credited_value,
        coalesce(sum(f.base_net) FILTER (WHERE f.is_invoice), 0) AS invoiced_net,
        coalesce(sum(abs(f.base_net)) FILTER (WHERE f.is_credit_note), 0) AS credited_net,
        min(f.base_currency_code) AS base_currency_code,
        count(DISTINCT f.currency_code) AS currency_count,
        min(f.currency_code) AS any_currency_code
    FROM order_facts AS f
    WHERE f.order_type_code IN ('SO', 'SC')
    GROUP BY f.contact_id
),
customers AS (
    SELECT c.*
    FROM brightpearl.contacts AS c
    WHERE c.is_deleted IS NOT TRUE
      AND (
          c.is_customer IS TRUE
          OR (c.is_customer IS NULL AND c.is_supplier IS NOT TRUE AND c.is_staff IS NOT TRUE)
          OR c.contact_id IN (SELECT a.contact_id FROM activity AS a)
      )
)
SELECT
    c.contact_id,
    nullif(trim(c.company_name), '') AS company_name,
    nullif(trim(concat_ws(' ', nullif(trim(c.first_name), ''), nullif(trim(c.last_name), ''))), '') AS contact_name,
    c.email,
    coalesce(trim(c.company_name) <> '', false) AS is_b2b,
    c.price_list_id,
    c.credit_limit,
    c.credit_term_days,
    CASE WHEN a.currency_count = 1 THEN a.any_currency_code END AS currency_code,
    coalesce(a.currency_count > 1, false) AS is_multi_currency,
    a.base_currency_code,
    CAST(coalesce(a.unpaid_invoiced_value, 0) - coalesce(a.unpaid_credited_value, 0) AS DECIMAL(18, 4))
        AS balance_outstanding,
    coalesce(a.unpaid_invoices, 0) AS unpaid_invoices,
    coalesce(a.partially_paid_invoices, 0) AS partially_paid_invoices,
    CAST(CASE WHEN c.credit_limit > 0
        THEN c.credit_limit - (coalesce(a.unpaid_invoiced_value, 0) - coalesce(a.unpaid_credited_value, 0))
    END AS DECIMAL(18, 4)) AS available_credit,
    coalesce(c.credit_limit > 0
        AND coalesce(a.unpaid_invoiced_value, 0) - coalesce(a.unpaid_credited_value, 0) > c.credit_limit, false)
        AS is_over_credit_limit,
    coalesce(a.open_orders, 0) AS open_orders,
    CAST(coalesce(a.open_orders_value, 0) AS DECIMAL(18, 4)) AS open_orders_value,
    coalesce(a.open_quotations, 0) AS open_quotations,
    CAST(coalesce(a.invoiced_net, 0) - coalesce(a.credited_net, 0) AS DECIMAL(18, 4)) AS lifetime_value,
    coalesce(a.order_count, 0) AS order_count,
    a.first_order_on,
    a.last_order_on
FROM customers AS c
LEFT JOIN activity AS a ON a.contact_id = c.contact_id
