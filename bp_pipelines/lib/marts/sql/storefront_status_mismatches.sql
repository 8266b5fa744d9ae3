-- Storefront orders linked to a Brightpearl order (storefront.order_link: externalRef or customerRef = storefront
-- order id) whose storefront status (storefront.orders.status_id) is not the one storefront.status_map (else
-- unmapped_status) gives for the Brightpearl order's current status, and that the push had time to fix: the
-- Brightpearl order changed on/after push_from and was extracted before the status push last planned. The push
-- leaves its resolved settings in push.state (storefront.*). Not listed: an order whose status push is still open
-- (planned/sending: the check storefront_order_statuses:nothing_stuck reports those), or whose confirmed push is
-- newer than the storefront order as extracted (pushed in this run, re-read on the next). Empty while the push is
-- off. One row per order, naming it and why (a dead-lettered push with its reason).
WITH settings AS (
    SELECT
        coalesce((SELECT value FROM push.state WHERE key = 'storefront.enabled'), 'false') = 'true' AS enabled,
        coalesce((SELECT value FROM push.state WHERE key = 'storefront.order_link'), 'external_ref') AS order_link,
        coalesce(
            (SELECT TRY_CAST(value AS BIGINT[]) FROM push.state WHERE key = 'storefront.channel_ids'), []
        ) AS channel_ids,
        (SELECT TRY_CAST(value AS TIMESTAMPTZ) FROM push.state WHERE key = 'storefront.push_from') AS push_from,
        (SELECT TRY_CAST(value AS TIMESTAMPTZ) FROM push.state WHERE key = 'storefront.order_status.planned_at')
            AS planned_at,
        (SELECT TRY_CAST(value AS BIGINT) FROM push.state WHERE key = 'storefront.unmapped_status') AS unmapped
),
status_map AS (  -- push.state 'storefront.status_map': {"<Brightpearl order_status_id>": <storefront status_id>}
    SELECT TRY_CAST(k AS BIGINT) AS bp_status_id, TRY_CAST(json_extract_string(st.value, '$."' || k || '"') AS BIGINT)
        AS sf_status_id
    FROM push.state st, unnest(json_keys(st.value)) AS t(k)
    WHERE st.key = 'storefront.status_map'
),
linked AS (
    SELECT
        o.order_id AS bp_order_id,
        CASE WHEN s.order_link = 'customer_ref' THEN TRY_CAST(trim(o.customer_ref) AS BIGINT)
             ELSE TRY_CAST(trim(o.external_ref) AS BIGINT) END AS storefront_order_id,
        o.order_status_id,
        o.order_status_name,
        o.updated_on,
        coalesce(m.sf_status_id, s.unmapped) AS expected_status_id
    FROM brightpearl.orders o
    CROSS JOIN settings s
    LEFT JOIN status_map m ON m.bp_status_id = o.order_status_id
    WHERE s.enabled AND o.order_type_code = 'SO' AND NOT coalesce(o.is_deleted, false)
      AND list_contains(s.channel_ids, o.channel_id)
      AND o.updated_on >= s.push_from AND o._synced_at < s.planned_at
),
latest AS (  -- the order's latest status push that was not superseded
    SELECT
        bp_order_id,
        push_id,
        state,
        TRY_CAST(desired->>'status_id' AS BIGINT) AS pushed_status_id,
        finished_at,
        note,
        row_number() OVER (PARTITION BY bp_order_id ORDER BY planned_at DESC, push_id DESC) AS rn
    FROM push.ledger
    WHERE kind = 'order_status' AND state <> 'skipped'
)
SELECT
    l.storefront_order_id,
    l.bp_order_id,
    l.order_status_id AS bp_status_id,
    l.order_status_name AS bp_status,
    so.status_id AS storefront_status_id,
    so.status AS storefront_status,
    l.expected_status_id,
    p.push_id,
    coalesce(p.state, 'not planned') AS state,
    l.updated_on AS bp_updated_on,
    CASE
        WHEN p.state = 'dead' THEN 'dead-lettered: ' || coalesce(d.reason, p.note, 'see push.dead_letters')
        WHEN p.push_id IS NULL
            THEN 'never pushed: no status push for this order in push.ledger since push_from'
        WHEN p.pushed_status_id = l.expected_status_id
            THEN 'changed on the storefront after the push set status ' || l.expected_status_id || ' ('
                 || p.finished_at || '); the push sends a status again only when Brightpearl''s changes'
        ELSE 'the last push set status ' || coalesce(CAST(p.pushed_status_id AS VARCHAR), '?') || ', not the mapped '
             || l.expected_status_id || ' (storefront.status_map changed since?)'
    END AS why
FROM linked l
JOIN storefront.orders so ON so.order_id = l.storefront_order_id AND NOT coalesce(so.is_deleted, false)
LEFT JOIN latest p ON p.bp_order_id = l.bp_order_id AND p.rn = 1
LEFT JOIN push.dead_letters d ON d.push_id = p.push_id AND d.resolved_at IS NULL
WHERE l.expected_status_id IS NOT NULL
  AND so.status_id IS DISTINCT FROM l.expected_status_id
  AND coalesce(p.state, '') NOT IN ('planned', 'sending')
  -- coalesce: with no push at all (p NULL) the condition is NULL, and NOT NULL would drop the never-pushed order
  AND NOT coalesce(
      p.state = 'confirmed' AND p.pushed_status_id = l.expected_status_id AND so._synced_at < p.finished_at, false
  )
ORDER BY l.storefront_order_id, l.bp_order_id
