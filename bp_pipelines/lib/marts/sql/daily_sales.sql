-- daily_sales: sales by UTC day (placedOn, else createdOn), channel and currency -- the trading dashboard.
-- Orders: live SO that are not quotes or cancelled, invoiced or not. Credits: live SC not cancelled, on the day
-- the credit was placed. net/tax/gross... are in the row's currency_code: never add rows of different currencies;
-- base_net/base_gross/base_net_after_credits are in the account's base currency and add up across currencies.
WITH docs AS (
    SELECT
        CAST(timezone('UTC', f.ordered_on) AS DATE) AS sales_date,
        f.channel_id,
        f.currency_code,
        f.order_type_code,
        f.total_net,
        f.total_tax,
        f.total_value,
        f.base_net,
        f.base_value
    FROM order_facts AS f
    WHERE (f.order_type_code = 'SO' AND f.is_sale)
       OR (f.order_type_code = 'SC' AND NOT f.is_cancelled)
)
SELECT
    d.sales_date,
    d.channel_id,
    ch.name AS channel_name,
    d.currency_code,
    count(*) FILTER (WHERE d.order_type_code = 'SO') AS orders,
    CAST(coalesce(sum(d.total_net) FILTER (WHERE d.order_type_code = 'SO'), 0) AS DECIMAL(18, 4)) AS net,
    CAST(coalesce(sum(d.total_tax) FILTER (WHERE d.order_type_code = 'SO'), 0) AS DECIMAL(18, 4)) AS tax,
    CAST(coalesce(sum(d.total_value) FILTER (WHERE d.order_type_code = 'SO'), 0) AS DECIMAL(18, 4)) AS gross,
    count(*) FILTER (WHERE d.order_type_code = 'SC') AS credits,
    CAST(coalesce(sum(abs(d.total_net)) FILTER (WHERE d.order_type_code = 'SC'), 0) AS DECIMAL(18, 4)) AS credit_net,
    CAST(coalesce(sum(abs(d.total_tax)) FILTER (WHERE d.order_type_code = 'SC'), 0) AS DECIMAL(18, 4)) AS credit_tax,
    CAST(coalesce(sum(abs(d.total_value)) FILTER (WHERE d.order_type_code = 'SC'), 0) AS DECIMAL(18, 4))
        AS credit_gross,
    CAST(
        coalesce(sum(d.total_net) FILTER (WHERE d.order_type_code = 'SO'), 0)
        - coalesce(sum(abs(d.total_net)) FILTER (WHERE d.order_type_code = 'SC'), 0)
        AS DECIMAL(18, 4)
    ) AS net_after_credits,
    CAST(coalesce(sum(d.base_net) FILTER (WHERE d.order_type_code = 'SO'), 0) AS DECIMAL(18, 4)) AS base_net,
    CAST(coalesce(sum(d.base_value) FILTER (WHERE d.order_type_code = 'SO'), 0) AS DECIMAL(18, 4)) AS base_gross,
    CAST(
        coalesce(sum(d.base_net) FILTER (WHERE d.order_type_code = 'SO'), 0)
        - coalesce(sum(abs(d.base_net)) FILTER (WHERE d.order_type_code = 'SC'), 0)
        AS DECIMAL(18, 4)
    ) AS base_net_after_credits
FROM docs AS d
LEFT JOIN brightpearl.channels AS ch ON ch.channel_id = d.channel_id AND ch.is_deleted IS NOT TRUE
GROUP BY d.sales_date, d.channel_id, ch.name, d.currency_code
ORDER BY d.sales_date, d.channel_id NULLS FIRST, d.currency_code
