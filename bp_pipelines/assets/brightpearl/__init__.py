"""Brightpearl extraction assets (group `brightpearl`): tables in schema `brightpearl` of the DuckDB warehouse.

See docs/warehouse.md for the tables and the sync design.
"""

from __future__ import annotations

from .config import SyncConfig
from .goods_out import goods_out_notes_and_rows
from .master_data import contacts, products
from .orders import orders_and_rows
from .partitions import daily_partitions
from .reference import channels, order_statuses, shipping_methods, warehouses
from .stock import stock_levels

reference_assets = [order_statuses, warehouses, channels, shipping_methods]
brightpearl_assets = [*reference_assets, products, contacts, orders_and_rows, goods_out_notes_and_rows, stock_levels]

__all__ = ["SyncConfig", "brightpearl_assets", "daily_partitions", "reference_assets"]
