"""Checks on the storefront push: red while dead letters are open, yellow while ledger rows are stuck."""

from collections.abc import Iterator

import dagster as dg

from bp_pipelines.checks.common import count_and_sample, violation_result
from bp_pipelines.lib.conventions import WRITER_POOL
from bp_pipelines.resources.warehouse import WarehouseResource

KINDS = {
    "storefront_shipments": ("shipment",),
    "storefront_order_statuses": ("order_status",),
    "storefront_stock_levels": ("stock",),
    # The import also keeps existing contacts in step (kind contact_update, lib/push/customers.py).
    "storefront_order_import": ("order_import", "contact_update"),
    "storefront_accounts": ("account",),
}
STUCK_AFTER_MINUTES = 60

OPEN_DEAD_LETTERS_SQL = """
    SELECT push_id, bp_order_id, storefront_order_id, reason, storefront_status, attempts, last_seen
    FROM push.dead_letters WHERE list_contains(?::VARCHAR[], kind) AND resolved_at IS NULL ORDER BY first_seen, push_id
"""
STUCK_SQL = f"""
    SELECT push_id, bp_order_id, storefront_order_id, state, attempts, planned_at, sent_at, note
    FROM push.ledger
    WHERE list_contains(?::VARCHAR[], kind) AND state IN ('planned', 'sending')
      AND coalesce(sent_at, planned_at) < now() - INTERVAL {STUCK_AFTER_MINUTES} MINUTE
    ORDER BY planned_at, push_id
"""

_SPECS = [
    spec
    for asset in KINDS
    for spec in (
        dg.AssetCheckSpec(
            "no_open_dead_letters",
            asset=asset,
            description=(
                "No unresolved rows in push.dead_letters for this push. Fix the cause named in `reason`, then run "
                "the storefront_redrive job."
            ),
        ),
        dg.AssetCheckSpec(
            "nothing_stuck",
            asset=asset,
            description=(
                f"No push.ledger row left planned or sending for more than {STUCK_AFTER_MINUTES} minutes "
                "(a storefront outage or a push step that keeps failing)."
            ),
        ),
    )
]


@dg.multi_asset_check(specs=_SPECS, can_subset=True, name="storefront_push_checks", pool=WRITER_POOL)
def storefront_push_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    with warehouse.connect() as conn:
        for key in sorted(context.selected_asset_check_keys, key=str):
            kinds = list(KINDS[key.asset_key.to_user_string()])
            kind = " or ".join(kinds)
            where = "kind = '" + "' OR kind = '".join(kinds) + "'"
            if key.name == "no_open_dead_letters":
                n, sample = count_and_sample(conn, OPEN_DEAD_LETTERS_SQL, [kinds])
                yield violation_result(
                    key,
                    n,
                    sample,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description=(
                        f"{n} open dead letter(s): SELECT * FROM push.dead_letters WHERE ({where}) "
                        "AND resolved_at IS NULL"
                    ),
                )
            else:
                n, sample = count_and_sample(conn, STUCK_SQL, [kinds])
                yield violation_result(
                    key,
                    n,
                    sample,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=f"{n} {kind} push(es) planned or sending for over {STUCK_AFTER_MINUTES} minutes",
                )


# Reconciliation marts (schema analytics): red while the storefront and Brightpearl disagree. SKUs on one side only
# warn (yellow): the Brightpearl side is inferred from sales on the storefront's channel, so a merchant reviews the
# list (storefront-only items kept out of Brightpearl on purpose go in reconcile.ignore_skus).
RECONCILIATION = {
    "storefront_sku_mismatches": (
        "no_sku_mismatches",
        "SELECT side, sku, brightpearl_product_id, storefront_variant_id, why FROM analytics.storefront_sku_mismatches",
        "SKU(s) on one side only: SELECT * FROM analytics.storefront_sku_mismatches",
        dg.AssetCheckSeverity.WARN,
    ),
    "storefront_stock_drift": (
        "no_stock_drift",
        "SELECT sku, storefront_level, brightpearl_available, why FROM analytics.storefront_stock_drift",
        "storefront level(s) differ from Brightpearl's available stock: SELECT * FROM analytics.storefront_stock_drift",
        dg.AssetCheckSeverity.ERROR,
    ),
    "storefront_orders_not_imported": (
        "is_empty",
        "SELECT * FROM analytics.storefront_orders_not_imported",
        "storefront order(s) in an importable status not in Brightpearl after the delay: "
        "SELECT * FROM analytics.storefront_orders_not_imported",
        dg.AssetCheckSeverity.ERROR,
    ),
    "storefront_accounts_out_of_step": (
        "is_empty",
        "SELECT * FROM analytics.storefront_accounts_out_of_step",
        "trade customer(s) whose storefront account is not in step with the ERP: "
        "SELECT * FROM analytics.storefront_accounts_out_of_step",
        dg.AssetCheckSeverity.ERROR,
    ),
    "storefront_status_mismatches": (
        "is_empty",
        "SELECT storefront_order_id, bp_order_id, bp_status, storefront_status_id, expected_status_id, why "
        "FROM analytics.storefront_status_mismatches",
        "storefront order status(es) disagree with storefront.status_map: "
        "SELECT * FROM analytics.storefront_status_mismatches",
        dg.AssetCheckSeverity.ERROR,
    ),
    "storefront_shipments_missing": (
        "is_empty",
        "SELECT goods_out_note_id, bp_order_id, storefront_order_id, state, why "
        "FROM analytics.storefront_shipments_missing",
        "shipped goods-out note(s) with no storefront shipment: SELECT * FROM analytics.storefront_shipments_missing",
        dg.AssetCheckSeverity.ERROR,
    ),
}


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            name,
            asset=asset,
            description=f"analytics.{asset} has no rows; each row names the record and why (see docs/warehouse.md).",
        )
        for asset, (name, _, _, _) in RECONCILIATION.items()
    ],
    can_subset=True,
    name="storefront_reconciliation_checks",
    pool=WRITER_POOL,
)
def storefront_reconciliation_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    with warehouse.connect() as conn:
        for key in sorted(context.selected_asset_check_keys, key=str):
            _, sql, what, severity = RECONCILIATION[key.asset_key.to_user_string()]
            n, sample = count_and_sample(conn, sql)
            yield violation_result(key, n, sample, severity=severity, description=f"{n} {what}")
