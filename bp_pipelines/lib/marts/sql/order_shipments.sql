-- order_shipments: per order, its live goods-out notes (shipments). Transfers between warehouses are not
-- shipments to a customer and are left out. TEMP VIEW, never persisted.
SELECT
    n.order_id,
    count(*) AS goods_out_notes,
    count(*) FILTER (WHERE n.shipped) AS shipped_notes,
    max(n.shipped_on) FILTER (WHERE n.shipped) AS last_shipped_on,
    string_agg(DISTINCT nullif(trim(n.tracking_reference), ''), ', ' ORDER BY nullif(trim(n.tracking_reference), ''))
        AS tracking_references
FROM brightpearl.goods_out_notes AS n
WHERE n.is_deleted IS NOT TRUE AND n.is_transfer IS NOT TRUE AND n.order_id IS NOT NULL
GROUP BY n.order_id
