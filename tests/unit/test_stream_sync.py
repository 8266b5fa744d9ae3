"""The sync engine's decisions on their own: windows, change detection, watermark cap, the delete safety valve,
mode selection -- and one StreamSync run over a small in-memory fake client (no sandbox, no HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bp_pipelines.lib.brightpearl import ClientStats, SearchPage
from bp_pipelines.lib.sync import streams
from bp_pipelines.lib.sync.config import SyncConfig, choose_mode
from bp_pipelines.lib.sync.stream_sync import (
    SAFETY_VALVE_MIN_ROWS,
    StreamSync,
    capped_watermark,
    column_differs,
    deletions_blocked,
    expand_id_set,
    joins_history,
    needs_fetch,
    search_time,
    window_searches,
)
from bp_pipelines.lib.warehouse import DuckDBWarehouse

T0 = datetime(2025, 3, 1, tzinfo=UTC)
T1 = datetime(2025, 3, 2, tzinfo=UTC)


# ------------------------------------------------------------------ windows
def test_search_time_is_utc_with_milliseconds() -> None:
    from datetime import timezone

    local = datetime(2025, 3, 1, 7, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-6)))
    assert search_time(local) == "2025-03-01T13:30:15.123Z"


def test_window_of_a_single_replication_key_is_one_search() -> None:
    assert window_searches(streams.ORDERS, T0, T1) == [
        {"updatedOn": "2025-03-01T00:00:00.000Z/2025-03-02T00:00:00.000Z"}
    ]


def test_open_window_has_an_open_upper_bound() -> None:
    assert window_searches(streams.PRODUCTS, T0, None) == [{"updatedOn": "2025-03-01T00:00:00.000Z/"}]


def test_goods_out_window_adds_shipped_and_unshipped_searches_restricted_to_older_notes() -> None:
    period = "2025-03-01T00:00:00.000Z/2025-03-02T00:00:00.000Z"
    before = "/2025-03-01T00:00:00.000Z"
    assert window_searches(streams.GOODS_OUT_NOTES, T0, T1) == [
        {"createdOn": period},
        {"shippedOn": period, "createdOn": before},
        {"shipped": "false", "createdOn": before},
    ]


def test_goods_out_unshipped_search_reaches_back_only_the_lookback() -> None:
    searches = window_searches(streams.GOODS_OUT_NOTES, T0, None, timedelta(days=30))
    assert searches == [
        {"createdOn": "2025-03-01T00:00:00.000Z/"},
        {"shippedOn": "2025-03-01T00:00:00.000Z/", "createdOn": "/2025-03-01T00:00:00.000Z"},  # any age ships
        {"shipped": "false", "createdOn": "2025-01-30T00:00:00.000Z/2025-03-01T00:00:00.000Z"},
    ]
    assert window_searches(streams.ORDERS, T0, None, timedelta(days=30)) == [{"updatedOn": "2025-03-01T00:00:00.000Z/"}]


# ------------------------------------------------------------------ change detection
UPDATED = streams.UPDATED_ON
SKU = streams.ChangeColumn("SKU", "sku", "str")
STATUS_ID = streams.ChangeColumn("orderStatusId", "order_status_id", "int")
SHIPPED = streams.ChangeColumn("shipped", "shipped", "bool")


def test_a_missing_search_column_means_fetch() -> None:
    assert column_differs(SKU, {}, "A-1")


def test_null_and_empty_text_are_the_same_text() -> None:
    assert not column_differs(SKU, {"SKU": None}, "")
    assert not column_differs(SKU, {"SKU": ""}, None)
    assert not column_differs(SKU, {"SKU": None}, None)
    assert column_differs(SKU, {"SKU": "A-2"}, "A-1")


def test_null_updated_on_in_a_search_row_is_unknown_so_fetched() -> None:
    stored = datetime(2025, 1, 1, tzinfo=UTC)
    assert column_differs(UPDATED, {"updatedOn": None}, stored)
    assert not column_differs(UPDATED, {"updatedOn": "2025-01-01T00:00:00.000Z"}, stored)
    assert column_differs(UPDATED, {"updatedOn": "2025-01-01T00:00:01.000Z"}, stored)


def test_a_cheap_sweep_does_not_take_null_updated_on_as_a_change() -> None:
    stored = datetime(2025, 1, 1, tzinfo=UTC)
    assert not column_differs(UPDATED, {"updatedOn": None}, stored, null_is_change=False)
    local = (False, stored, "A-1", "LIVE")
    assert not needs_fetch(streams.PRODUCTS, _product_row(updated=None), local, null_is_change=False)
    assert needs_fetch(streams.PRODUCTS, _product_row(updated=None, SKU="B"), local, null_is_change=False)


def test_offset_timestamps_compare_as_instants() -> None:
    stored = datetime(2025, 1, 1, 6, tzinfo=UTC)
    assert not column_differs(UPDATED, {"updatedOn": "2025-01-01T00:00:00.000-06:00"}, stored)


def test_unreadable_cells_mean_fetch() -> None:
    assert column_differs(STATUS_ID, {"orderStatusId": "not a number"}, 4)
    assert column_differs(UPDATED, {"updatedOn": "yesterday"}, T0)


def test_int_and_bool_columns() -> None:
    assert not column_differs(STATUS_ID, {"orderStatusId": "4"}, 4)
    assert column_differs(STATUS_ID, {"orderStatusId": 5}, 4)
    assert not column_differs(SHIPPED, {"shipped": "true"}, True)
    assert column_differs(SHIPPED, {"shipped": False}, True)


def _products_local(updated: datetime, sku: str = "A-1", status: str = "LIVE", deleted: bool = False) -> tuple:
    return (deleted, updated, sku, status)


def _product_row(updated: str | None = "2025-01-01T00:00:00.000Z", **extra: Any) -> dict[str, Any]:
    return {"productId": 1, "updatedOn": updated, "SKU": "A-1", "productStatus": "LIVE", **extra}


def test_needs_fetch_new_deleted_forced_unchanged() -> None:
    stored = datetime(2025, 1, 1, tzinfo=UTC)
    row = _product_row()
    assert needs_fetch(streams.PRODUCTS, row, None)  # new
    assert needs_fetch(streams.PRODUCTS, row, _products_local(stored, deleted=True))  # reappeared
    assert needs_fetch(streams.PRODUCTS, row, _products_local(stored), force=True)
    assert not needs_fetch(streams.PRODUCTS, row, _products_local(stored))
    assert needs_fetch(streams.PRODUCTS, row, _products_local(stored, sku="OLD"))  # silent edit


def test_reconciliation_rereads_recently_touched_records() -> None:
    stored = datetime(2025, 1, 1, tzinfo=UTC)
    row = _product_row(createdOn="2024-12-31T00:00:00.000Z")
    local = _products_local(stored)
    assert not needs_fetch(streams.PRODUCTS, row, local, recent_cutoff=datetime(2025, 2, 1, tzinfo=UTC))
    assert needs_fetch(streams.PRODUCTS, row, local, recent_cutoff=datetime(2024, 12, 31, tzinfo=UTC))


# ------------------------------------------------------------------ watermark, history, safety valve, modes
def test_watermark_is_capped_at_search_start_and_window_end() -> None:
    started = datetime(2025, 3, 5, tzinfo=UTC)
    assert capped_watermark(None, started, None) is None
    assert capped_watermark(T0, started, None) == T0
    assert capped_watermark(started + timedelta(hours=1), started, None) == started  # Brightpearl clock ahead
    assert capped_watermark(started, started, T1) == T1


def test_a_partition_run_moves_the_watermark_only_when_it_joins_history() -> None:
    assert joins_history("incremental", T0, None)
    assert joins_history("reconciliation", None, T0)
    assert joins_history("partition", T0, T1)  # window starts before the stored watermark
    assert not joins_history("partition", T1, T0)  # a gap between the watermark and the window
    assert not joins_history("partition", None, T0)


def test_delete_safety_valve() -> None:
    assert not deletions_blocked(SAFETY_VALVE_MIN_ROWS, 10, 0.5)  # a few are always trusted
    assert not deletions_blocked(50, 100, 0.5)
    assert deletions_blocked(51, 100, 0.5)
    assert deletions_blocked(11, 12, 0.5)


@pytest.mark.parametrize(
    ("requested", "key_range", "backfill", "expected"),
    [
        ("auto", None, False, "incremental"),
        ("auto", ("2025-03-05", "2025-03-05"), False, "incremental"),  # today's partition
        ("auto", ("2025-03-04", "2025-03-04"), False, "partition"),  # a past day
        ("auto", ("2025-03-01", "2025-03-05"), False, "partition"),  # a range
        ("auto", ("2025-03-05", "2025-03-05"), True, "partition"),  # any backfill
        ("reconciliation", ("2025-03-05", "2025-03-05"), False, "reconciliation"),
        ("incremental", ("2025-03-01", "2025-03-02"), True, "incremental"),
    ],
)
def test_mode_selection(requested: Any, key_range: Any, backfill: bool, expected: str) -> None:
    assert (
        choose_mode(requested, partition_range=key_range, is_backfill=backfill, latest_partition="2025-03-05")
        == expected
    )


def test_expand_id_set() -> None:
    assert expand_id_set("1-3,7,10-11") == [1, 2, 3, 7, 10, 11]


# ------------------------------------------------------------------ one run with a fake client
class ListLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)

    def warning(self, msg: str) -> None:
        self.lines.append("WARNING " + msg)


def _product(pid: int, updated: str, sku: str) -> dict[str, Any]:
    return {
        "id": pid,
        "identity": {"sku": sku},
        "salesChannels": [{"salesChannelName": "Brightpearl", "productName": f"P{pid}"}],
        "status": "LIVE",
        "createdOn": "2024-06-01T00:00:00.000Z",
        "updatedOn": updated,
    }


class FakeClient:
    """Products only: search rows honour the `updatedOn` PERIOD filter (null updatedOn never matches a range,
    as in Brightpearl); GETs return the full records."""

    def __init__(self, products: Mapping[int, dict[str, Any]], search_updated: Mapping[int, str | None]) -> None:
        self.products, self.search_updated = dict(products), dict(search_updated)
        self.stats = ClientStats()
        self.fetched: list[list[int]] = []

    def search(
        self, path: str, filters: Mapping[str, str] | None = None, *, columns: Sequence[str] | None = None, **_: Any
    ) -> Iterator[SearchPage]:
        rows = []
        for pid, product in sorted(self.products.items()):
            updated = self.search_updated.get(pid, product["updatedOn"])
            period = (filters or {}).get("updatedOn")
            if period is not None:
                low = period.split("/")[0]
                if updated is None or (low and updated < low):
                    continue
            rows.append(
                {"productId": pid, "updatedOn": updated, "SKU": product["identity"]["sku"], "productStatus": "LIVE"}
            )
        yield SearchPage(rows, {}, 1, len(rows), len(rows), False, columns=list(columns or []))

    def budget(self) -> int | None:
        return 150

    def get_by_ids(
        self, path: str, ids: Iterable[int], *, batch_size: int, params: Any = None, decode: Any = None
    ) -> Iterator[Any]:
        ids = list(ids)
        self.fetched.append(ids)
        records = [self.products[i] for i in ids if i in self.products]
        # Like the real client: a `decode` hook gets the response body's bytes (the sync stages them in DuckDB).
        yield decode(json.dumps({"response": records}).encode())["response"] if decode else records


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse(tmp_path / "wh.duckdb")


def _stored(warehouse: DuckDBWarehouse) -> dict[int, tuple[str, bool]]:
    with warehouse.connect() as conn:
        return {
            r[0]: (r[1], r[2])
            for r in conn.execute("SELECT product_id, sku, is_deleted FROM brightpearl.products").fetchall()
        }


def test_incremental_run_stores_changes_and_skips_unchanged(warehouse: DuckDBWarehouse) -> None:
    products = {1: _product(1, "2025-01-01T00:00:00.000Z", "A"), 2: _product(2, "2025-01-02T00:00:00.000Z", "B")}
    client = FakeClient(products, {})
    run = StreamSync(streams.PRODUCTS, client, warehouse, ListLog()).run("incremental", None, SyncConfig(), "r1")  # type: ignore[arg-type]
    assert _stored(warehouse) == {1: ("A", False), 2: ("B", False)}
    assert run.stats.table.inserted == 2
    assert run.watermark == datetime(2025, 1, 2, tzinfo=UTC)

    client.fetched.clear()
    again = StreamSync(streams.PRODUCTS, client, warehouse, ListLog()).run("incremental", None, SyncConfig(), "r2")  # type: ignore[arg-type]
    assert client.fetched == []  # nothing changed: searches only
    assert again.stats.table.inserted == again.stats.table.updated == 0


def test_a_complete_first_sweep_warns_of_nothing(warehouse: DuckDBWarehouse) -> None:
    """The first run sweeps into an empty table: nothing can have vanished, and no page failed, so no warning
    (an earlier version said "the sweep was incomplete" on every first run)."""
    client = FakeClient({1: _product(1, "2025-01-01T00:00:00.000Z", "A")}, {})
    log = ListLog()
    run = StreamSync(streams.PRODUCTS, client, warehouse, log).run("incremental", None, SyncConfig(), "r1")  # type: ignore[arg-type]
    assert run.sweep is not None and run.stats.table.inserted == 1
    assert run.stats.deletions_skipped is None
    assert not [line for line in log.lines if line.startswith("WARNING")], log.lines


def test_reconciliation_marks_vanished_records_and_catches_silent_edits(warehouse: DuckDBWarehouse) -> None:
    products = {i: _product(i, "2025-01-01T00:00:00.000Z", f"S{i}") for i in range(1, 6)}
    client = FakeClient(products, {})
    StreamSync(streams.PRODUCTS, client, warehouse, ListLog()).run("incremental", None, SyncConfig(), "r1")  # type: ignore[arg-type]
    del client.products[5]
    client.products[4] = {**products[4], "identity": {"sku": "EDITED"}}  # updatedOn not bumped
    config = SyncConfig(reread_days=0)
    run = StreamSync(streams.PRODUCTS, client, warehouse, ListLog()).run("reconciliation", None, config, "r2")  # type: ignore[arg-type]
    stored = _stored(warehouse)
    assert stored[5] == ("S5", True)
    assert stored[4] == ("EDITED", False)
    assert run.stats.table.deleted == 1


def test_safety_valve_keeps_rows_when_the_sweep_misses_most_of_them(warehouse: DuckDBWarehouse) -> None:
    products = {i: _product(i, "2025-01-01T00:00:00.000Z", f"S{i}") for i in range(1, 31)}
    client = FakeClient(products, {})
    StreamSync(streams.PRODUCTS, client, warehouse, ListLog()).run("incremental", None, SyncConfig(), "r1")  # type: ignore[arg-type]
    client.products = {1: products[1]}  # e.g. credentials of another, almost empty account
    log = ListLog()
    run = StreamSync(streams.PRODUCTS, client, warehouse, log).run("reconciliation", None, SyncConfig(), "r2")  # type: ignore[arg-type]
    assert run.stats.table.deleted == 0
    assert "nothing marked deleted" in (run.stats.deletions_skipped or "")
    assert not any(deleted for _, deleted in _stored(warehouse).values())


# ------------------------------------------------------------------ when an incremental run sweeps every id
def _plan(**overrides: Any) -> Any:
    from bp_pipelines.lib.sync.stream_sync import plan_sweep

    now = datetime(2025, 3, 5, 12, tzinfo=UTC)
    args = {
        "watermark": now - timedelta(minutes=15),
        "last_reconciled_at": now - timedelta(hours=1),
        "stored_rows": 100_000,
        "now": now,
        "reconcile_every": timedelta(hours=24),
        "max_pages": 10,
    }
    return plan_sweep(**{**args, **overrides})


def test_the_first_run_sweeps_so_null_updated_on_records_are_stored() -> None:
    plan = _plan(watermark=None, last_reconciled_at=None, stored_rows=0)
    assert plan is not None and plan.reason.startswith("first run") and plan.reconciled


def test_a_cheap_sweep_runs_every_time_without_rereads() -> None:
    plan = _plan(stored_rows=5_000)  # 10 pages of 500
    assert plan is not None and not plan.reread_recent and not plan.reconciled
    assert _plan(stored_rows=5_001) is None  # 11 pages: only when due
    assert _plan(stored_rows=10, max_pages=0) is None  # cheap sweeps switched off


def test_an_expensive_sweep_runs_once_reconcile_every_has_passed() -> None:
    now = datetime(2025, 3, 5, 12, tzinfo=UTC)
    plan = _plan(last_reconciled_at=now - timedelta(hours=24))
    assert plan is not None and plan.reread_recent and plan.reconciled
    assert _plan(last_reconciled_at=None) is not None  # never reconciled
    assert _plan(last_reconciled_at=now - timedelta(hours=23)) is None


# ------------------------------------------------------------------ progress
def test_progress_line_counts_rows_calls_budget_and_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    from bp_pipelines.lib.sync import progress

    clock = iter([100.0, 130.0, 130.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    monkeypatch.setenv(progress.PROGRESS_ENV, "lines")
    log = ListLog()
    bar = progress.StreamProgress("orders", log, interval_s=10)
    bar.update(done=25_000, total=100_000, calls=60, budget_left=20)
    assert log.lines == [
        "orders: 25,000 of 100,000 search rows (25%), 60 calls, 90% of the rate budget in use, ETA 1m30s"
    ]


def test_a_run_logs_progress_to_the_run_log(warehouse: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    from bp_pipelines.lib.sync import progress

    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)
    products = {i: _product(i, "2025-01-01T00:00:00.000Z", f"S{i}") for i in range(1, 4)}
    log = ListLog()
    StreamSync(streams.PRODUCTS, FakeClient(products, {}), warehouse, log).run("incremental", None, SyncConfig(), "r")  # type: ignore[arg-type]
    assert any(line.startswith("products: 3 of 3 search rows (100%)") for line in log.lines), log.lines


def test_the_watermark_is_the_latest_instant_whatever_the_offsets(warehouse: DuckDBWarehouse) -> None:
    sync = StreamSync(streams.PRODUCTS, FakeClient({}, {}), warehouse, ListLog())  # type: ignore[arg-type]
    texts = [
        "2025-03-01T10:00:00.000-06:00",  # 16:00 UTC
        "2025-03-01T09:00:00.000-06:00",  # lower, same layout: skipped without a parse
        "2025-03-01T17:30:00.000+01:00",  # 16:30 UTC: another offset, parsed
        "2025-03-01T11:00:00.000-06:00",  # 17:00 UTC: the max
        "2025-03-01T16:59:00.000Z",
        None,
        "not a date",
        "2025-03-01T10:59:59.999-06:00",
    ]
    for text in texts:
        sync._track_watermark({"updatedOn": text})
    assert sync.max_seen == datetime(2025, 3, 1, 17, 0, tzinfo=UTC)
