-- customer_order_history: one row per live sales order or sales credit of a customer -- the portal's order list.
-- Quotes and cancelled orders are kept and flagged (order_kind / is_cancelled) so a portal can show or hide them.
-- No ORDER BY: sorting the finished rows cost more than building them (4.5 of 13 CPU-s at 1M orders), and within
-- 96 MB it ran out of memory beside the joins. Queries order what they read (e.g. ORDER BY contact_id, ordered_on).
SELECT
    f.contact_id,
    nullif(trim(c.company_name), '') AS company_name,
    f.order_id,
    f.order_type_code,
    CASE
        WHEN f.order_type_code = 'SC' THEN 'credit'
        WHEN f.is_quote THEN 'quote'
        ELSE 'order'
    END AS order_kind,
    f.customer_ref,
    f.external_ref,
    f.order_status_id,
    f.status_name,
    f.is_cancelled,
    f.ordered_on,
    f.channel_id,
    ch.name AS channel_name,
    f.warehouse_id,
    f.currency_code,
    f.total_net,
    f.total_tax,
    f.total_value,
    f.payment_status,
    f.invoice_reference,
    f.is_invoiced,
    f.shipping_status_code,
    f.shipped_state,
    f.is_open_sale AS is_open,
    coalesce(st.row_count, 0) AS row_count,
    coalesce(st.total_quantity, 0) AS total_quantity,
    coalesce(st.goods_out_notes, 0) AS goods_out_notes,
    coalesce(st.shipped_notes, 0) AS shipped_notes,
    st.last_shipped_on,
    st.tracking_references,
    f.closed_on,
    f.updated_on
FROM order_facts AS f
LEFT JOIN brightpearl.contacts AS c ON c.contact_id = f.contact_id
LEFT JOIN brightpearl.channels AS ch ON ch.channel_id = f.channel_id AND ch.is_deleted IS NOT TRUE
-- The two per-order aggregates are joined to each other first, then once to the orders: joining both to every
-- order at once held both join tables in memory and ran out of a 96 MB limit at 1M orders.
LEFT JOIN (
    SELECT * FROM order_row_stats FULL JOIN order_shipments USING (order_id)
) AS st ON st.order_id = f.order_id
WHERE f.order_type_code IN ('SO', 'SC')
  AND c.is_deleted IS NOT TRUE
