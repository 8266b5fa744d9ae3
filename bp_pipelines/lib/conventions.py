"""Facts every Dagster definition shares, stated once: the writer pool, group names, kinds, partitions and the
backfill policy of the Brightpearl assets."""

from __future__ import annotations

import dagster as dg

from bp_pipelines import settings

# One writer of the DuckDB working file at a time (dagster.yaml: concurrency pools default_limit 1).
WRITER_POOL = "duckdb_writer"

BRIGHTPEARL_GROUP = "brightpearl"
ANALYTICS_GROUP = "analytics"
BRIGHTPEARL_KINDS = frozenset({"duckdb", "brightpearl"})

# Daily partitions of the Brightpearl extraction (UTC days of `updatedOn`; goods-out notes: see docs/warehouse.md).
# end_offset=1: today's (still open) day is a partition too, so the 15-minute schedule can target it.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.sync_start_date().isoformat(), end_offset=1, timezone="UTC"
)

# A backfill of many days is one run with one ranged search, not one run per day.
BACKFILL_POLICY = dg.BackfillPolicy.single_run()

STOREFRONT_GROUP = "storefront"
STOREFRONT_KINDS = frozenset({"duckdb", "bigcommerce"})
# Storefront calls share one pool (dagster.yaml: default_limit 1): one pushing step at a time spends the store's
# request budget, paced by the client from BigCommerce's X-Rate-Limit-* headers (150 requests / 30 s on most plans).
STOREFRONT_POOL = "bigcommerce_api"
# A failed push step (storefront down, 5xx after the client's own retries) is retried by Dagster with backoff and
# jitter; the ledger makes the retry send only what is not yet confirmed.
PUSH_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
