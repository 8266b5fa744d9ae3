-- order_row_stats: per live order, its live rows. Bundle children are not counted (Brightpearl expands a bundle
-- into a parent row plus component rows; the customer ordered the parent). TEMP VIEW, never persisted.
SELECT
    r.order_id,
    count(*) FILTER (WHERE r.is_bundle_child IS NOT TRUE) AS row_count,
    CAST(coalesce(sum(r.quantity) FILTER (WHERE r.is_bundle_child IS NOT TRUE), 0) AS DECIMAL(18, 4)) AS total_quantity
FROM brightpearl.order_rows AS r
WHERE r.is_deleted IS NOT TRUE
GROUP BY r.order_id
