-- Storefront orders in an importable status (they are in push.ledger as kind order_import once the import has seen
-- them) that are still not in Brightpearl `import.delay_minutes` (push.state, default 60) after they were placed.
-- Empty while the import is off (no ledger rows). One row per order, naming it and why.
WITH delay AS (
    SELECT coalesce(
        (SELECT TRY_CAST(value AS INTEGER) FROM push.state WHERE key = 'import.delay_minutes'), 60
    ) AS minutes
),
waiting AS (
    SELECT
        l.storefront_order_id,
        l.push_id,
        l.state,
        l.attempts,
        coalesce(
            try_strptime(json_extract_string(l.desired, '$.order.date_created'), '%a, %d %b %Y %H:%M:%S %z'),
            l.planned_at
        ) AS placed_at,
        l.planned_at,
        l.sent_at,
        d.reason AS dead_letter_reason,
        l.note
    FROM push.ledger l
    LEFT JOIN push.dead_letters d ON d.push_id = l.push_id AND d.resolved_at IS NULL
    WHERE l.kind = 'order_import' AND l.state IN ('planned', 'sending', 'dead')
)
SELECT
    storefront_order_id,
    push_id,
    state,
    attempts,
    placed_at,
    planned_at,
    sent_at,
    date_diff('minute', placed_at, now()) AS minutes_waiting,
    CASE state
        WHEN 'dead' THEN 'dead-lettered: ' || coalesce(dead_letter_reason, note, 'see push.dead_letters')
        WHEN 'sending' THEN 'create sent but not confirmed (checked by externalRef on the next run)'
        ELSE 'planned but not created yet (the import has not run since, or its step keeps failing)'
    END AS why
FROM waiting, delay
WHERE placed_at < now() - to_minutes(delay.minutes)
ORDER BY placed_at, storefront_order_id
