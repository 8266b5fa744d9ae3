"""Dagster assets, one package per source system (`brightpearl/`, `analytics/`, ...)."""
