"""The pipeline and the sandbox are separate distributions that meet only over HTTP.

Every module under `bp_pipelines/` is parsed (never imported) and must not import `bp_sandbox` (nor the old
in-tree sandbox package); every module under `sandbox/bp_sandbox/` must import nothing from `bp_pipelines`,
and its third-party imports must be the dependencies its pyproject declares.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PIPELINE = REPO / "bp_pipelines"
SANDBOX = REPO / "sandbox" / "bp_sandbox"
OLD_SANDBOX = "bp_pipelines" + ".sandbox"  # split so this file never matches a grep for the old name
OLD_SANDBOX_RE = re.compile(re.escape(OLD_SANDBOX) + r"\b")  # not bp_pipelines.sandbox_process
# Installed by the sandbox or the dev extra only: the pipeline's runtime must not need them.
# (yaml is a runtime dependency: the sync configuration file.)
NOT_PIPELINE_RUNTIME = {"bp_sandbox", "starlette", "uvicorn", "pytest", "playwright", "psutil", "syrupy"}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) for every import in the file, relative imports resolved, including
    `importlib.import_module("x")` / `__import__("x")` with a literal name. `from a import b` yields `a` and `a.b`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _sources(root: Path) -> list[Path]:
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    assert files, f"no sources under {root}"
    return files


def test_old_in_tree_sandbox_is_gone() -> None:
    assert not (PIPELINE / "sandbox").exists()
    assert (SANDBOX / "__main__.py").is_file()


def test_pipeline_does_not_import_the_sandbox() -> None:
    bad = []
    for path in _sources(PIPELINE):
        bad += [
            f"{path.relative_to(REPO)}:{line}: {module}"
            for line, module in imported_modules(path, PIPELINE)
            if any(_within(module, forbidden) for forbidden in (*NOT_PIPELINE_RUNTIME, OLD_SANDBOX))
        ]
        # Running it is fine (`python -m bp_sandbox`); naming the old module anywhere is not.
        bad += [
            f"{path.relative_to(REPO)}:{node.lineno}: string {node.value!r}"
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and OLD_SANDBOX_RE.search(node.value)
        ]
    assert not bad, "the pipeline must reach the sandbox over HTTP only:\n" + "\n".join(bad)


def test_sandbox_imports_nothing_from_the_pipeline() -> None:
    bad = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in _sources(SANDBOX)
        for line, module in imported_modules(path, SANDBOX)
        if _within(module, "bp_pipelines")
    ]
    assert not bad, "the sandbox must not depend on the pipeline:\n" + "\n".join(bad)


def test_sandbox_third_party_imports_are_its_declared_dependencies() -> None:
    project = tomllib.loads((REPO / "sandbox" / "pyproject.toml").read_text())["project"]
    declared = {req.split(">")[0].split("=")[0].split("<")[0].strip().lower() for req in project["dependencies"]}
    used: dict[str, set[str]] = {}
    for path in _sources(SANDBOX):
        for _, module in imported_modules(path, SANDBOX):
            top = module.split(".")[0]
            if top and top not in sys.stdlib_module_names and top not in ("__future__", "bp_sandbox"):
                used.setdefault(top, set()).add(str(path.relative_to(SANDBOX)))
    # pytest loads the plugin module (bp_sandbox.testing), so it is never a runtime dependency.
    assert used.pop("pytest", set()) <= {"testing.py"}
    assert set(used) == declared, f"imports {sorted(used)} vs declared dependencies {sorted(declared)}"


def test_pandas_stays_off_the_extraction_path() -> None:
    """Only bp_pipelines.analysis imports pandas: loading the code location (assets, marts, sync) does not."""
    import subprocess
    import sys

    code = "import sys, bp_pipelines.definitions, bp_pipelines.cli; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
