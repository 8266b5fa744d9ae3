"""Project-wide set-up for the pipeline's tests.

* ``DAGSTER_HOME`` points at a per-session temp dir holding a copy of the repo's ``dagster.yaml``.

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
