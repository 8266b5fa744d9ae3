"""Drive the Dagster UI of the `make dev` stack in Debian's chromium: see the assets, materialize from the UI.

The stack (sandbox + `dagster dev`, tmp DAGSTER_HOME and warehouse, ephemeral port) comes from the `dagster_stack`
fixture; the page from `page` (screenshot on failure). See docs/dev.md.
"""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

import duckdb
import pytest
from playwright.sync_api import Page, expect

from .dagster_stack import AssetNode, DagsterStack, marked_processes

pytestmark = pytest.mark.browser

REQUIRED_GROUPS = ("brightpearl", "analytics")
# Small, unpartitioned reference tables: a run of them takes seconds and needs no partition dialog.
REFERENCE_ASSETS = ("warehouses", "order_statuses")
RUN_TIMEOUT_MS = 120_000
RUNS_PAGE_RELOAD_MS = 3_000
STOP_BUDGET_S = 20.0  # `make dev` must stop within seconds of SIGTERM
LAUNCHED = re.compile(r"Launched run ([0-9a-f]{8})")
# No \b: Playwright matches has_text against textContent, where adjacent cells run together ("launchedSuccess").
FINAL_STATUS = re.compile(r"Success|Failure|Canceled")


def filter_assets(page: Page, selection: str) -> None:
    """Type an asset selection into the lineage page's filter box (a CodeMirror editor) and apply it."""
    page.locator(".CodeMirror").first.click()
    page.keyboard.press("Control+a")
    page.keyboard.type(selection)
    page.keyboard.press("Enter")
    # Applied filters live in the URL (`/asset-groups~<encoded selection>/`): wait for this one to be applied.
    page.wait_for_url(lambda url: f"/asset-groups~{selection}/" in unquote(url))


def launch_materialization(page: Page) -> str:
    """Click Materialize (confirming the launch dialog if one opens); return the short run id from the toast."""
    # Accessible names carry the icon's label first ("materialization Materialize all"): match the word only.
    page.get_by_role("button", name=re.compile(r"\bMaterialize\b")).first.click()
    toast = page.get_by_text(LAUNCHED)
    # Partitioned or config-needing selections open a launchpad first. Wait for its Launch button, not for any
    # dialog: another dialog (or the launch toast's own) can show for a moment while the run launches directly,
    # and waiting on a Launch button inside it then timed out although the run had started.
    launch = page.get_by_role("dialog").get_by_role("button", name=re.compile(r"\bLaunch\b"))
    expect(toast.or_(launch).first).to_be_visible()
    if not toast.first.is_visible() and launch.last.is_visible():
        launch.last.click()
    expect(toast.first).to_be_visible()
    match = LAUNCHED.search(toast.first.inner_text())
    assert match, toast.first.inner_text()
    return match.group(1)


def wait_for_run_outcome_on_runs_page(page: Page, stack: DagsterStack, short_id: str) -> str:
    """The run's row on the Runs page once it shows a final status; returns the row's text."""
    # The runs table is a virtualized grid of divs (no <tr>): the row is the innermost div holding both the
    # run's link and a final status.
    link = page.locator(f'a[href^="/runs/{short_id}"]')
    row = page.locator("div").filter(has=link).filter(has_text=FINAL_STATUS).last
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    page.goto(f"{stack.url}/runs")
    while True:
        try:
            # The page re-polls only every ~15 s: reloading every few seconds saves up to that much per test.
            expect(row).to_be_visible(timeout=RUNS_PAGE_RELOAD_MS)
            return row.inner_text()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.reload()


def count_rows(warehouse: str, table: str, attempts: int = 20) -> int:
    """Rows of one table; retried because DuckDB refuses even readers while a writer process holds the file."""
    for attempt in range(attempts):
        try:
            with duckdb.connect(warehouse, read_only=True) as con:
                return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except duckdb.IOException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def test_instance_config_of_the_dev_stack(dagster_stack: DagsterStack) -> None:
    instance = dagster_stack.graphql(
        '{ instance { info runQueuingSupported concurrencyLimit(concurrencyKey: "duckdb_writer") { limit } } }'
    )["instance"]
    assert instance["concurrencyLimit"]["limit"] == 1  # one DuckDB writer at a time (slots are created lazily)
    assert re.search(r"telemetry:\s+enabled: false", instance["info"])
    assert instance["runQueuingSupported"] is True  # QueuedRunCoordinator: the daemon dequeues UI launches


@pytest.mark.timeout(300)
def test_materialize_reference_data_from_the_ui(dagster_stack: DagsterStack, page: Page) -> None:
    stack = dagster_stack
    nodes = stack.asset_nodes()
    groups = sorted({node.group for node in nodes})
    assert set(REQUIRED_GROUPS) <= set(groups), groups
    reference = [node for node in nodes if node.name in REFERENCE_ASSETS]
    assert sorted(node.name for node in reference) == sorted(REFERENCE_ASSETS), nodes

    page.goto(f"{stack.url}/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    for group in groups:
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    for group in groups:
        assert_group_shows_its_assets(page, group, [node for node in nodes if node.group == group])

    # With the account check they depend on (a missing upstream would open Dagster's "materialize anyway" dialog).
    account = next(node for node in nodes if node.name == "brightpearl_account")
    filter_assets(page, " or ".join(node.selection for node in [account, *reference]))
    short_id = launch_materialization(page)
    row = wait_for_run_outcome_on_runs_page(page, stack, short_id)
    assert "Success" in row, f"run {short_id} did not succeed: {row!r}\n{stack.log_tail()}"

    run = next(run for run in stack.runs() if run["runId"].startswith(short_id))
    assert run["status"] == "SUCCESS"
    assert sorted(tuple(key["path"]) for key in run["assetSelection"]) == sorted(
        node.path for node in [account, *reference]
    )
    for node in reference:
        assert count_rows(str(stack.warehouse_path), f"brightpearl.{node.name}") > 0, node


def assert_group_shows_its_assets(page: Page, group: str, nodes: list[AssetNode]) -> None:
    filter_assets(page, f'group:"{group}"')
    for node in nodes:
        expect(page.get_by_text(node.name, exact=True).first).to_be_visible()


def test_sigterm_stops_the_whole_stack(dagster_stack: DagsterStack) -> None:
    """Last in the module (it stops the shared stack): what `kill`/Ctrl-C on `make dev` must do."""
    commands = [" ".join(proc.cmdline()) for proc in marked_processes(dagster_stack.marker)]
    for part in ("-m bp_sandbox", "dagster_webserver", "dagster._daemon"):  # the stack really was up
        assert any(part in command for command in commands), (part, [c[:100] for c in commands])
    report = dagster_stack.stop()
    assert report.survivors == (), f"processes left after SIGTERM: {report.survivors}"
    assert report.seconds < STOP_BUDGET_S, f"stop took {report.seconds:.1f} s"
    assert report.exit_code == 0, dagster_stack.log_tail()
