"""The push settings from the sync configuration file (`BP_SYNC_CONFIG`), names resolved against the warehouse."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from bp_pipelines.lib.sync_file import SyncFileError, load_sync_file, resolve
from bp_pipelines.lib.warehouse import DuckDBWarehouse

from .accounts import AccountSettings
from .imports import ImportSettings
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


@dataclass(frozen=True)
class ExtractSettings:
    """What the storefront extraction needs from the sync file, and the settings the reconciliation marts read."""

    enabled: bool  # storefront.enabled, or an import section (the import plans from the extracted orders)
    importable_statuses: tuple[int, ...] = ()  # import.statuses: swept whatever their age on the first run
    storefront_channel_ids: tuple[int, ...] = ()  # the storefront's Brightpearl channels (and import.channel_id)
    stock_warehouse_ids: tuple[int, ...] = ()  # stock.warehouse_ids; empty: every warehouse
    ignore_skus: tuple[str, ...] = ()  # reconcile.ignore_skus
    shipment_delay_minutes: int = 60  # reconcile.shipment_delay_minutes


def load_extract_settings() -> ExtractSettings:
    """The extraction runs when `storefront.enabled` is true or the sync file has an `import` section."""
    try:
        sync_file = load_sync_file()
    except SyncFileError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    section = sync_file.import_
    channels = list(sync_file.storefront.brightpearl_channel_ids)
    if section is not None and section.channel_id is not None:
        channels.append(section.channel_id)
    return ExtractSettings(
        enabled=sync_file.storefront.enabled or section is not None,
        importable_statuses=tuple(section.statuses) if section is not None else (),
        storefront_channel_ids=tuple(dict.fromkeys(channels)),
        stock_warehouse_ids=tuple(sync_file.stock.warehouse_ids) if sync_file.stock is not None else (),
        ignore_skus=tuple(sync_file.reconcile.ignore_skus),
        shipment_delay_minutes=sync_file.reconcile.shipment_delay_minutes,
    )


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


def load_import_settings(wh: DuckDBWarehouse) -> ImportSettings:
    """The `import` section (no section: the import is off). channel_id and warehouse_id are required."""
    try:
        sync_file = load_sync_file()
        section = sync_file.import_
        if section is None:
            return ImportSettings(enabled=False)
        missing = [k for k in ("channel_id", "warehouse_id") if getattr(section, k) is None]
        if missing:
            raise SyncFileError(
                f"{sync_file.path or '<sync file>'}: import.{' and import.'.join(missing)} must be set: the "
                "Brightpearl channel and warehouse every imported storefront order is created with"
            )
        with wh.connect() as conn:
            resolve(sync_file, conn)  # checks the channel and warehouse ids against the warehouse
    except SyncFileError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return ImportSettings(
        enabled=True,
        statuses=tuple(section.statuses),
        channel_id=section.channel_id,
        warehouse_id=section.warehouse_id,
        project_id=section.project_id,
        lead_source_id=section.lead_source_id,
        match_on=section.match_on,
        unmatched_sku=section.unmatched_sku,
        guest_orders=section.guest_orders,
        create_customers=section.customers.create,
        update_customers=section.customers.update,
        customer_comment=section.customer_comment,
        staff_notes=section.staff_notes,
        delay_minutes=section.delay_minutes,
    )


def load_account_settings(wh: DuckDBWarehouse) -> AccountSettings:
    """The `accounts` section (absent or `enabled: false`: no storefront account is touched)."""
    try:
        sync_file = load_sync_file()
        section = sync_file.accounts
        if section is None or not section.enabled:
            return AccountSettings(enabled=False)
        with wh.connect() as conn:
            resolved = resolve(sync_file, conn)  # accounts.who.tag: a tag name or id of brightpearl.contact_tags
    except SyncFileError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return AccountSettings(
        enabled=True, price_list_groups=dict(section.price_list_groups), tag_id=resolved.account_tag_id
    )
