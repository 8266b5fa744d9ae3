"""Streams and the sync engine: what each Brightpearl stream is (`streams`), how a run syncs it (`stream_sync`,
`reference_sync`, `stock_sync`), and the one materialize step the assets call (`materialize`)."""

from .config import Mode, SyncConfig
from .materialize import materialize_payments, materialize_reference_list, materialize_stock, materialize_stream
from .streams import REFERENCE_LISTS, STREAMS, ReferenceList, Stream

__all__ = [
    "REFERENCE_LISTS",
    "STREAMS",
    "Mode",
    "ReferenceList",
    "Stream",
    "SyncConfig",
    "materialize_payments",
    "materialize_reference_list",
    "materialize_stock",
    "materialize_stream",
]
