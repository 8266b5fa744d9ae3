-- open_quotations: live sales quotes not yet converted, invoiced or cancelled -- the sales team's follow-up list
-- and the portal's "my quotes". age_days reads the clock: the view analytics.open_quotations computes it when
-- queried (marts.py), from quoted_on.
SELECT
    f.order_id,
    f.contact_id,
    nullif(trim(c.company_name), '') AS company_name,
    nullif(trim(concat_ws(' ', nullif(trim(c.first_name), ''), nullif(trim(c.last_name), ''))), '') AS contact_name,
    c.email,
    f.order_status_id,
    f.status_name,
    f.customer_ref,
    f.ordered_on AS quoted_on,
    CAST(NULL AS BIGINT) AS age_days,
    f.channel_id,
    f.currency_code,
    f.total_net,
    f.total_tax,
    f.total_value,
    coalesce(r.row_count, 0) AS row_count,
    coalesce(r.total_quantity, 0) AS total_quantity,
    f.updated_on
FROM order_facts AS f
LEFT JOIN brightpearl.contacts AS c ON c.contact_id = f.contact_id
LEFT JOIN order_row_stats AS r ON r.order_id = f.order_id
WHERE f.is_quote AND NOT f.is_cancelled AND NOT f.is_closed
  AND c.is_deleted IS NOT TRUE
