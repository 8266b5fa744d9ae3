"""Storefront push jobs and the sensor that keeps the storefront within about a minute of Brightpearl.

- `storefront_push`: extract orders and goods-out notes (incremental), then push shipments, then statuses.
- `storefront_changes`: polls Brightpearl (two one-row searches per tick) and requests `storefront_push` when an
  order changed or a goods-out note shipped. Ships STOPPED, like the schedules.
- `storefront_redrive`: sends open dead letters again once their cause is fixed (optionally one order).
- `storefront_push_order`: pushes one Brightpearl order's shipments and status now (config in the launchpad).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from bp_pipelines.lib.conventions import STOREFRONT_POOL, daily_partitions
from bp_pipelines.lib.push import PushScope, PushSettings, StorefrontApi, redrive_dead_letters, run_push
from bp_pipelines.lib.push.changes import changes_after, watermarks
from bp_pipelines.lib.push.from_sync_file import load_push_settings
from bp_pipelines.lib.push.ledger import Ledger
from bp_pipelines.lib.push.materialize import check_storefront_source, summary_line
from bp_pipelines.lib.warehouse import DuckDBWarehouse
from bp_pipelines.resources.bigcommerce import BigCommerceResource
from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

STOREFRONT_PUSH = "storefront_push"
SENSOR_INTERVAL_SECONDS = 30

storefront_push = dg.define_asset_job(
    name=STOREFRONT_PUSH,
    # Only what a shipment or status change needs, so the sensor's runs stay short (the imports, accounts and
    # stock have their own schedule through the main job).
    selection=dg.AssetSelection.assets("orders", "goods_out_notes").required_multi_asset_neighbors()
    | dg.AssetSelection.assets("storefront_shipments", "storefront_order_statuses"),
    partitions_def=daily_partitions,
    description="Incremental extraction of orders and goods-out notes, then the storefront push (shipments, statuses).",
    tags={"bp/source": "storefront"},
)

_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dg.sensor(
    name="storefront_changes",
    job=storefront_push,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Every 30 s: two one-row Brightpearl searches for orders updated / goods-out notes shipped after the "
        "warehouse's watermarks; any hit requests storefront_push on today's partition."
    ),
)
def storefront_changes(
    context: dg.SensorEvaluationContext, brightpearl: BrightpearlResource, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    busy = context.instance.get_runs(filters=dg.RunsFilter(job_name=STOREFRONT_PUSH, statuses=_ACTIVE), limit=1)
    if busy:
        return dg.SkipReason(f"a {STOREFRONT_PUSH} run is already queued or running")
    orders_since, notes_since = watermarks(warehouse.published_path)
    now = datetime.now(UTC)
    key = daily_partitions.get_partition_key_for_timestamp(now.timestamp())
    if orders_since is None or notes_since is None:
        trigger = "orders and goods-out notes not synced yet"
    else:
        with brightpearl.get_client() as client:
            changes = changes_after(client, orders_since, notes_since)
        if not changes.any:
            return dg.SkipReason("no Brightpearl order changed and no goods-out note shipped since the last sync")
        trigger = f"{changes.orders_updated} order(s) changed, {changes.notes_shipped} note(s) shipped"
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"storefront-{now.isoformat()}", partition_key=key, tags={"bp/trigger": trigger})
        ]
    )


class PushOrderConfig(dg.Config):
    bp_order_id: int = Field(description="The Brightpearl order id whose shipments and status to push now.")


class RedriveConfig(dg.Config):
    bp_order_id: int | None = Field(default=None, description="Only this Brightpearl order's dead letters.")


def _open_client(bigcommerce: BigCommerceResource) -> Callable[[], AbstractContextManager[StorefrontApi]]:
    return lambda: bigcommerce.get_client()


def _checked_settings(wh: DuckDBWarehouse, bigcommerce: BigCommerceResource, run_id: str) -> PushSettings:
    """The push settings; when the push is on, the warehouse must hold this storefront before any call."""
    settings = load_push_settings(wh)
    if settings.enabled:
        check_storefront_source(wh, bigcommerce, run_id)
    return settings


@dg.op(pool=STOREFRONT_POOL, retry_policy=dg.RetryPolicy(max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL))
def push_one_order(
    context: dg.OpExecutionContext,
    config: PushOrderConfig,
    bigcommerce: BigCommerceResource,
    warehouse: WarehouseResource,
) -> None:
    """Shipments then status of one Brightpearl order, through the ledger (nothing already confirmed is re-sent)."""
    wh = warehouse.get_warehouse()
    settings = _checked_settings(wh, bigcommerce, context.run_id)
    scope = PushScope(order_id=config.bp_order_id, respect_push_from=False)
    with wh.session():
        for kind in ("shipment", "order_status"):
            report = run_push(
                kind, wh.connect, _open_client(bigcommerce), settings, scope, context.log, run_id=context.run_id
            )
            context.log.info(summary_line(report))
    wh.publish()


@dg.op(pool=STOREFRONT_POOL)
def redrive(
    context: dg.OpExecutionContext,
    config: RedriveConfig,
    bigcommerce: BigCommerceResource,
    warehouse: WarehouseResource,
) -> None:
    """Open dead letters back to 'planned' and sent again; still-failing ones return to push.dead_letters."""
    wh = warehouse.get_warehouse()
    settings = _checked_settings(wh, bigcommerce, context.run_id)
    with wh.session():
        reports = redrive_dead_letters(
            wh.connect,
            _open_client(bigcommerce),
            settings,
            context.log,
            run_id=context.run_id,
            bp_order_id=config.bp_order_id,
        )
    for report in reports:
        context.log.info(summary_line(report))
    reopened = 0
    if config.bp_order_id is None:
        # Imports, contact updates and accounts go back to 'planned'; their next materialization (schedule, sensor, make run) sends
        # them with the warehouse as it is then (e.g. the product added in Brightpearl since).
        ledger = Ledger(wh.connect, context.run_id)
        for kind, asset in (
            ("order_import", "storefront_order_import"),
            ("contact_update", "storefront_order_import"),
            ("account", "storefront_accounts"),
        ):
            ids = ledger.reopen_dead_letters(kind)
            reopened += len(ids)
            if ids:
                context.log.info(f"{len(ids)} {kind} dead letter(s) reopened; the next {asset} run sends them")
    if not reports and not reopened:
        context.log.info("no open dead letters")
    wh.publish()


@dg.job(name="storefront_push_order", description="Push one Brightpearl order to the storefront now.")
def storefront_push_order() -> None:
    push_one_order()


@dg.job(name="storefront_redrive", description="Re-send the storefront pushes in push.dead_letters.")
def storefront_redrive() -> None:
    redrive()


storefront_jobs = [storefront_push, storefront_push_order, storefront_redrive]
storefront_sensors = [storefront_changes]
