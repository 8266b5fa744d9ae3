-- customer_documents: customer invoices (invoiced SO) and credit notes (invoiced SC) -- the portal's invoice list.
-- signed_total is negative for credit notes so sum(signed_total) over outstanding documents is the balance.
-- Payment status is per document; Brightpearl's order payment status does not carry the amount paid, so a
-- PARTIALLY_PAID invoice is counted in full as outstanding.
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
    f.is_unpaid AS is_outstanding,
    coalesce(f.is_unpaid AND f.due_date < now(), false) AS is_overdue,
    f.customer_ref,
    f.status_name
FROM order_facts AS f
LEFT JOIN brightpearl.contacts AS c ON c.contact_id = f.contact_id
WHERE (f.is_invoice OR f.is_credit_note)
  AND c.is_deleted IS NOT TRUE
ORDER BY document_date, f.order_id
