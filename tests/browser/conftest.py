"""Fixtures for the browser tests: the `make dev` stack and a headless Debian chromium page.

On failure the page is saved as `failure.png` (+ `failure.html`) and the stack log as `stack.log` under the test's
tmp_path; the paths are printed in the report.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from .dagster_stack import CHROMIUM, CHROMIUM_ARGS, DagsterStack


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    # Keep each phase's report on the item so fixtures can tell in their teardown whether the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(request.node, f"rep_{when}", None) is not None and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )


@pytest.fixture(scope="module")
def dagster_stack(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[DagsterStack]:
    """One stack per module: start-up costs ~20 s. Tests that stop() it go last in their module."""
    stack = DagsterStack(tmp_path_factory.mktemp("dagster_stack"))
    # Registered before start(): the finalizer runs even if start-up or a test fails half-way.
    request.addfinalizer(stack.stop)
    stack.start()  # also dismisses the "Join the Dagster community" modal (setNuxSeen)
    yield stack


@pytest.fixture(autouse=True)
def _stack_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "dagster_stack" in request.fixturenames and _failed(request):
        stack: DagsterStack = request.getfixturevalue("dagster_stack")
        print(f"\nstack log: {stack.log_path}\n--- tail ---\n{stack.log_tail(3000)}")


@pytest.fixture
def page(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make browser-deps` (apt-get install -y chromium)")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="bp_chromium_") as profile:
        # A fresh profile per test (--user-data-dir): no state leaks between runs.
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport={"width": 1600, "height": 1000},
        )
        context.set_default_timeout(30_000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
            if _failed(request):
                _save_failure(context.pages[-1], tmp_path)
        finally:
            context.close()


def _save_failure(page: Page, tmp_path: Path) -> None:
    shot, html = tmp_path / "failure.png", tmp_path / "failure.html"
    try:
        page.screenshot(path=str(shot), full_page=True)
        html.write_text(page.content())
        print(f"\nscreenshot: {shot}\npage html: {html}\nurl: {page.url}")
    except Exception as exc:  # a dead page must not hide the test's own failure
        print(f"\ncould not save a screenshot: {exc!r}")
