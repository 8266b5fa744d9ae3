"""The one materialize step of both storefront push assets: scope from the Dagster context, settings from the
sync configuration file, `run_push`, then metadata and the published snapshot."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import dagster as dg

from bp_pipelines.lib.bigcommerce.errors import BigCommerceAuthError, BigCommerceError
from bp_pipelines.lib.conventions import daily_partitions
from bp_pipelines.lib.warehouse import DuckDBWarehouse
from bp_pipelines.lib.warehouse.source import SourceMismatchError, record_or_check_source, storefront_identity
from bp_pipelines.settings import ConfigError

from .engine import Kind, PushReport, StorefrontApi, run_push
from .plan import PushScope
from .settings import PushSettings


class StorefrontSource(Protocol):
    base_url: str
    store_hash: str

    def get_client(self) -> contextlib.AbstractContextManager[StorefrontApi]: ...


class WarehouseSource(Protocol):
    def get_warehouse(self) -> DuckDBWarehouse: ...


LoadSettings = Callable[[DuckDBWarehouse], PushSettings]


def push_scope(context: dg.AssetExecutionContext, order_id: int | None = None) -> PushScope:
    """Today's partition (the schedules, `make run`, the sensor) or no partition: every change not yet pushed
    since `push_from`. An explicit range of past partitions (a backfill): exactly those windows, `push_from`
    ignored -- the documented way to push older changes on purpose."""
    if order_id is not None:
        return PushScope(order_id=order_id, respect_push_from=False)
    if context.assets_def.partitions_def is None or not context.has_partition_key_range:
        return PushScope()
    key_range = context.partition_key_range
    today = daily_partitions.get_partition_key_for_timestamp(datetime.now(UTC).timestamp())
    if key_range.start == key_range.end == today:
        return PushScope()
    window = context.partition_time_window
    return PushScope(window_from=window.start, window_to=window.end, respect_push_from=False)


@contextlib.contextmanager
def _storefront_client(storefront: StorefrontSource, kind: str) -> Iterator[StorefrontApi]:
    try:
        with storefront.get_client() as client:
            yield client
    except ConfigError as exc:  # e.g. BIGCOMMERCE_ACCESS_TOKEN unset while the push is enabled
        raise dg.Failure(description=f"storefront {kind}s not pushed: {exc}", allow_retries=False) from None
    except BigCommerceError as exc:
        raise dg.Failure(
            description=(
                f"BigCommerce failed while pushing {kind}s: {exc}. Everything confirmed so far is in push.ledger; "
                "rows left in 'sending' are checked against the storefront before the next attempt sends them."
            ),
            metadata={"error_class": type(exc).__name__, "status": exc.status if exc.status is not None else -1},
            # Wrong credentials stay wrong; an outage (5xx, timeouts, 429s) is worth the step's RetryPolicy.
            allow_retries=not isinstance(exc, BigCommerceAuthError),
        ) from exc


def check_storefront_source(wh: DuckDBWarehouse, storefront: StorefrontSource, run_id: str | None) -> None:
    """Before the first storefront call: this warehouse's storefront is the configured one (recorded on first push).
    A warehouse filled from the sandbox never pushes to a live store, and vice versa."""
    identity = storefront_identity(storefront.base_url, storefront.store_hash)
    try:
        with wh.connect() as conn:
            record_or_check_source(conn, "storefront", identity, path=wh.published_path, run_id=run_id)
    except SourceMismatchError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def materialize_push(
    context: dg.AssetExecutionContext,
    kind: Kind,
    storefront: StorefrontSource,
    warehouse: WarehouseSource,
    load_settings: LoadSettings,
    *,
    order_id: int | None = None,
) -> dg.MaterializeResult:
    wh = warehouse.get_warehouse()
    settings = load_settings(wh)
    if settings.enabled:
        check_storefront_source(wh, storefront, context.run_id)
    scope = push_scope(context, order_id)
    with wh.session():  # one open database for the run's many short ledger transactions
        report = run_push(
            kind,
            wh.connect,
            lambda: _storefront_client(storefront, kind),
            settings,
            scope,
            context.log,
            run_id=context.run_id,
        )
    wh.publish()
    context.log.info(summary_line(report))
    return dg.MaterializeResult(metadata=push_metadata(report, wh))


def summary_line(report: PushReport) -> str:
    if not report.enabled:
        return f"storefront {report.kind}s: push disabled ({'; '.join(report.notes)})"
    return (
        f"storefront {report.kind}s: {report.sent} sent, {report.reconciled} reconciled, {report.skipped} skipped, "
        f"{report.dead_lettered} dead-lettered, {report.still_open} left open ({report.planned} newly planned)"
    )


def push_metadata(report: PushReport, wh: DuckDBWarehouse) -> dict[str, Any]:
    with wh.connect() as conn:
        (open_dead,) = conn.execute(
            "SELECT count(*) FROM push.dead_letters d WHERE resolved_at IS NULL AND kind = ?", [report.kind]
        ).fetchone()
        states = dict(
            conn.execute(
                "SELECT state, count(*) FROM push.ledger WHERE kind = ? GROUP BY ALL", [report.kind]
            ).fetchall()
        )
    return {
        **report.metadata(),
        "open_dead_letters": open_dead,
        "ledger_states": dg.MetadataValue.json(states),
        "dagster/row_count": sum(states.values()),
    }
