-- storefront_sku_mismatches: SKUs on one side only (or ambiguous), each row naming the record and why.
-- SKUs match ignoring case and surrounding spaces, as the stock push, the shipment push and the import match them.
-- Storefront side: every sellable storefront SKU (a variant; a product without options has its base variant) with no
-- live Brightpearl product: its stock is never pushed and an order of it cannot be imported as that product.
-- Brightpearl side: live, stock-tracked products the storefront should list and does not. Brightpearl does not say
-- which products belong on a storefront (a product's `salesChannels` hold per-channel names and descriptions, not a
-- listing), so the evidence is used: products sold on the storefront's Brightpearl channels (push.state
-- 'reconcile.storefront_channel_ids': storefront.brightpearl_channel_ids and import.channel_id) that still have
-- stock available in the warehouses that feed the storefront ('reconcile.stock_warehouse_ids': stock.warehouse_ids,
-- every warehouse when none). Plus SKUs several live Brightpearl products share, when the storefront lists or sold
-- them (the stock push skips them). SKUs in reconcile.ignore_skus are left out on both sides. Empty until the
-- storefront catalog has been extracted.
WITH settings AS (
    SELECT
        coalesce((SELECT TRY_CAST(value AS BIGINT[]) FROM push.state WHERE key = 'reconcile.storefront_channel_ids'),
                 []::BIGINT[]) AS channel_ids,
        coalesce((SELECT TRY_CAST(value AS BIGINT[]) FROM push.state WHERE key = 'reconcile.stock_warehouse_ids'),
                 []::BIGINT[]) AS warehouse_ids,
        coalesce((SELECT TRY_CAST(value AS VARCHAR[]) FROM push.state WHERE key = 'reconcile.ignore_skus'),
                 []::VARCHAR[]) AS ignore_skus
), bp_products AS (
    SELECT product_id, trim(sku) AS sku, lower(trim(sku)) AS sku_key, name, stock_tracked
    FROM brightpearl.products
    WHERE is_deleted IS NOT TRUE AND nullif(trim(sku), '') IS NOT NULL
      AND upper(coalesce(status, '')) <> 'ARCHIVED'
), bp AS (
    SELECT sku_key, min(sku) AS sku, min(product_id) AS product_id, min(name) AS name, count(*) AS products,
           bool_or(coalesce(stock_tracked, true)) AS stock_tracked
    FROM bp_products, settings
    WHERE NOT list_contains(settings.ignore_skus, sku_key)
    GROUP BY sku_key
), bp_stock AS (
    SELECT product_id, sum(greatest(coalesce(in_stock - allocated, on_hand), 0)) AS available
    FROM brightpearl.stock_levels, settings
    WHERE is_deleted IS NOT TRUE
      AND (len(settings.warehouse_ids) = 0 OR list_contains(settings.warehouse_ids, warehouse_id))
    GROUP BY product_id
), sold_on_storefront AS (
    -- live SKUs sold as such on the storefront's channels (a bundle's components are rows too, sold as the bundle)
    SELECT DISTINCT p.sku_key
    FROM brightpearl.order_rows r
    JOIN brightpearl.orders o ON o.order_id = r.order_id
    JOIN bp_products p ON p.product_id = r.product_id, settings
    WHERE o.order_type_code = 'SO' AND o.is_deleted IS NOT TRUE AND r.is_deleted IS NOT TRUE
      AND r.is_bundle_child IS NOT TRUE AND list_contains(settings.channel_ids, o.channel_id)
), sf AS (
    SELECT lower(trim(v.sku)) AS sku_key, min(trim(v.sku)) AS sku, min(v.variant_id) AS variant_id,
           min(v.product_id) AS product_id, min(p.name) AS name
    FROM storefront.variants AS v JOIN storefront.products AS p USING (product_id), settings
    WHERE v.is_deleted IS NOT TRUE AND p.is_deleted IS NOT TRUE AND nullif(trim(v.sku), '') IS NOT NULL
      AND NOT list_contains(settings.ignore_skus, lower(trim(v.sku)))
    GROUP BY 1
), catalog_extracted AS (
    SELECT count(*) > 0 AS yes FROM storefront.variants
)
SELECT 'storefront' AS side, sf.sku, NULL::BIGINT AS brightpearl_product_id, sf.product_id AS storefront_product_id,
       sf.variant_id AS storefront_variant_id, sf.name,
       'no live Brightpearl product has this SKU: its stock is never pushed and its orders cannot be matched'
       || ' (a storefront-only item: list it in reconcile.ignore_skus)' AS why
FROM sf LEFT JOIN bp USING (sku_key)
WHERE bp.sku_key IS NULL
UNION ALL
SELECT 'brightpearl', bp.sku, bp.product_id, NULL, NULL, bp.name,
       'sold on the storefront''s Brightpearl channel, ' || s.available
       || ' available, but no storefront product or variant has this SKU (delisted, or renamed on one side)'
FROM bp JOIN bp_stock AS s USING (product_id) JOIN sold_on_storefront USING (sku_key) LEFT JOIN sf USING (sku_key)
WHERE sf.sku_key IS NULL AND bp.products = 1 AND bp.stock_tracked AND s.available > 0
  AND (SELECT yes FROM catalog_extracted)
UNION ALL
SELECT 'brightpearl', bp.sku, bp.product_id, sf.product_id, sf.variant_id, bp.name,
       bp.products || ' live Brightpearl products share this SKU: its stock is not pushed until one remains'
FROM bp LEFT JOIN sf USING (sku_key) LEFT JOIN sold_on_storefront AS sold USING (sku_key)
WHERE bp.products > 1 AND (sf.sku_key IS NOT NULL OR sold.sku_key IS NOT NULL) AND (SELECT yes FROM catalog_extracted)
ORDER BY side, sku
