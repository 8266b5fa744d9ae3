"""The pipeline's wheel ships the pipeline only: no sandbox files, no sandbox/test-only runtime requirements.

Built with `uv build --wheel` (the tool `make` installs with) from a scratch copy of the repo, so setuptools'
`build/` and `*.egg-info` never land in the work tree and stale build output cannot leak into the wheel.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".dagster_home", "warehouse*.duckdb*",
    ".pytest_cache", ".ruff_cache", "node_modules",
)  # fmt: skip
NEVER = {"starlette", "uvicorn", "bp-sandbox"}  # not even as an extra
DEV_ONLY = {"pytest", "playwright", "ruff", "psutil", "syrupy"}  # only behind `extra == "dev"`


def _uv() -> list[str]:
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    if exe := shutil.which("uv"):
        return [exe]
    pytest.fail("uv is needed to build the wheel (make installs it for $(PY)); not found in this env or on PATH")


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src, out = tmp_path_factory.mktemp("src") / "repo", tmp_path_factory.mktemp("dist")
    shutil.copytree(REPO, src, ignore=COPY_IGNORE)
    proc = subprocess.run(
        [*_uv(), "build", "--wheel", "--python", sys.executable, "--out-dir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"uv build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    wheels = list(out.glob("bp_pipelines-*.whl"))
    assert len(wheels) == 1, list(out.iterdir())
    return wheels[0]


def test_wheel_holds_only_the_pipeline_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n == "bp_pipelines/sandbox_process.py" for n in names)
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"bp_pipelines"}, tops
    sandboxy = [n for n in names if {"sandbox", "bp_sandbox"} & set(n.split("/")) or "bp_sandbox" in n]
    assert not sandboxy, sandboxy


def test_wheel_requires_no_sandbox_or_test_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        metadata_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(zf.read(metadata_name).decode())
    requires = metadata.get_all("Requires-Dist") or []
    runtime = {_name(r) for r in requires if "extra ==" not in r}
    everything = {_name(r) for r in requires}
    assert "dagster" in runtime, requires
    assert not runtime & (NEVER | DEV_ONLY), sorted(runtime)
    assert not everything & NEVER, sorted(everything)
    dev = {_name(r) for r in requires if re.search(r"""extra\s*==\s*["']dev["']""", r)}
    assert dev >= DEV_ONLY, sorted(dev)
