"""Dagster resources: `brightpearl` (API client), `bigcommerce` (storefront client), `warehouse` (DuckDB)."""
