"""What the push engine needs of the sync configuration file, with every name already resolved to an id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

OrderLink = Literal["external_ref", "customer_ref"]


@dataclass(frozen=True)
class Carrier:
    """BigCommerce shipment fields for one Brightpearl shipping method."""

    tracking_carrier: str = ""
    shipping_provider: str = ""


@dataclass(frozen=True)
class PushSettings:
    enabled: bool
    channel_ids: tuple[int, ...]
    order_link: OrderLink = "external_ref"
    # None: the moment the push first ran (recorded in push.state), so enabling the push never rewrites history.
    push_from: datetime | None = None
    # With no push_from: also push changes this long before the push first ran (e.g. the sandbox's last week).
    push_from_lookback: timedelta | None = None
    status_map: Mapping[int, int] = field(default_factory=dict)  # Brightpearl order_status_id -> storefront status_id
    unmapped_status: int | None = None  # None = leave the storefront status alone
    # None = one shipment per shipped goods-out note; else ship the whole order when it reaches this status.
    shipment_trigger_status_id: int | None = None
    carriers: Mapping[int, Carrier] = field(default_factory=dict)  # Brightpearl shipping_method_id -> fields
    default_carrier: Carrier = Carrier()

    def target_status(self, bp_status_id: int) -> int | None:
        return self.status_map.get(bp_status_id, self.unmapped_status)

    def carrier(self, shipping_method_id: int | None) -> Carrier:
        if shipping_method_id is None:
            return self.default_carrier
        return self.carriers.get(shipping_method_id, self.default_carrier)
