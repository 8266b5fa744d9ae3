-- storefront_sku_mismatches: SKUs on one side only (or ambiguous), each row naming the record and why.
-- SKUs match ignoring case and surrounding spaces, as the stock push and the shipment push match them.
-- Storefront side: every sellable storefront SKU (a variant; a product without options has its base variant) with no
-- live Brightpearl product. Brightpearl side: live, stock-tracked products with stock available somewhere that the
-- storefront does not list (products without stock are not flagged: most accounts sell more than they list), and
-- SKUs several live Brightpearl products share. Empty until the storefront catalog has been extracted.
WITH bp_products AS (
    SELECT product_id, trim(sku) AS sku, lower(trim(sku)) AS sku_key, name, stock_tracked
    FROM brightpearl.products
    WHERE is_deleted IS NOT TRUE AND nullif(trim(sku), '') IS NOT NULL
      AND upper(coalesce(status, '')) <> 'ARCHIVED'
), bp AS (
    SELECT sku_key, min(sku) AS sku, min(product_id) AS product_id, min(name) AS name, count(*) AS products,
           bool_or(coalesce(stock_tracked, true)) AS stock_tracked
    FROM bp_products GROUP BY sku_key
), bp_stock AS (
    SELECT product_id, sum(greatest(coalesce(in_stock - allocated, on_hand), 0)) AS available
    FROM brightpearl.stock_levels WHERE is_deleted IS NOT TRUE GROUP BY product_id
), sf AS (
    SELECT lower(trim(v.sku)) AS sku_key, min(trim(v.sku)) AS sku, min(v.variant_id) AS variant_id,
           min(v.product_id) AS product_id, min(p.name) AS name
    FROM storefront.variants AS v JOIN storefront.products AS p USING (product_id)
    WHERE v.is_deleted IS NOT TRUE AND p.is_deleted IS NOT TRUE AND nullif(trim(v.sku), '') IS NOT NULL
    GROUP BY 1
), catalog_extracted AS (
    SELECT count(*) > 0 AS yes FROM storefront.variants
)
SELECT 'storefront' AS side, sf.sku, NULL::BIGINT AS brightpearl_product_id, sf.product_id AS storefront_product_id,
       sf.variant_id AS storefront_variant_id, sf.name,
       'no live Brightpearl product has this SKU: its stock is never pushed and its orders cannot be matched' AS why
FROM sf LEFT JOIN bp USING (sku_key)
WHERE bp.sku_key IS NULL
UNION ALL
SELECT 'brightpearl', bp.sku, bp.product_id, NULL, NULL, bp.name,
       'Brightpearl has ' || s.available || ' available but no storefront product or variant has this SKU'
FROM bp JOIN bp_stock AS s USING (product_id) LEFT JOIN sf USING (sku_key)
WHERE sf.sku_key IS NULL AND bp.products = 1 AND bp.stock_tracked AND s.available > 0
  AND (SELECT yes FROM catalog_extracted)
UNION ALL
SELECT 'brightpearl', bp.sku, bp.product_id, sf.product_id, sf.variant_id, bp.name,
       bp.products || ' live Brightpearl products share this SKU: its stock is not pushed until one remains'
FROM bp LEFT JOIN sf USING (sku_key)
WHERE bp.products > 1 AND (SELECT yes FROM catalog_extracted)
ORDER BY side, sku
