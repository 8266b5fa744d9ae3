"""Storefront extraction: BigCommerce orders, customers and catalog into schema `storefront`, incrementally.

Each stream pages its list to the end from its watermark (`_sync.watermarks`, resource `storefront.<stream>`):
V2 orders by `min_date_modified` sorted `date_modified:asc`, with the lines, shipping addresses and shipments of
every changed order fetched per order; V3 catalog products (with their variants) and customers by
`date_modified:min`. The filters are inclusive at whole seconds, so the boundary record is read again and
upserted unchanged. A record that cannot be read is quarantined (`_sync.quarantine`) with the reason and never
stops the rest; the watermark still moves past it (the quarantine row is the place to act on it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import duckdb

from bp_pipelines.lib.bigcommerce.dates import parse_v2_date, parse_v3_date
from bp_pipelines.lib.warehouse.bookkeeping import get_watermark, quarantine, set_watermark
from bp_pipelines.lib.warehouse.tables import MONEY, TS, Table, _cols
from bp_pipelines.lib.warehouse.upsert import Counts, upsert

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
Row = dict[str, Any]

# Marks an order read by the first run's sweep of importable statuses (never stored: order_row reads named keys).
_SWEPT = "__swept_importable"

# Rows per warehouse transaction: one short write per page of orders, never one per record.
BATCH = 250


class StorefrontReader(Protocol):
    def paginate(self, path: str, params: Mapping[str, Any] | None = None, *, limit: int | None = None) -> Any: ...
    def list_orders(self, **filters: Any) -> Iterator[dict]: ...
    def order_products(self, order_id: int) -> list[dict]: ...
    def order_shipping_addresses(self, order_id: int) -> list[dict]: ...
    def order_shipments(self, order_id: int) -> list[dict]: ...


def _table(name: str, key: str, spec: str, parent_key: str | None = None) -> Table:
    return Table(name, (key,), _cols(spec), parent_key=parent_key, schema="storefront")


ORDERS = _table(
    "orders",
    "order_id",
    f"order_id BIGINT, customer_id BIGINT, status_id INTEGER, status VARCHAR, channel_id BIGINT, external_id VARCHAR,"
    f" date_created {TS}, date_modified {TS}, date_shipped {TS}, currency_code VARCHAR, subtotal_ex_tax {MONEY},"
    f" subtotal_inc_tax {MONEY}, shipping_cost_inc_tax {MONEY}, total_tax {MONEY}, total_ex_tax {MONEY},"
    f" total_inc_tax {MONEY}, items_total INTEGER, items_shipped INTEGER, payment_method VARCHAR,"
    " payment_status VARCHAR, billing_email VARCHAR, billing_first_name VARCHAR, billing_last_name VARCHAR,"
    " billing_company VARCHAR, customer_message VARCHAR, staff_notes VARCHAR, billing_phone VARCHAR,"
    " billing_street_1 VARCHAR, billing_street_2 VARCHAR, billing_city VARCHAR, billing_state VARCHAR,"
    f" billing_zip VARCHAR, billing_country VARCHAR, billing_country_iso2 VARCHAR, shipping_cost_ex_tax {MONEY},"
    f" shipping_cost_tax {MONEY}",
)
ORDER_PRODUCTS = _table(
    "order_products",
    "order_product_id",
    "order_product_id BIGINT, order_id BIGINT, product_id BIGINT, variant_id BIGINT, order_address_id BIGINT,"
    f" sku VARCHAR, name VARCHAR, quantity INTEGER, quantity_shipped INTEGER, price_ex_tax {MONEY},"
    f" price_inc_tax {MONEY}, total_ex_tax {MONEY}, total_inc_tax {MONEY}, total_tax {MONEY}, type VARCHAR,"
    " upc VARCHAR",
    parent_key="order_id",
)
ORDER_SHIPPING_ADDRESSES = _table(
    "order_shipping_addresses",
    "order_address_id",
    "order_address_id BIGINT, order_id BIGINT, first_name VARCHAR, last_name VARCHAR, company VARCHAR,"
    " street_1 VARCHAR, street_2 VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR, country VARCHAR,"
    " country_iso2 VARCHAR, email VARCHAR, phone VARCHAR, shipping_method VARCHAR, items_total INTEGER,"
    f" items_shipped INTEGER, cost_ex_tax {MONEY}, cost_inc_tax {MONEY}",
    parent_key="order_id",
)
SHIPMENTS = _table(
    "shipments",
    "shipment_id",
    f"shipment_id BIGINT, order_id BIGINT, order_address_id BIGINT, date_created {TS}, tracking_number VARCHAR,"
    " tracking_carrier VARCHAR, shipping_provider VARCHAR, shipping_method VARCHAR, comments VARCHAR, items JSON",
    parent_key="order_id",
)
CUSTOMERS = _table(
    "customers",
    "customer_id",
    "customer_id BIGINT, email VARCHAR, first_name VARCHAR, last_name VARCHAR, company VARCHAR, phone VARCHAR,"
    f" customer_group_id BIGINT, date_created {TS}, date_modified {TS}",
)
PRODUCTS = _table(
    "products",
    "product_id",
    f"product_id BIGINT, name VARCHAR, sku VARCHAR, type VARCHAR, price {MONEY}, inventory_tracking VARCHAR,"
    f" inventory_level INTEGER, base_variant_id BIGINT, is_visible BOOLEAN, date_created {TS}, date_modified {TS}",
)
VARIANTS = _table(
    "variants",
    "variant_id",
    f"variant_id BIGINT, product_id BIGINT, sku VARCHAR, upc VARCHAR, price {MONEY}, calculated_price {MONEY},"
    " inventory_level INTEGER, purchasing_disabled BOOLEAN, option_values JSON, gtin VARCHAR",
    parent_key="product_id",
)


# Billing address fields kept as `billing_<field>` (the order import creates contacts and sales orders from them).
BILLING_ADDRESS = ("phone", "street_1", "street_2", "city", "state", "zip", "country", "country_iso2")


def money(value: Any) -> Decimal | None:
    """V2 money is a decimal string, V3 a JSON number: the exact text either way, never through float."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def none_counted(o: Mapping[str, Any], count_field: str) -> bool:
    """The order itself says there is nothing to read: its count field is exactly 0 (`items_shipped` 0 = no
    shipment, since a shipment ships at least one item; `shipping_address_count` 0 = no shipping address). A
    missing or unreadable count reads the sub-resource, as before."""
    value = o.get(count_field)
    return (type(value) is int and value == 0) or value == "0"


def order_row(o: Mapping[str, Any]) -> Row:
    billing = o.get("billing_address") or {}
    return {
        "order_id": int(o["id"]),
        "customer_id": _int(o.get("customer_id")),
        "status_id": _int(o.get("status_id")),
        "status": o.get("status"),
        "channel_id": _int(o.get("channel_id")),
        "external_id": o.get("external_id") or None,
        "date_created": parse_v2_date(o.get("date_created")),
        "date_modified": parse_v2_date(o.get("date_modified")),
        "date_shipped": parse_v2_date(o.get("date_shipped")),
        "currency_code": o.get("currency_code"),
        **{
            k: money(o.get(k))
            for k in (
                "subtotal_ex_tax",
                "subtotal_inc_tax",
                "shipping_cost_inc_tax",
                "total_tax",
                "total_ex_tax",
                "total_inc_tax",
                "shipping_cost_ex_tax",
                "shipping_cost_tax",
            )
        },
        "items_total": _int(o.get("items_total")),
        "items_shipped": _int(o.get("items_shipped")),
        "payment_method": o.get("payment_method"),
        "payment_status": o.get("payment_status"),
        "billing_email": billing.get("email"),
        "billing_first_name": billing.get("first_name"),
        "billing_last_name": billing.get("last_name"),
        "billing_company": billing.get("company"),
        "customer_message": o.get("customer_message"),
        "staff_notes": o.get("staff_notes"),
        **{f"billing_{k}": billing.get(k) for k in BILLING_ADDRESS},
    }


def order_product_row(p: Mapping[str, Any], order_id: int) -> Row:
    return {
        "order_product_id": int(p["id"]),
        "order_id": order_id,
        "product_id": _int(p.get("product_id")),
        "variant_id": _int(p.get("variant_id")),
        "order_address_id": _int(p.get("order_address_id")),
        "sku": p.get("sku"),
        "name": p.get("name"),
        "quantity": _int(p.get("quantity")),
        "quantity_shipped": _int(p.get("quantity_shipped")),
        **{k: money(p.get(k)) for k in ("price_ex_tax", "price_inc_tax", "total_ex_tax", "total_inc_tax", "total_tax")},
        "type": p.get("type"),  # physical | digital | giftcertificate
        "upc": p.get("upc") or None,
    }


def address_row(a: Mapping[str, Any], order_id: int) -> Row:
    text = ("first_name", "last_name", "company", "street_1", "street_2", "city", "state", "zip", "country")
    return {
        "order_address_id": int(a["id"]),
        "order_id": order_id,
        **{k: a.get(k) for k in (*text, "country_iso2", "email", "phone", "shipping_method")},
        "items_total": _int(a.get("items_total")),
        "items_shipped": _int(a.get("items_shipped")),
        "cost_ex_tax": money(a.get("cost_ex_tax")),
        "cost_inc_tax": money(a.get("cost_inc_tax")),
    }


def shipment_row(s: Mapping[str, Any], order_id: int) -> Row:
    return {
        "shipment_id": int(s["id"]),
        "order_id": order_id,
        "order_address_id": _int(s.get("order_address_id")),
        "date_created": parse_v2_date(s.get("date_created")),
        **{k: s.get(k) for k in ("tracking_number", "tracking_carrier", "shipping_provider", "shipping_method")},
        "comments": s.get("comments"),
        "items": s.get("items") or [],
    }


def customer_row(c: Mapping[str, Any]) -> Row:
    return {
        "customer_id": int(c["id"]),
        **{k: c.get(k) for k in ("email", "first_name", "last_name", "company", "phone")},
        "customer_group_id": _int(c.get("customer_group_id")),
        "date_created": parse_v3_date(c.get("date_created")),
        "date_modified": parse_v3_date(c.get("date_modified")),
    }


def product_row(p: Mapping[str, Any]) -> Row:
    return {
        "product_id": int(p["id"]),
        "name": p.get("name"),
        "sku": p.get("sku"),
        "type": p.get("type"),
        "price": money(p.get("price")),
        "inventory_tracking": p.get("inventory_tracking"),
        "inventory_level": _int(p.get("inventory_level")),
        "base_variant_id": _int(p.get("base_variant_id")),
        "is_visible": p.get("is_visible"),
        "date_created": parse_v3_date(p.get("date_created")),
        "date_modified": parse_v3_date(p.get("date_modified")),
    }


def variant_row(v: Mapping[str, Any], product_id: int) -> Row:
    return {
        "variant_id": int(v["id"]),
        "product_id": product_id,
        "sku": v.get("sku"),
        "upc": v.get("upc") or None,
        "price": money(v.get("price")),
        "calculated_price": money(v.get("calculated_price")),
        "inventory_level": _int(v.get("inventory_level")),
        "purchasing_disabled": v.get("purchasing_disabled"),
        "option_values": v.get("option_values") or [],
        "gtin": v.get("gtin") or None,  # EAN/GTIN as the merchant keyed it (import.match_on: ean)
    }


@dataclass
class StreamReport:
    stream: str  # storefront.orders | storefront.customers | storefront.catalog
    since: datetime | None
    records: int = 0
    quarantined: int = 0
    counts: dict[str, Counts] = field(default_factory=dict)  # table -> inserted/updated/deleted
    watermark: datetime | None = None

    @property
    def rows_written(self) -> int:
        return sum(c.inserted + c.updated for c in self.counts.values())

    @property
    def changed(self) -> bool:
        return bool(
            self.quarantined or any(c.inserted or c.updated or c.deleted or c.undeleted for c in self.counts.values())
        )


@dataclass
class _Batch:
    """Rows of several tables gathered per page and written in one transaction."""

    tables: tuple[Table, ...]
    rows: dict[str, list[Row]] = field(default_factory=dict)
    parents: list[int] = field(default_factory=list)
    bad: list[tuple[str, str, Any]] = field(default_factory=list)  # (record_id, reason, payload)
    size: int = 0

    def add(self, table: Table, row: Row) -> None:
        self.rows.setdefault(table.name, []).append(row)


class StreamSync:
    def __init__(
        self,
        connect: Connect,
        run_id: str,
        log: Any,
        *,
        page_limit: int | None = None,
        initial_orders_since: datetime | None = None,
    ) -> None:
        """`page_limit`: items per list page; None = the largest each API serves (250). `initial_orders_since`:
        where the orders stream starts when it has no watermark yet (None = the whole history); orders cost three
        more calls each, so a first run over years of orders would spend hours of the store's request budget."""
        self.connect, self.run_id, self.log = connect, run_id, log
        self.initial_orders_since = initial_orders_since
        self.paging: dict[str, Any] = {} if page_limit is None else {"limit": page_limit}

    def _since(self, resource: str) -> datetime | None:
        with self.connect() as conn:
            return get_watermark(conn, resource).watermark

    def _flush(self, report: StreamReport, batch: _Batch) -> None:
        if not batch.size and not batch.bad:
            return
        now = datetime.now(UTC)
        with self.connect() as conn:
            conn.execute("BEGIN")
            for table in batch.tables:
                counts = upsert(
                    conn,
                    table,
                    batch.rows.get(table.name, []),
                    now,
                    parent_ids=batch.parents if table.parent_key else None,
                )
                report.counts.setdefault(table.name, Counts()).add(counts)
            for record_id, reason, payload in batch.bad:
                quarantine(conn, report.stream, record_id, reason, payload, now)
            # The watermark moves with every committed page: a crash resumes after the last page written.
            set_watermark(
                conn,
                report.stream,
                report.watermark,
                now,
                mode="incremental",
                window=(report.since, report.watermark),
                run_id=self.run_id,
            )
            conn.execute("COMMIT")
        report.quarantined += len(batch.bad)
        batch.rows.clear()
        batch.parents.clear()
        batch.bad.clear()
        batch.size = 0

    def _run(
        self,
        stream: str,
        records: Iterable[dict],
        tables: tuple[Table, ...],
        to_rows: Callable[[dict, _Batch], datetime | None],
        since: datetime | None,
        *,
        keep_watermark_unset: bool = False,
    ) -> StreamReport:
        """`keep_watermark_unset`: the watermark starts empty rather than at `since` (committed pages then leave it
        unset until a record moves it), so a run killed early starts over from the same place."""
        report = StreamReport(stream, since)
        report.watermark = None if keep_watermark_unset else report.since
        batch = _Batch(tables)
        for record in records:
            report.records += 1
            try:
                modified = to_rows(record, batch)
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                record_id = str(record.get("id")) if isinstance(record, dict) else "?"
                reason = f"{stream} record {record_id} could not be read: {type(exc).__name__}: {exc}"
                self.log.warning(reason)
                batch.bad.append((record_id, reason, record))
                continue
            batch.size += 1
            if modified is not None and (report.watermark is None or modified > report.watermark):
                report.watermark = modified
            if batch.size >= BATCH:
                self._flush(report, batch)
        self._flush(report, batch)
        return report

    def orders(self, bc: StorefrontReader, importable_statuses: tuple[int, ...] = ()) -> StreamReport:
        """Orders modified since the watermark (first run: since `initial_orders_since`). On the first run, also
        every order in one of `importable_statuses` (`import.statuses`) modified before that: the order import
        plans from this table, so an order awaiting import is never outside it, however old. Those older orders
        do not move the watermark, so a run killed during that sweep sweeps again."""
        watermark = self._since("storefront.orders")
        since = watermark or self.initial_orders_since
        filters: dict[str, Any] = {"sort": "date_modified:asc", **self.paging}
        if since is not None:
            filters["min_date_modified"] = since
        sweep_before = since if watermark is None and since is not None else None

        def records() -> Iterator[dict]:
            swept: set[int] = set()
            if sweep_before is not None:
                # One list per status: several statuses in one status_id filter are unconfirmed.
                for status in dict.fromkeys(int(s) for s in importable_statuses):
                    for o in bc.list_orders(
                        status_id=status, max_date_modified=sweep_before, sort="date_modified:asc", **self.paging
                    ):
                        swept.add(_int(o.get("id")) or 0)
                        yield {**o, _SWEPT: True}
            # Both date filters are inclusive: an order modified exactly at the boundary was swept already.
            yield from (o for o in bc.list_orders(**filters) if _int(o.get("id")) not in swept)

        def rows(o: dict, batch: _Batch) -> datetime | None:
            row = order_row(o)
            order_id = row["order_id"]
            # Read every sub-resource before adding anything, so a bad line leaves the order out whole.
            lines = [order_product_row(p, order_id) for p in bc.order_products(order_id)]
            # Sub-resources the order counts as empty are not read: on a store where most orders are not shipped
            # yet that is most shipment reads (178 of 208 orders in the 5000-order sandbox).
            addresses = (
                []
                if none_counted(o, "shipping_address_count")
                else [address_row(a, order_id) for a in bc.order_shipping_addresses(order_id)]
            )
            shipments = (
                []
                if none_counted(o, "items_shipped")
                else [shipment_row(s, order_id) for s in bc.order_shipments(order_id)]
            )
            batch.add(ORDERS, row)
            for line in lines:
                batch.add(ORDER_PRODUCTS, line)
            for address in addresses:
                batch.add(ORDER_SHIPPING_ADDRESSES, address)
            for shipment in shipments:
                batch.add(SHIPMENTS, shipment)
            batch.parents.append(order_id)
            return None if o.get(_SWEPT) else row["date_modified"]

        tables = (ORDERS, ORDER_PRODUCTS, ORDER_SHIPPING_ADDRESSES, SHIPMENTS)
        sweeping = sweep_before is not None and bool(importable_statuses)
        report = self._run("storefront.orders", records(), tables, rows, since, keep_watermark_unset=sweeping)
        if sweeping and report.watermark is None:  # swept, and nothing modified since: start there next time
            report.watermark = since
            with self.connect() as conn:
                now = datetime.now(UTC)
                set_watermark(
                    conn, report.stream, since, now, mode="incremental", window=(since, since), run_id=self.run_id
                )
        return report

    def customers(self, bc: StorefrontReader) -> StreamReport:
        since = self._since("storefront.customers")
        params: dict[str, Any] = {"sort": "date_modified:asc", **self.paging}
        if since is not None:
            params["date_modified:min"] = since

        def rows(c: dict, batch: _Batch) -> datetime | None:
            row = customer_row(c)
            batch.add(CUSTOMERS, row)
            return row["date_modified"]

        return self._run("storefront.customers", bc.paginate("v3/customers", params), (CUSTOMERS,), rows, since)

    def catalog(self, bc: StorefrontReader) -> StreamReport:
        since = self._since("storefront.catalog")
        params: dict[str, Any] = {"include": "variants", "sort": "date_modified", "direction": "asc", **self.paging}
        if since is not None:
            params["date_modified:min"] = since

        def rows(p: dict, batch: _Batch) -> datetime | None:
            row = product_row(p)
            variants = [variant_row(v, row["product_id"]) for v in p.get("variants") or []]
            batch.add(PRODUCTS, row)
            for variant in variants:
                batch.add(VARIANTS, variant)
            batch.parents.append(row["product_id"])
            return row["date_modified"]

        return self._run(
            "storefront.catalog", bc.paginate("v3/catalog/products", params), (PRODUCTS, VARIANTS), rows, since
        )
