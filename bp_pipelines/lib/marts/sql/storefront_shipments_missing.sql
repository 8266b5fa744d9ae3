-- Shipped goods-out notes of storefront orders (linked by storefront.order_link, on storefront.brightpearl_channel_ids)
-- shipped on/after push_from with no storefront shipment: no shipment in storefront.shipments carrying the push's
-- marker ("Brightpearl goods-out note <id>" in comments) or the note's tracking number, and no confirmed or skipped
-- ledger row (push id shipment:gon:<id>). A confirmed row counts as present until the storefront order is extracted
-- again after it (the extraction may run before the push in the same run); re-extracted without the shipment, it is
-- listed (deleted on the storefront). Dead-lettered: listed at once with the reason. Never pushed: listed once
-- reconcile.shipment_delay_minutes (default 60) have passed since it shipped and the shipment push planned after the
-- note was extracted. Still open (planned/sending) rows are left to storefront_shipments:nothing_stuck. Empty while
-- the push is off or ships whole orders (shipments.trigger: {order_status: ...}). One row per note, naming it and why.
WITH settings AS (
    SELECT
        coalesce((SELECT value FROM push.state WHERE key = 'storefront.enabled'), 'false') = 'true'
            AND coalesce((SELECT value FROM push.state WHERE key = 'storefront.shipment_trigger_status_id'), 'null')
                = 'null' AS enabled,
        coalesce((SELECT value FROM push.state WHERE key = 'storefront.order_link'), 'external_ref') AS order_link,
        coalesce(
            (SELECT TRY_CAST(value AS BIGINT[]) FROM push.state WHERE key = 'storefront.channel_ids'), []
        ) AS channel_ids,
        (SELECT TRY_CAST(value AS TIMESTAMPTZ) FROM push.state WHERE key = 'storefront.push_from') AS push_from,
        (SELECT TRY_CAST(value AS TIMESTAMPTZ) FROM push.state WHERE key = 'storefront.shipment.planned_at')
            AS planned_at,
        coalesce(
            (SELECT TRY_CAST(value AS INTEGER) FROM push.state WHERE key = 'reconcile.shipment_delay_minutes'), 60
        ) AS minutes
),
notes AS (
    SELECT
        g.goods_out_note_id,
        g.order_id AS bp_order_id,
        CASE WHEN s.order_link = 'customer_ref' THEN TRY_CAST(trim(o.customer_ref) AS BIGINT)
             ELSE TRY_CAST(trim(o.external_ref) AS BIGINT) END AS storefront_order_id,
        g.shipped_on,
        coalesce(g.tracking_reference, '') AS tracking_reference,
        g._synced_at
    FROM brightpearl.goods_out_notes g
    JOIN brightpearl.orders o ON o.order_id = g.order_id
    CROSS JOIN settings s
    WHERE s.enabled AND g.shipped AND NOT coalesce(g.is_deleted, false) AND NOT coalesce(g.is_transfer, false)
      AND o.order_type_code = 'SO' AND NOT coalesce(o.is_deleted, false) AND list_contains(s.channel_ids, o.channel_id)
      AND g.shipped_on >= s.push_from
),
on_storefront AS (
    SELECT DISTINCT n.goods_out_note_id
    FROM notes n
    JOIN storefront.shipments sh ON sh.order_id = n.storefront_order_id AND NOT coalesce(sh.is_deleted, false)
    -- the marker exactly (note 12 is not note 123), or a shipment made by hand with the note's tracking number
    WHERE regexp_matches(coalesce(sh.comments, ''), 'Brightpearl goods-out note ' || n.goods_out_note_id || '(\D|$)')
       OR (n.tracking_reference <> '' AND trim(coalesce(sh.tracking_number, '')) = trim(n.tracking_reference))
),
pushed AS (
    SELECT push_id, state, note, finished_at, storefront_ref
    FROM push.ledger WHERE kind = 'shipment' AND push_id LIKE 'shipment:gon:%'
)
SELECT
    n.goods_out_note_id,
    n.bp_order_id,
    n.storefront_order_id,
    n.shipped_on,
    n.tracking_reference,
    p.push_id,
    coalesce(p.state, 'not planned') AS state,
    CASE
        WHEN n.storefront_order_id IS NULL
            THEN 'the Brightpearl order holds no storefront order id in the field named by storefront.order_link'
        WHEN p.state = 'dead' THEN 'dead-lettered: ' || coalesce(d.reason, p.note, 'see push.dead_letters')
        WHEN p.state = 'confirmed'
            THEN 'pushed as storefront shipment ' || coalesce(p.storefront_ref, '?') || ' (' || p.finished_at
                 || ') but no longer on the storefront order (deleted there?)'
        ELSE 'shipped ' || n.shipped_on || ' and never pushed: no shipment:gon:' || n.goods_out_note_id
             || ' row in push.ledger'
    END AS why
FROM notes n
CROSS JOIN settings s
LEFT JOIN pushed p ON p.push_id = 'shipment:gon:' || n.goods_out_note_id
LEFT JOIN push.dead_letters d ON d.push_id = p.push_id AND d.resolved_at IS NULL
LEFT JOIN storefront.orders so ON so.order_id = n.storefront_order_id
WHERE n.goods_out_note_id NOT IN (SELECT goods_out_note_id FROM on_storefront)
  AND coalesce(p.state, '') NOT IN ('skipped', 'planned', 'sending')
  AND CASE
        WHEN p.state = 'dead' THEN true
        -- pushed in this run or since the last extraction: trust the ledger until the order is read again
        WHEN p.state = 'confirmed' THEN so._synced_at > p.finished_at
        ELSE n.shipped_on < now() - to_minutes(s.minutes) AND n._synced_at < s.planned_at
      END
ORDER BY n.shipped_on, n.goods_out_note_id
