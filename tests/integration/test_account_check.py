"""Inside a Dagster run, wrong credentials fail one step (the account check) with one clear message; every
extraction step is skipped instead of failing with the same error."""

from __future__ import annotations

from typing import Any

import dagster as dg

from bp_pipelines.resources.warehouse import WarehouseResource

from .test_brightpearl_sync import brightpearl, today


def _run(sb: Any, tmp_path: Any, token: str | None) -> dg.ExecuteInProcessResult:
    from bp_pipelines.definitions import defs

    job = defs.resolve_job_def("brightpearl_sync")
    wh = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    return job.execute_in_process(
        resources={"brightpearl": brightpearl(sb, token), "warehouse": wh},
        partition_key=today(),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_a_wrong_token_fails_the_account_check_once_and_skips_the_extraction(sandbox: Any, tmp_path: Any) -> None:
    before = sandbox.request_counts()
    result = _run(sandbox, tmp_path, token="wrong-token")
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["brightpearl_account"]
    message = failures[0].event_specific_data.error.message  # type: ignore[union-attr]
    assert "BRIGHTPEARL_ACCOUNT_TOKEN" in message and "wrong-token" not in message
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    from bp_pipelines.assets import brightpearl_assets

    extraction = {a.node_def.name for a in brightpearl_assets}
    assert "brightpearl_account" in started and not started & extraction  # each depends on it: not executed
    after = sandbox.request_counts()
    calls = sum(v - before.get(k, 0) for k, v in after.items() if k.startswith("brightpearl "))
    assert calls == 1  # the account check's one call, nothing else


def test_the_account_check_records_the_account_it_reached(sandbox: Any, tmp_path: Any) -> None:
    from bp_pipelines.assets import brightpearl_account

    result = dg.materialize([brightpearl_account], resources={"brightpearl": brightpearl(sandbox)})
    [event] = result.get_asset_materialization_events()
    meta = event.event_specific_data.materialization.metadata  # type: ignore[union-attr]
    assert meta["account"].value == sandbox.brightpearl_account and meta["warehouses"].value >= 1
