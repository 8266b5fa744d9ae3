"""Library packages: reusable machinery (API clients, streams and the sync engine, warehouse, marts).

Nothing here defines Dagster assets, and nothing imports `bp_pipelines.assets`, `checks`, `schedules` or
`definitions`: data flows API -> `lib.brightpearl` -> `lib.sync` -> `lib.warehouse` -> assets.
"""
