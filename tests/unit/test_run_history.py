"""The run history storage `dagster.yaml` selects: Dagster's SQLite event log, one engine per shard."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from bp_pipelines.lib import run_history
from bp_pipelines.lib.run_history import SqliteEventLogStorageKeepingEngines

REPO = Path(__file__).resolve().parents[2]


@dg.asset
def one() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"n": 1})


@dg.asset_check(asset=one)
def one_is_fine() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_the_repo_dagster_yaml_keeps_the_stock_layout_and_both_storages_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, SqliteEventLogStorageKeepingEngines)
        result = dg.materialize([one, one_is_fine], instance=instance)
        assert result.success
        ours = [e.dagster_event_type for e in instance.all_logs(result.run_id) if e.dagster_event]
        assert len(storage._engines) <= run_history._ENGINES_KEPT  # one per shard used, not one per event
    # Dagster's own storage reads what ours wrote, in the stock place ($DAGSTER_HOME/history/runs/).
    stock = SqliteEventLogStorage(base_dir=str(home / "history" / "runs"))
    assert [e.dagster_event_type for e in stock.get_logs_for_run(result.run_id) if e.dagster_event] == ours
    assert stock.get_latest_materialization_events([one.key])[one.key] is not None
    assert dg.DagsterEventType.ASSET_CHECK_EVALUATION in ours


def test_engines_kept_are_bounded(tmp_path: Path) -> None:
    storage = SqliteEventLogStorageKeepingEngines(base_dir=str(tmp_path))
    for n in range(run_history._ENGINES_KEPT + 5):
        with storage.run_connection(f"run{n}") as conn:
            conn.exec_driver_sql("SELECT 1")
    assert len(storage._engines) == run_history._ENGINES_KEPT
    storage.dispose()
    assert not storage._engines


def test_a_config_without_a_place_names_the_keys() -> None:
    with pytest.raises(ValueError, match="needs config dagster_home"):
        SqliteEventLogStorageKeepingEngines.from_config_value(None, {})
