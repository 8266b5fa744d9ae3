-- open_purchase_orders: live purchase orders not yet fully received, closed or cancelled -- the buyer's and
-- supplier's view of what is still due in. age_days and is_overdue read the clock: the view
-- analytics.open_purchase_orders computes them when queried (marts.py), from ordered_on and delivery_date.
SELECT
    f.order_id,
    f.contact_id AS supplier_contact_id,
    coalesce(
        nullif(trim(c.company_name), ''),
        nullif(trim(concat_ws(' ', nullif(trim(c.first_name), ''), nullif(trim(c.last_name), ''))), '')
    ) AS supplier_name,
    c.email AS supplier_email,
    f.order_status_id,
    f.status_name,
    f.customer_ref AS reference,
    f.ordered_on,
    f.delivery_date,
    CAST(NULL AS BIGINT) AS age_days,
    CAST(NULL AS BOOLEAN) AS is_overdue,
    f.warehouse_id,
    w.name AS warehouse_name,
    f.shipping_status_code,
    f.currency_code,
    f.total_net,
    f.total_tax,
    f.total_value,
    f.payment_status,
    coalesce(r.row_count, 0) AS row_count,
    coalesce(r.total_quantity, 0) AS total_quantity,
    f.updated_on
FROM order_facts AS f
LEFT JOIN brightpearl.contacts AS c ON c.contact_id = f.contact_id
LEFT JOIN brightpearl.warehouses AS w ON w.warehouse_id = f.warehouse_id AND w.is_deleted IS NOT TRUE
LEFT JOIN order_row_stats AS r ON r.order_id = f.order_id
WHERE f.is_open_purchase
  AND c.is_deleted IS NOT TRUE
