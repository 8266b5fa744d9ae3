-- storefront_stock_drift: storefront SKUs whose level, as the last stock push left it, differs from Brightpearl's
-- available stock (in stock minus allocated over the configured warehouses) computed by that push. After a clean
-- push this is empty; a row names the SKU, both figures and why (the storefront's rejection from the dead letter).
WITH dead AS (
    SELECT l.desired ->> 'sku_key' AS sku_key, arg_max(d.reason, d.last_seen) AS reason
    FROM push.ledger AS l JOIN push.dead_letters AS d USING (push_id)
    WHERE l.kind = 'stock' AND d.resolved_at IS NULL
    GROUP BY 1
)
SELECT i.sku, i.variant_id AS storefront_variant_id, i.product_id AS storefront_product_id, i.location_id,
       i.level AS storefront_level, i.brightpearl_available, i.level - i.brightpearl_available AS difference,
       i.push_state, i.read_at,
       CASE
           WHEN dead.reason IS NOT NULL THEN 'the storefront rejected the push: ' || dead.reason
           ELSE 'not pushed yet (the push failed or is still running); the next stock push corrects it'
       END AS why
FROM storefront.inventory_levels AS i
LEFT JOIN dead ON dead.sku_key = lower(trim(i.sku))
WHERE i.brightpearl_available IS NOT NULL AND i.level IS DISTINCT FROM i.brightpearl_available
ORDER BY i.sku
