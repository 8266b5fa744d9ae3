"""Project-wide set-up for the pipeline's tests.

* ``DAGSTER_HOME`` points at a per-session temp dir holding a copy of the repo's ``dagster.yaml``.
* The longest test files are collected first (``LONGEST_FIRST``), for the order `make test`'s xdist hands files out.

The sandbox fixtures (``sandbox``, ``fresh_sandbox``, ``module_sandbox``; ``SandboxHandle``) come from the
``bp_sandbox.testing`` pytest plugin, registered by the ``bp-sandbox`` distribution (``sandbox/``) through its
``pytest11`` entry point: see docs/sandbox.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_DAGSTER_HOME: Path | None = None
# `make test` runs `--dist loadfile --no-loadscope-reorder`: each file on one worker, files handed out in collection
# order as workers free up. The longest files (per-file totals measured on 2 cores, longest first) start first, so the
# many short files fill the gaps at the end instead of a long file starting last and running alone (the tail was
# ~80 s when xdist's default order, most tests first, left the one-test CLI files for the end).
LONGEST_FIRST = (
    "tests/integration/test_first_week_cli.py",
    "tests/integration/test_storefront_push.py",
    "tests/integration/test_sandbox_state_cli.py",
    "tests/integration/test_reconciliation.py",
    "tests/integration/test_order_import.py",
    "tests/integration/test_docs_queries.py",
    "tests/integration/test_storefront_stock.py",
    "tests/integration/test_first_week.py",
    "tests/integration/test_first_week_cli_quarantine.py",
    "sandbox/tests/test_scale.py",
    "tests/integration/test_brightpearl_sync.py",
    "tests/integration/test_storefront_jobs.py",
    "tests/integration/test_cli_run.py",
    "tests/integration/test_storefront_accounts.py",
    "tests/integration/test_checks.py",
)


def pytest_configure(config: pytest.Config) -> None:
    global _DAGSTER_HOME
    _DAGSTER_HOME = Path(tempfile.mkdtemp(prefix="dagster_home_"))
    shutil.copy(REPO / "dagster.yaml", _DAGSTER_HOME / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(_DAGSTER_HOME)
    # A developer's .env (real credentials) must never reach a test; tests of .env set BP_ENV_FILE themselves.
    os.environ["BP_ENV_FILE"] = "none"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _DAGSTER_HOME is not None:
        shutil.rmtree(_DAGSTER_HOME, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if missing := [path for path in LONGEST_FIRST if not (REPO / path).is_file()]:
        raise pytest.UsageError(f"tests/conftest.py LONGEST_FIRST names files that do not exist: {missing}")
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    # A stable sort: the tests inside a file, and the files not listed, keep their order.
    items.sort(key=lambda item: rank.get(item.path.relative_to(REPO).as_posix(), len(rank)))
