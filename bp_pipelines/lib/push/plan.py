"""What the storefront should receive, computed in SQL from the warehouse the extraction assets fill.

Each query returns only changes the ledger has not seen (anti-join on the deterministic push_id), so planning
costs what changed, not the history, and planning the same change twice is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import orjson

from .settings import PushSettings


@dataclass(frozen=True)
class PushScope:
    """Which Brightpearl changes a run may push.

    window: [window_from, window_to) of the Brightpearl change (a partition or a backfill range; None = open).
    order_id: only this Brightpearl order (the on-demand job). respect_push_from: False only for explicit
    backfills of past partitions, which is how changes older than `push_from` are pushed on purpose.
    """

    window_from: datetime | None = None
    window_to: datetime | None = None
    order_id: int | None = None
    respect_push_from: bool = True


@dataclass(frozen=True)
class PlannedPush:
    push_id: str
    kind: str  # shipment | order_status | stock | order_import | account
    bp_order_id: int | None  # None for an import until Brightpearl has the order
    storefront_order_id: int | None
    source_id: int | None
    changed_at: datetime | None
    desired: dict[str, Any]
    target: str = "storefront"  # the system written to: storefront | brightpearl


def _link_sql(settings: PushSettings) -> str:
    # Storefront order ids are integers; anything else in the link field is reported, not guessed at.
    column = "external_ref" if settings.order_link == "external_ref" else "customer_ref"
    return f"TRY_CAST(trim(o.{column}) AS BIGINT)"


def _filters(column: str, settings: PushSettings, scope: PushScope, push_from: datetime | None) -> tuple[str, list]:
    where = ["o.order_type_code = 'SO'", "NOT coalesce(o.is_deleted, false)", "o.channel_id IN (SELECT unnest(?))"]
    params: list[Any] = [list(settings.channel_ids)]
    if scope.order_id is not None:
        where.append("o.order_id = ?")
        params.append(scope.order_id)
    else:
        if scope.window_from is not None:
            where.append(f"{column} >= ?")
            params.append(scope.window_from)
        if scope.window_to is not None:
            where.append(f"{column} < ?")
            params.append(scope.window_to)
        if scope.respect_push_from and push_from is not None:
            where.append(f"{column} >= ?")
            params.append(push_from)
    return " AND ".join(where), params


def plan_shipments(
    conn: duckdb.DuckDBPyConnection, settings: PushSettings, scope: PushScope, push_from: datetime | None
) -> list[PlannedPush]:
    if settings.shipment_trigger_status_id is not None:
        return _plan_order_shipments(conn, settings, scope, push_from)
    where, params = _filters("g.shipped_on", settings, scope, push_from)
    # Bundle components ship on the note; the storefront sold the bundle line: a child's quantity becomes
    # bundle units (child qty x parent row qty / child row qty), the largest over the bundle's children.
    sql = f"""
        WITH notes AS (
            SELECT g.goods_out_note_id, g.order_id, {_link_sql(settings)} AS storefront_order_id,
                   g.shipped_on, coalesce(g.shipping_method_id, o.shipping_method_id) AS shipping_method_id,
                   coalesce(g.tracking_reference, '') AS tracking_reference
            FROM brightpearl.goods_out_notes g JOIN brightpearl.orders o ON o.order_id = g.order_id
            WHERE g.shipped AND NOT coalesce(g.is_deleted, false) AND NOT coalesce(g.is_transfer, false) AND {where}
              AND NOT EXISTS (SELECT 1 FROM push.ledger l WHERE l.push_id = 'shipment:gon:' || g.goods_out_note_id)
        ),
        lines AS (
            SELECT n.goods_out_note_id,
                   CASE WHEN r.is_bundle_child AND r.parent_order_row_id IS NOT NULL
                        THEN r.parent_order_row_id ELSE gr.order_row_id END AS top_row_id,
                   CASE WHEN r.is_bundle_child AND p.quantity > 0 AND r.quantity > 0
                        THEN floor(gr.quantity * p.quantity / r.quantity) ELSE gr.quantity END AS qty,
                   coalesce(r.is_bundle_child, false) AS is_child
            FROM notes n
            JOIN brightpearl.goods_out_note_rows gr ON gr.goods_out_note_id = n.goods_out_note_id
            LEFT JOIN brightpearl.order_rows r ON r.order_id = n.order_id AND r.row_id = gr.order_row_id
            LEFT JOIN brightpearl.order_rows p ON p.order_id = n.order_id AND p.row_id = r.parent_order_row_id
            WHERE NOT coalesce(gr.is_deleted, false)
        ),
        items AS (
            SELECT l.goods_out_note_id, l.top_row_id,
                   CAST(CASE WHEN bool_or(l.is_child) THEN max(l.qty) ELSE sum(l.qty) END AS BIGINT) AS quantity
            FROM lines l GROUP BY ALL
        )
        SELECT n.goods_out_note_id, n.order_id, n.storefront_order_id, n.shipped_on, n.shipping_method_id,
               n.tracking_reference,
               list({{'order_row_id': i.top_row_id, 'sku': coalesce(t.sku, pr.sku), 'quantity': i.quantity}}
                    ORDER BY i.top_row_id) FILTER (WHERE i.top_row_id IS NOT NULL) AS items
        FROM notes n
        LEFT JOIN items i ON i.goods_out_note_id = n.goods_out_note_id
        LEFT JOIN brightpearl.order_rows t ON t.order_id = n.order_id AND t.row_id = i.top_row_id
        LEFT JOIN brightpearl.products pr ON pr.product_id = t.product_id
        GROUP BY ALL
        ORDER BY n.shipped_on, n.goods_out_note_id
    """
    planned = []
    for note_id, order_id, sf_id, shipped_on, method_id, tracking, items in conn.execute(sql, params).fetchall():
        carrier = settings.carrier(method_id)
        desired = {
            "goods_out_note_id": note_id,
            "tracking_number": tracking,
            "shipping_method_id": method_id,
            "tracking_carrier": carrier.tracking_carrier,
            "shipping_provider": carrier.shipping_provider,
            "items": [dict(i) for i in items or []],
        }
        planned.append(
            PlannedPush(f"shipment:gon:{note_id}", "shipment", order_id, sf_id, note_id, shipped_on, desired)
        )
    return planned


def _plan_order_shipments(
    conn: duckdb.DuckDBPyConnection, settings: PushSettings, scope: PushScope, push_from: datetime | None
) -> list[PlannedPush]:
    """Trigger `{order_status: X}`: one shipment of everything left when the order reaches status X; the
    tracking reference is the order's latest shipped goods-out note's, if any."""
    where, params = _filters("o.updated_on", settings, scope, push_from)
    sql = f"""
        SELECT o.order_id, {_link_sql(settings)} AS sf, o.updated_on, o.shipping_method_id,
               (SELECT arg_max(coalesce(g.tracking_reference, ''), g.shipped_on) FROM brightpearl.goods_out_notes g
                 WHERE g.order_id = o.order_id AND g.shipped AND NOT coalesce(g.is_deleted, false)) AS tracking,
               (SELECT list({{'order_row_id': r.row_id, 'sku': coalesce(r.sku, p.sku),
                              'quantity': CAST(r.quantity AS BIGINT)}} ORDER BY r.row_id)
                  FROM brightpearl.order_rows r LEFT JOIN brightpearl.products p ON p.product_id = r.product_id
                 WHERE r.order_id = o.order_id AND NOT coalesce(r.is_bundle_child, false)
                   AND NOT coalesce(r.is_deleted, false) AND r.quantity > 0) AS items
        FROM brightpearl.orders o
        WHERE o.order_status_id = ? AND {where}
          AND NOT EXISTS (SELECT 1 FROM push.ledger l WHERE l.push_id = 'shipment:order:' || o.order_id)
        ORDER BY o.updated_on, o.order_id
    """
    planned = []
    rows = conn.execute(sql, [settings.shipment_trigger_status_id, *params]).fetchall()
    for order_id, sf_id, updated_on, method_id, tracking, items in rows:
        carrier = settings.carrier(method_id)
        desired = {
            "order_status_id": settings.shipment_trigger_status_id,
            "tracking_number": tracking or "",
            "shipping_method_id": method_id,
            "tracking_carrier": carrier.tracking_carrier,
            "shipping_provider": carrier.shipping_provider,
            "items": [dict(i) for i in items or []],
        }
        planned.append(
            PlannedPush(f"shipment:order:{order_id}", "shipment", order_id, sf_id, None, updated_on, desired)
        )
    return planned


def plan_statuses(
    conn: duckdb.DuckDBPyConnection, settings: PushSettings, scope: PushScope, push_from: datetime | None
) -> list[PlannedPush]:
    """Orders whose Brightpearl status maps to a storefront status other than the last one the ledger holds for
    them. The push_id carries the change time, so A -> B -> A pushes A again."""
    mapping = [(bp, sf) for bp, sf in settings.status_map.items()]
    where, params = _filters("o.updated_on", settings, scope, push_from)
    unmapped = settings.unmapped_status
    sql = f"""
        WITH map(bp_status_id, sf_status_id) AS (
            SELECT * FROM (VALUES {", ".join("(?, ?)" for _ in mapping) or "(NULL::BIGINT, NULL::BIGINT)"})
        ),
        last AS (
            SELECT bp_order_id, arg_max(CAST(desired->>'status_id' AS BIGINT), planned_at) AS sf_status_id
            FROM push.ledger WHERE kind = 'order_status' AND state <> 'dead' GROUP BY bp_order_id
        )
        SELECT o.order_id, {_link_sql(settings)} AS sf, o.order_status_id, o.order_status_name, o.updated_on,
               coalesce(m.sf_status_id, ?::BIGINT) AS target
        FROM brightpearl.orders o
        LEFT JOIN map m ON m.bp_status_id = o.order_status_id
        LEFT JOIN last ON last.bp_order_id = o.order_id
        WHERE {where} AND coalesce(m.sf_status_id, ?::BIGINT) IS NOT NULL
          AND last.sf_status_id IS DISTINCT FROM coalesce(m.sf_status_id, ?::BIGINT)
          AND NOT EXISTS (
              SELECT 1 FROM push.ledger l WHERE l.push_id = 'status:' || o.order_id || ':' || o.order_status_id
                  || ':' || coalesce(CAST(epoch_ms(o.updated_on) AS VARCHAR), ''))
        ORDER BY o.updated_on, o.order_id
    """
    flat = [v for pair in mapping for v in pair]
    rows = conn.execute(sql, [*flat, unmapped, *params, unmapped, unmapped]).fetchall()
    planned = []
    for order_id, sf_id, bp_status, bp_status_name, updated_on, target in rows:
        epoch = "" if updated_on is None else str(int(updated_on.timestamp() * 1000))
        desired = {"status_id": target, "bp_order_status_id": bp_status, "bp_order_status_name": bp_status_name}
        planned.append(
            PlannedPush(
                f"status:{order_id}:{bp_status}:{epoch}",
                "order_status",
                order_id,
                sf_id,
                bp_status,
                updated_on,
                desired,
            )
        )
    return planned


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()
