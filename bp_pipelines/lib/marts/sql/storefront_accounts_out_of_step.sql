-- Brightpearl trade customers (credit limit or terms, or the contact tag of accounts.who; valid e-mail: the
-- storefront_accounts audience) whose storefront account is not in step with the ERP: never pushed, or the latest
-- change not confirmed (planned, sending, dead-lettered), or the contact changed in Brightpearl after the last push.
-- Empty while the account sync is off (push.state 'accounts.enabled').
WITH trade AS (
    SELECT contact_id, lower(trim(email)) AS email, updated_on
    FROM brightpearl.contacts
    WHERE NOT coalesce(is_deleted, false) AND NOT coalesce(is_supplier, false) AND NOT coalesce(is_staff, false)
      -- accounts.who: credit customers, or (push.state 'accounts.tag_id' set) the contacts with that tag
      AND CASE WHEN nullif((SELECT value FROM push.state WHERE key = 'accounts.tag_id'), '') IS NULL
               THEN coalesce(credit_limit, 0) > 0 OR coalesce(credit_term_days, 0) > 0
               ELSE coalesce(list_contains(tag_ids, (SELECT TRY_CAST(value AS BIGINT) FROM push.state
                                                     WHERE key = 'accounts.tag_id')), false) END
      AND regexp_matches(trim(email), '^[^@\s]+@[^@\s]+\.[^@\s]+$')
      AND (SELECT value FROM push.state WHERE key = 'accounts.enabled') = 'true'
),
latest AS (
    SELECT
        TRY_CAST(split_part(push_id, ':', 2) AS BIGINT) AS contact_id,
        push_id,
        state,
        planned_at,
        note,
        row_number() OVER (PARTITION BY split_part(push_id, ':', 2) ORDER BY planned_at DESC, push_id DESC) AS rn
    FROM push.ledger
    WHERE kind = 'account' AND state <> 'skipped'
)
SELECT
    t.contact_id,
    t.email,
    t.updated_on AS contact_updated_on,
    l.push_id,
    l.state,
    l.planned_at,
    CASE
        WHEN l.push_id IS NULL THEN 'no storefront account pushed yet (storefront_accounts has not run since)'
        WHEN l.state = 'confirmed' THEN 'changed in Brightpearl since the last push (' || l.planned_at || ')'
        WHEN l.state = 'dead' THEN 'dead-lettered: ' || coalesce(d.reason, l.note, 'see push.dead_letters')
        ELSE 'ERP change ' || l.state || ', not yet confirmed on the storefront'
    END AS why
FROM trade t
LEFT JOIN latest l ON l.contact_id = t.contact_id AND l.rn = 1
LEFT JOIN push.dead_letters d ON d.push_id = l.push_id AND d.resolved_at IS NULL
WHERE l.push_id IS NULL OR l.state IN ('planned', 'sending', 'dead') OR t.updated_on > l.planned_at
ORDER BY t.contact_id
