"""A user's first week at the command line, continued (split from test_first_week_cli.py so that xdist, which runs a
file on one worker, can run them side by side): a refused batch counts and names its records, through the real entry
point (`python -m bp_pipelines.cli run`) in a subprocess."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from .test_first_week_cli import base_env, cli, sandbox_vars


# --- quarantine counts records -------------------------------------------------------------------------------------
def test_a_refused_batch_counts_and_names_its_records_and_the_rerun_reports_them_resolved(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    sb = fresh_sandbox(seed=3, orders=120)
    env = base_env(tmp_path, **sandbox_vars(sb))
    sb.add_fault(api="brightpearl", kind="status", status=400, path=r"^contact-service/contact/\d", count=1)
    first = cli(env, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        [(record_id,)] = conn.execute(
            "SELECT record_id FROM _sync.quarantine WHERE resolved_at IS NULL AND resource = 'contacts'"
        ).fetchall()
    ids = record_id.removeprefix("ids:")
    count = sum(int(b) - int(a) + 1 if b else 1 for a, _, b in (p.partition("-") for p in ids.split(",")))
    assert count > 1
    assert f"{count} record(s) dead-lettered" in first.stdout
    assert f"contacts {count} records {record_id}: GET batch refused" in first.stdout
    assert re.search(rf"contacts\s.*rows_quarantined={count}\b", first.stdout), first.stdout

    second = cli(env, "run")
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{count} previously dead-lettered record(s) resolved by this run." in second.stdout
    assert "no records dead-lettered." in second.stdout
