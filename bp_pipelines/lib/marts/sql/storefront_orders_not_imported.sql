-- Storefront orders in an importable status (`import.statuses`, push.state) that are still not in Brightpearl
-- `import.delay_minutes` (push.state, default 60) after they were placed. Read from the extracted storefront orders
-- (schema storefront), so an order the import never planned is listed too, beside the ones it planned and could not
-- create (ledger kind order_import). In Brightpearl = confirmed in the ledger, or a live sales order with the
-- storefront id as externalRef; guest orders skipped by `import.guest_orders: false` are left out on purpose.
-- Empty while the import is off (push.state 'import.enabled'). One row per order, naming it and why.
WITH settings AS (
    SELECT
        coalesce((SELECT TRY_CAST(value AS INTEGER) FROM push.state WHERE key = 'import.delay_minutes'), 60) AS minutes,
        coalesce((SELECT value FROM push.state WHERE key = 'import.enabled'), 'false') = 'true' AS enabled,
        coalesce(
            (SELECT TRY_CAST(value AS INTEGER[]) FROM push.state WHERE key = 'import.statuses'), [11]
        ) AS statuses
),
latest AS (  -- one ledger row per storefront order (push id import:order:<id>)
    SELECT storefront_order_id, push_id, state, attempts, planned_at, sent_at, note, desired
    FROM push.ledger WHERE kind = 'order_import'
),
in_brightpearl AS (
    SELECT DISTINCT TRY_CAST(trim(external_ref) AS BIGINT) AS storefront_order_id
    FROM brightpearl.orders
    WHERE order_type_code = 'SO' AND NOT coalesce(is_deleted, false) AND TRY_CAST(trim(external_ref) AS BIGINT) IS NOT NULL
),
candidates AS (
    -- importable extracted orders ...
    SELECT o.order_id AS storefront_order_id, o.date_created AS placed_at
    FROM storefront.orders o, settings s
    WHERE NOT coalesce(o.is_deleted, false) AND list_contains(s.statuses, o.status_id)
    UNION
    -- ... and orders the import planned but has not created (also those planned before their extraction)
    SELECT l.storefront_order_id,
           coalesce(
               try_strptime(json_extract_string(l.desired, '$.order.date_created'), '%a, %d %b %Y %H:%M:%S %z'),
               l.planned_at
           )
    FROM latest l WHERE l.state IN ('planned', 'sending', 'dead')
),
waiting AS (
    SELECT c.storefront_order_id, min(c.placed_at) AS placed_at
    FROM candidates c
    LEFT JOIN latest l USING (storefront_order_id)
    WHERE (l.state IS NULL OR l.state IN ('planned', 'sending', 'dead'))
      AND c.storefront_order_id NOT IN (SELECT storefront_order_id FROM in_brightpearl)
    GROUP BY ALL
)
SELECT
    w.storefront_order_id,
    l.push_id,
    coalesce(l.state, 'not planned') AS state,
    l.attempts,
    w.placed_at,
    l.planned_at,
    l.sent_at,
    date_diff('minute', w.placed_at, now()) AS minutes_waiting,
    CASE coalesce(l.state, 'not planned')
        WHEN 'dead' THEN 'dead-lettered: ' || coalesce(d.reason, l.note, 'see push.dead_letters')
        WHEN 'sending' THEN 'create sent but not confirmed (checked by externalRef on the next run)'
        WHEN 'planned' THEN 'planned but not created yet (the import has not run since, or its step keeps failing)'
        ELSE 'extracted but never planned: storefront_order_import has not run since the storefront extraction'
    END AS why
FROM waiting w
CROSS JOIN settings s
LEFT JOIN latest l USING (storefront_order_id)
LEFT JOIN push.dead_letters d ON d.push_id = l.push_id AND d.resolved_at IS NULL
WHERE s.enabled AND w.placed_at < now() - to_minutes(s.minutes)
ORDER BY w.placed_at, w.storefront_order_id
