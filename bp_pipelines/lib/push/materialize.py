"""The materialize steps of the storefront push assets (and of the order import): scope from the Dagster context, settings from the
sync configuration file, `run_push`, then metadata and the published snapshot."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import dagster as dg

from bp_pipelines.lib.bigcommerce.errors import BigCommerceAuthError, BigCommerceError
from bp_pipelines.lib.brightpearl.errors import BrightpearlAuthError, BrightpearlError
from bp_pipelines.lib.conventions import daily_partitions
from bp_pipelines.lib.warehouse import DuckDBWarehouse
from bp_pipelines.lib.warehouse.source import SourceMismatchError, record_or_check_source, storefront_identity
from bp_pipelines.settings import ConfigError

from .accounts import AccountSettings, run_accounts
from .engine import Kind, PushReport, StorefrontApi, run_push
from .imports import ImportSettings, run_import
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
    published = wh.publish_if_changed(report.changed)  # a quiet push (no ledger row written) copies nothing
    context.log.info(summary_line(report))
    return dg.MaterializeResult(metadata={**push_metadata(report, wh), "published": published})


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


class BrightpearlSource(Protocol):
    def get_client(self) -> contextlib.AbstractContextManager[Any]: ...


LoadImportSettings = Callable[[DuckDBWarehouse], ImportSettings]


@contextlib.contextmanager
def _brightpearl_client(brightpearl: BrightpearlSource) -> Iterator[Any]:
    try:
        with brightpearl.get_client() as client:
            yield client
    except ConfigError as exc:
        raise dg.Failure(description=f"storefront orders not imported: {exc}", allow_retries=False) from None
    except BrightpearlError as exc:
        raise dg.Failure(
            description=(
                f"Brightpearl failed while importing storefront orders: {exc}. Orders created so far are in "
                "push.ledger; a row left in 'sending' is looked up by externalRef before anything is created again."
            ),
            metadata={"error_class": type(exc).__name__, "status": exc.status if exc.status is not None else -1},
            allow_retries=not isinstance(exc, BrightpearlAuthError),
        ) from exc


def materialize_import(
    context: dg.AssetExecutionContext,
    brightpearl: BrightpearlSource,
    warehouse: WarehouseSource,
    load_settings: LoadImportSettings,
) -> dg.MaterializeResult:
    """Today's partition: every importable extracted storefront order not yet in the ledger. Past partitions (a
    backfill): the storefront orders modified on those days. Storefront orders come from the warehouse only."""
    wh = warehouse.get_warehouse()
    settings = load_settings(wh)
    scope = push_scope(context)
    with wh.session():
        report = run_import(
            wh.connect,
            lambda: _brightpearl_client(brightpearl),
            settings,
            context.log,
            run_id=context.run_id,
            modified_from=scope.window_from,
            modified_to=scope.window_to,
        )
    published = wh.publish_if_changed(report.changed)
    if not report.enabled:
        context.log.info("storefront order import: off (" + "; ".join(report.notes) + ")")
    else:
        context.log.info(
            f"storefront order import: {report.created} created, {report.found} already in Brightpearl, "
            f"{report.skipped} skipped, {report.dead_lettered} dead-lettered, {report.still_open} left open "
            f"({report.planned} newly planned, {report.contacts_created} contacts created)"
        )
    with wh.connect() as conn:
        (open_dead,) = conn.execute(
            "SELECT count(*) FROM push.dead_letters WHERE resolved_at IS NULL "
            "AND kind IN ('order_import', 'contact_update')"
        ).fetchone()
        states = dict(
            conn.execute("SELECT state, count(*) FROM push.ledger WHERE kind = 'order_import' GROUP BY ALL").fetchall()
        )
    return dg.MaterializeResult(
        metadata={
            **report.metadata(),
            "open_dead_letters": open_dead,
            "ledger_states": dg.MetadataValue.json(states),
            "dagster/row_count": sum(states.values()),
            "published": published,
        }
    )


def materialize_accounts(
    context: dg.AssetExecutionContext,
    storefront: StorefrontSource,
    warehouse: WarehouseSource,
    load_settings: Callable[[DuckDBWarehouse], AccountSettings],
) -> dg.MaterializeResult:
    """Not windowed: every trade customer's account is compared on every run (the ledger plans only changes)."""
    wh = warehouse.get_warehouse()
    settings = load_settings(wh)
    with wh.session():
        report = run_accounts(
            wh.connect,
            lambda: _storefront_client(storefront, "account"),  # type: ignore[arg-type,return-value]
            settings,
            run_id=context.run_id,
        )
    published = wh.publish_if_changed(report.changed)
    if report.untagged:
        context.log.warning(
            f"storefront accounts: {report.untagged} contacts were stored before contact tags were extracted, so "
            "accounts.who.tag cannot select them yet; re-read them once (materialize contacts with config "
            "{mode: reconciliation, force: true})"
        )
    context.log.info(
        f"storefront accounts: {report.created} created, {report.updated} updated, {report.unchanged} already in "
        f"step, {report.dead_lettered} dead-lettered ({report.planned} newly planned, {report.calls} calls)"
        if report.enabled
        else "storefront accounts: off (no accounts section, or accounts.enabled is false)"
    )
    with wh.connect() as conn:
        (open_dead,) = conn.execute(
            "SELECT count(*) FROM push.dead_letters WHERE resolved_at IS NULL AND kind = 'account'"
        ).fetchone()
    return dg.MaterializeResult(metadata={**report.metadata(), "open_dead_letters": open_dead, "published": published})
