-- stock_position: stock per SKU and warehouse from the last product-availability fetch -- what can be sold now.
-- Brightpearl's onHand is already net of allocations (onHand = inStock - allocated), so available = on_hand.
-- Rows of products known to be deleted are left out; a product not (yet) synced keeps its stock row with a NULL sku.
SELECT
    sl.product_id,
    p.sku,
    p.name AS product_name,
    p.status AS product_status,
    p.stock_tracked,
    sl.warehouse_id,
    w.name AS warehouse_name,
    sl.in_stock,
    sl.on_hand,
    sl.allocated,
    sl.on_hand AS available,
    sl.in_transit,
    sl.as_of
FROM brightpearl.stock_levels AS sl
LEFT JOIN brightpearl.products AS p ON p.product_id = sl.product_id
LEFT JOIN brightpearl.warehouses AS w ON w.warehouse_id = sl.warehouse_id AND w.is_deleted IS NOT TRUE
WHERE sl.is_deleted IS NOT TRUE
  AND p.is_deleted IS NOT TRUE
ORDER BY p.sku, sl.product_id, sl.warehouse_id
