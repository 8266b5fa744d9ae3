"""The storefront (BigCommerce) side of the warehouse: extraction into schema `storefront` (`extract.py`) and the
stock push (`stock.py`). Plain Python over the BigCommerce client and the warehouse; no Dagster definitions."""

from .extract import StreamReport, StreamSync
from .stock import StockPush, StockReport

__all__ = ["StockPush", "StockReport", "StreamReport", "StreamSync"]
