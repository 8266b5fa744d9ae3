"""The push settings from the sync configuration file (`BP_SYNC_CONFIG`), names resolved against the warehouse."""

from __future__ import annotations

import dagster as dg

from bp_pipelines.lib.sync_file import SyncFileError, load_sync_file, resolve
from bp_pipelines.lib.warehouse import DuckDBWarehouse

from .settings import Carrier, PushSettings


def load_push_settings(wh: DuckDBWarehouse) -> PushSettings:
    """Load, validate and resolve the file; a mistake fails the step with the file's own one clear message."""
    try:
        sync_file = load_sync_file()
        if not sync_file.storefront.enabled:
            return PushSettings(enabled=False, channel_ids=())
        with wh.connect() as conn:
            resolved = resolve(sync_file, conn)
    except SyncFileError as exc:
        # Not retried: the file stays wrong until someone edits it.
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    shipments = sync_file.shipments
    return PushSettings(
        enabled=True,
        channel_ids=tuple(sync_file.storefront.brightpearl_channel_ids),
        order_link=sync_file.storefront.order_link,
        push_from=resolved.push_from,
        push_from_lookback=sync_file.push_from_lookback,
        status_map=dict(resolved.status_map),
        unmapped_status=resolved.unmapped_status,
        shipment_trigger_status_id=resolved.shipment_trigger_status_id,
        carriers={k: Carrier(v.tracking_carrier, v.shipping_provider) for k, v in resolved.carriers.items()},
        default_carrier=Carrier(
            shipments.default_carrier.tracking_carrier, shipments.default_carrier.shipping_provider
        ),
    )


def load_storefront_enabled() -> bool:
    """`storefront.enabled` of the sync file: the extraction reads the storefront only when it is on."""
    try:
        return load_sync_file().storefront.enabled
    except SyncFileError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def load_stock_warehouse_ids(wh: DuckDBWarehouse) -> list[int] | None:
    """The checked `stock.warehouse_ids`, or None when the stock push is off (no `stock` section, or
    `storefront.enabled: false`)."""
    try:
        sync_file = load_sync_file()
        if not sync_file.storefront.enabled or sync_file.stock is None:
            return None
        with wh.connect() as conn:
            resolve(sync_file, conn)  # also checks every stock.warehouse_ids entry against brightpearl.warehouses
    except SyncFileError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return list(sync_file.stock.warehouse_ids)
