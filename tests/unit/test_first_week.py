"""A user's first week, the parts that need no sandbox: source identities, covered partitions, `.env` loading,
credential groups, quarantine record counts (on a real DuckDB file)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from bp_pipelines import settings
from bp_pipelines.lib.sync.partition_marks import covered_partition_keys
from bp_pipelines.lib.warehouse import bookkeeping as bk
from bp_pipelines.lib.warehouse import schema_sql, source

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1, timezone="UTC")
NOW = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)


# --- one warehouse, one source ---------------------------------------------------------------------------------------
def test_a_sandbox_identity_ignores_the_port_and_keeps_no_secret() -> None:
    a = source.brightpearl_identity("http://127.0.0.1:41234", "sandbox")
    b = source.brightpearl_identity("http://localhost:5555/", "sandbox")
    assert a == b
    assert a.is_loopback
    real = source.brightpearl_identity("https://EUW1.brightpearlconnect.com/", "acme")
    assert real.identity == "brightpearl https://euw1.brightpearlconnect.com account acme"
    assert not real.is_loopback
    assert real != source.brightpearl_identity("https://use1.brightpearlconnect.com", "acme")
    store = source.storefront_identity("https://api.bigcommerce.com", "abc123")
    assert store.identity == "bigcommerce https://api.bigcommerce.com store abc123"


def test_the_first_write_records_the_source_and_another_source_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    sandbox = source.brightpearl_identity("http://127.0.0.1:1", "sandbox")
    real = source.brightpearl_identity("https://euw1.brightpearlconnect.com", "acme")
    with duckdb.connect(str(path)) as conn:
        assert source.record_or_check_source(conn, "brightpearl", sandbox, path=path, run_id="r1") is True
        assert source.record_or_check_source(conn, "brightpearl", sandbox, path=path) is False  # reused, any port
        with pytest.raises(source.SourceMismatchError) as refused:
            source.record_or_check_source(conn, "brightpearl", real, path=path)
        # The storefront is its own kind: recorded independently of Brightpearl.
        store = source.storefront_identity("http://127.0.0.1:2", "sandboxstore")
        assert source.record_or_check_source(conn, "storefront", store) is True
        assert source.recorded_source(conn, "brightpearl") == sandbox.identity
    message = str(refused.value)
    assert "\n" not in message
    for part in (
        str(path),
        "sandbox (loopback) account sandbox",
        "account acme",
        "BP_WAREHOUSE_PATH",
        "reset-warehouse",
    ):
        assert part in message
    # The read-only file check (used before `make run`'s first call) says the same and records nothing.
    with pytest.raises(source.SourceMismatchError):
        source.check_file(path, "brightpearl", real)
    source.check_file(path, "brightpearl", sandbox)
    source.check_file(tmp_path / "new.duckdb", "brightpearl", real)  # no file yet: nothing to compare
    assert not (tmp_path / "new.duckdb").exists()


# --- partitions that tell the truth -------------------------------------------------------------------------------
def test_a_sweep_covers_every_partition_up_to_today() -> None:
    keys = covered_partition_keys(DAILY, None, None, NOW)
    assert keys[0] == "2024-01-01" and keys[-1] == "2026-12-02"
    assert len(keys) == (NOW.date() - datetime(2024, 1, 1).date()).days + 1


def test_an_incremental_window_covers_the_days_it_touched() -> None:
    since = datetime(2026, 11, 29, 23, 50, tzinfo=UTC)  # watermark - overlap, just before midnight
    assert covered_partition_keys(DAILY, since, None, NOW) == ["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]
    # A closed window ending at midnight does not cover the next day; one before the first partition is clamped.
    until = datetime(2026, 11, 30, tzinfo=UTC)
    assert covered_partition_keys(DAILY, since, until, NOW) == ["2026-11-29"]
    early = datetime(2023, 12, 30, tzinfo=UTC)
    assert covered_partition_keys(DAILY, early, datetime(2024, 1, 2, 1, tzinfo=UTC), NOW) == [
        "2024-01-01",
        "2024-01-02",
    ]


# --- .env and credential groups --------------------------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("BRIGHTPEARL_", "BIGCOMMERCE_", "BP_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_env_file_fills_only_unset_variables(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "BRIGHTPEARL_ACCOUNT=fromfile\nBRIGHTPEARL_APP_REF=app\nBP_WAREHOUSE_PATH=data/acme.duckdb\n# comment\n"
    )
    clean_env.setenv("BP_ENV_FILE", str(env_file))
    clean_env.setenv("BRIGHTPEARL_APP_REF", "from-environment")
    taken = settings.load_env_file()
    assert sorted(taken) == ["BP_WAREHOUSE_PATH", "BRIGHTPEARL_ACCOUNT"]
    assert os.environ["BRIGHTPEARL_ACCOUNT"] == "fromfile"
    assert os.environ["BRIGHTPEARL_APP_REF"] == "from-environment"  # the environment wins
    # A relative warehouse path in .env is relative to the .env's folder, whatever the working directory.
    assert settings.warehouse_path() == (tmp_path / "data" / "acme.duckdb").resolve()
    clean_env.setenv("BP_ENV_FILE", "none")
    clean_env.delenv("BRIGHTPEARL_ACCOUNT")
    assert settings.load_env_file() == []


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        (["BRIGHTPEARL_ACCOUNT_TOKEN"], ["BRIGHTPEARL_ACCOUNT", "BRIGHTPEARL_APP_REF"]),
        (["BRIGHTPEARL_ACCOUNT", "BRIGHTPEARL_APP_REF"], ["BRIGHTPEARL_ACCOUNT_TOKEN"]),
        (["BIGCOMMERCE_STORE_HASH"], ["BIGCOMMERCE_ACCESS_TOKEN"]),
    ],
)
def test_a_half_set_group_names_exactly_the_missing_variables(
    clean_env: pytest.MonkeyPatch, present: list[str], missing: list[str]
) -> None:
    for name in present:
        clean_env.setenv(name, "x")
    with pytest.raises(settings.ConfigError) as error:
        settings.check_credential_groups()
    message = str(error.value)
    assert f"{', '.join(missing)} not set" in message
    assert "\n" not in message


def test_a_storefront_without_brightpearl_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BIGCOMMERCE_STORE_HASH", "abc")
    clean_env.setenv("BIGCOMMERCE_ACCESS_TOKEN", "secret-token")
    with pytest.raises(settings.ConfigError) as error:
        settings.check_credential_groups()
    assert "BRIGHTPEARL_ACCOUNT" in str(error.value) and "secret-token" not in str(error.value)
    for name in settings.BRIGHTPEARL_GROUP:
        clean_env.setenv(name, "x")
    settings.check_credential_groups()  # both groups complete


def test_sync_settings_come_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    assert settings.sync_settings() == {
        "overlap_minutes": 10,
        "reread_days": 3,
        "reconcile_every_hours": 24,
        "reconcile_max_pages": 10,
        "open_notes_days": 30,
    }
    clean_env.setenv("BP_OVERLAP_MINUTES", "45")
    assert settings.sync_settings()["overlap_minutes"] == 45
    clean_env.setenv("BP_OVERLAP_MINUTES", "soon")
    with pytest.raises(settings.ConfigError, match="BP_OVERLAP_MINUTES"):
        settings.sync_settings()


# --- quarantine counts records ---------------------------------------------------------------------------------------
def test_a_dead_lettered_batch_counts_its_records(tmp_path: Path) -> None:
    assert bk.records_in("ids:101-119") == 19
    assert bk.records_in("ids:1-3,7") == 4
    assert bk.records_in("42") == 1
    assert bk.records_in("window:updatedOn=2026-01-01/") == 1
    with duckdb.connect(str(tmp_path / "q.duckdb")) as conn:
        conn.execute(schema_sql())
        bk.quarantine(conn, "orders", "ids:101-119", "GET batch refused", {"ids": "101-119"}, NOW)
        bk.quarantine(conn, "orders", "7", "unknown order status 99", {}, NOW)
        assert sorted((r, n) for _, r, n, _ in bk.open_records(conn)) == [("7", 1), ("ids:101-119", 19)]
        assert bk.resolve(conn, "orders", ["ids:101-119", "7"], NOW) == 20
        assert bk.open_records(conn) == []


def test_env_example_copied_verbatim_means_the_sandbox(clean_env: pytest.MonkeyPatch) -> None:
    """`cp .env.example .env` without filling anything in: the sandbox, no half-set complaint."""
    clean_env.setenv("BP_ENV_FILE", str(settings.REPO_ROOT / ".env.example"))
    taken = settings.load_env_file()
    assert "BRIGHTPEARL_ACCOUNT_TOKEN" in taken and os.environ["BRIGHTPEARL_ACCOUNT_TOKEN"] == ""
    assert settings.using_sandbox()
    settings.check_credential_groups()
    assert settings.warehouse_path() == settings.REPO_ROOT / "warehouse.duckdb"
