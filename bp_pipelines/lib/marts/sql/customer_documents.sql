-- customer_documents: customer invoices (invoiced SO) and credit notes (invoiced SC) -- the portal's invoice list.
-- signed_total is negative for credit notes so sum(signed_total) over outstanding documents is the balance.
-- paid_value / outstanding_value come from the customer payments (order currency); base_* are in the account's
-- base currency, so sum(base_signed_outstanding) of a customer equals customer_accounts.balance_outstanding.
SELECT
    CASE f.order_type_code WHEN 'SO' THEN 'invoice' ELSE 'credit_note' END AS document_type,
    trim(f.invoice_reference) AS invoice_reference,
    f.order_id,
    f.contact_id,
    nullif(trim(c.company_name), '') AS company_name,
    CAST(timezone('UTC', coalesce(f.tax_date, f.ordered_on)) AS DATE) AS document_date,
    f.due_date,
    f.currency_code,
    f.total_net,
    f.total_tax,
    f.total_value,
    CAST(CASE f.order_type_code WHEN 'SO' THEN f.total_value ELSE -abs(f.total_value) END AS DECIMAL(18, 4))
        AS signed_total,
    f.payment_status,
    f.paid_value,
    f.outstanding_value,
    CAST(CASE f.order_type_code WHEN 'SO' THEN f.outstanding_value ELSE -f.outstanding_value END AS DECIMAL(18, 4))
        AS signed_outstanding,
    f.base_currency_code,
    CAST(f.base_value AS DECIMAL(18, 4)) AS base_total_value,
    CAST(CASE f.order_type_code WHEN 'SO' THEN f.base_value ELSE -abs(f.base_value) END AS DECIMAL(18, 4))
        AS base_signed_total,
    CAST(CASE f.order_type_code WHEN 'SO' THEN f.base_outstanding_value ELSE -f.base_outstanding_value END
        AS DECIMAL(18, 4)) AS base_signed_outstanding,
    f.is_unpaid AS is_outstanding,
    -- is_overdue reads the clock: the view analytics.customer_documents computes it when queried (marts.py)
    CAST(NULL AS BOOLEAN) AS is_overdue,
    f.customer_ref,
    f.status_name
FROM order_facts AS f
LEFT JOIN brightpearl.contacts AS c ON c.contact_id = f.contact_id
WHERE (f.is_invoice OR f.is_credit_note)
  AND c.is_deleted IS NOT TRUE
