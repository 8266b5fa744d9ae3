"""Every query example in README.md and docs/*.md returns rows on a warehouse `make run` filled from the sandbox,
and the analyst tools (`make sql`, `bp_pipelines.analysis`) work on it as documented.

One real `python -m bp_pipelines.cli run` (the `make run` entry point: live-clock sandbox of 5000 orders, the whole
job, marts, publish) fills a temp warehouse; the examples are read from the docs themselves: fenced ```sql blocks
(statements end with `;` at the end of a line), `make sql Q="…"` lines and the fenced ```python blocks that use
`bp_pipelines.analysis`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bp_pipelines.analysis import SnapshotMissingError, mart_df, query_df

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def sql_blocks(text: str) -> list[str]:
    """The statements of the fenced sql blocks (a `;` ends a statement only at the end of a line)."""
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    return [q.strip() for block in blocks for q in re.split(r";[ \t]*(?:\n|$)", block) if q.strip()]


def make_sql_examples(text: str) -> list[str]:
    return [q.replace('\\"', '"') for q in re.findall(r'make sql Q="((?:[^"\\]|\\.)*)"', text)]


def python_blocks(text: str) -> list[str]:
    """The analyst examples among the python blocks (others, e.g. API signatures in architecture.md, are not code)."""
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return [b for b in blocks if "from bp_pipelines.analysis import" in b]


def documented(kind: str) -> list[tuple[str, str]]:
    extract = {"sql": sql_blocks, "make_sql": make_sql_examples, "python": python_blocks}[kind]
    return [(path.relative_to(REPO).as_posix(), q) for path in DOCS for q in extract(path.read_text())]


def cli(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BRIGHTPEARL_", "BIGCOMMERCE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bp_pipelines.cli", *args],
        env={**clean, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The env of a warehouse filled by `make run`'s entry point on the live-clock sandbox (no credentials set)."""
    tmp = tmp_path_factory.mktemp("docs_queries")
    env = {
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "BP_WAREHOUSE_PATH": str(tmp / "warehouse.duckdb"),
        "BP_SANDBOX_ORDERS": "5000",
        "BP_PROGRESS": "lines",
    }
    result = cli(["run"], env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # A first run on a healthy account warns of nothing (it once said every first sweep was incomplete).
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if " - WARNING - " in line]
    assert not warnings, warnings
    return env


@pytest.fixture()
def db(warehouse: dict[str, str]) -> Any:
    conn = duckdb.connect(warehouse["BP_WAREHOUSE_PATH"], read_only=True)
    conn.execute("SET TimeZone = 'UTC'")
    yield conn
    conn.close()


def test_the_docs_have_query_examples() -> None:
    assert len(documented("sql")) >= 14
    assert len(documented("make_sql")) >= 4
    assert len(documented("python")) >= 1


@pytest.mark.parametrize(("doc", "query"), documented("sql") + documented("make_sql"))
def test_every_documented_query_returns_rows(db: duckdb.DuckDBPyConnection, doc: str, query: str) -> None:
    rows = db.execute(query).fetchall()
    assert rows, f"{doc}: this example returns no rows on the sandbox:\n{query}"


def test_the_python_examples_run(warehouse: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BP_WAREHOUSE_PATH", warehouse["BP_WAREHOUSE_PATH"])
    for doc, code in documented("python"):
        scope: dict[str, Any] = {}
        exec(compile(code, doc, "exec"), scope)  # the docs' own asserts are checked here
        frames = [v for v in scope.values() if type(v).__name__ == "DataFrame"]
        assert frames and all(len(f) for f in frames), f"{doc}: an example DataFrame is empty"


def test_the_sandbox_lives_in_the_present(db: duckdb.DuckDBPyConnection) -> None:
    # "yesterday" has sales, the orders are minutes old (lag near zero), and the account has several currencies.
    (yesterday,) = db.execute(
        "SELECT count(*) FROM analytics.daily_sales WHERE sales_date = current_date - 1 AND orders > 0"
    ).fetchone()
    assert yesterday >= 1
    (lag,) = db.execute("SELECT epoch(now() - watermark) FROM _sync.watermarks WHERE resource = 'orders'").fetchone()
    assert lag < 3 * 3600, f"orders lag {lag:.0f} s"
    currencies = dict(db.execute("SELECT currency_code, count(*) FROM brightpearl.orders GROUP BY 1").fetchall())
    assert set(currencies) == {"GBP", "EUR", "USD"}
    (base,) = db.execute("SELECT DISTINCT base_currency_code FROM brightpearl.orders").fetchone()
    assert base == "GBP"


def test_base_totals_and_payments_make_the_balance(db: duckdb.DuckDBPyConnection) -> None:
    # Brightpearl's base totals: GBP orders equal their totals, others are total / rate (2 dp).
    off = db.execute(
        "SELECT count(*) FROM brightpearl.orders WHERE abs(base_total_value - round(total_net / exchange_rate, 2)"
        " - round(total_tax / exchange_rate, 2)) > 0.001 OR (currency_code = 'GBP' AND base_total_value <> total_value)"
    ).fetchone()
    assert off == (0,)
    kinds = dict(
        db.execute(
            "SELECT o.payment_status, count(DISTINCT p.order_id) FROM brightpearl.customer_payments p "
            "JOIN brightpearl.orders o USING (order_id) WHERE o.order_type_code = 'SO' GROUP BY 1"
        ).fetchall()
    )
    assert kinds.get("PAID", 0) > 0 and kinds.get("PARTIALLY_PAID", 0) > 0 and "UNPAID" not in kinds
    # balance_outstanding = invoiced minus paid, in the base currency: documents and accounts agree.
    rows = db.execute(
        "SELECT a.contact_id, a.balance_outstanding, coalesce(d.owed, 0) FROM analytics.customer_accounts a "
        "LEFT JOIN (SELECT contact_id, sum(base_signed_outstanding) AS owed FROM analytics.customer_documents "
        "WHERE is_outstanding GROUP BY 1) d USING (contact_id)"
    ).fetchall()
    assert rows and all(balance == owed for _, balance, owed in rows)
    (partial,) = db.execute(
        "SELECT count(*) FROM analytics.customer_documents WHERE payment_status = 'PARTIALLY_PAID' "
        "AND paid_value > 0 AND outstanding_value > 0 AND outstanding_value < abs(total_value)"
    ).fetchone()
    assert partial > 0  # partially paid invoices count only what is still owed


def test_query_df_keeps_money_exact(warehouse: dict[str, str]) -> None:
    path = warehouse["BP_WAREHOUSE_PATH"]
    df = query_df(
        "SELECT order_id, total_value, base_total_value, exchange_rate, placed_on FROM brightpearl.orders "
        "WHERE currency_code = ? ORDER BY order_id",
        ["EUR"],
        path=path,
    )
    assert len(df) > 0 and df["total_value"].dtype == object
    assert all(isinstance(v, Decimal) for v in df["total_value"]) and isinstance(df["exchange_rate"][0], Decimal)
    (exact,) = (
        duckdb.connect(path, read_only=True)
        .execute("SELECT sum(total_value) FROM brightpearl.orders WHERE currency_code = 'EUR'")
        .fetchone()
    )
    assert sum(df["total_value"]) == exact  # the Decimal sum equals DuckDB's DECIMAL sum, to the cent
    assert str(df["placed_on"].dtype) == "datetime64[us, UTC]"
    accounts = mart_df("customer_accounts", path=path)
    assert len(accounts) > 0 and isinstance(accounts["balance_outstanding"][0], Decimal)
    assert len(mart_df("daily_sales", limit=5, path=path)) == 5
    with pytest.raises(ValueError, match="unknown mart 'nope': one of customer_accounts"):
        mart_df("nope", path=path)


def test_query_df_without_a_snapshot_says_to_run_make_run(tmp_path: Path) -> None:
    with pytest.raises(SnapshotMissingError, match="run `make run` first"):
        query_df("SELECT 1", path=tmp_path / "warehouse.duckdb")


def test_make_sql_prints_a_table(warehouse: dict[str, str], tmp_path: Path) -> None:
    result = subprocess.run(
        [
            "make",
            "-s",
            "sql",
            "Q=SELECT currency_code, count(*) AS n FROM brightpearl.orders WHERE currency_code = 'GBP' GROUP BY 1",
        ],
        env={**os.environ, **warehouse},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "│ currency_code │" in result.stdout and "│ GBP " in result.stdout
    missing = cli(["sql", "SELECT 1"], {"BP_WAREHOUSE_PATH": str(tmp_path / "none.duckdb")})
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "no published warehouse" in missing.stderr and "make run" in missing.stderr
    bad = cli(["sql", "SELECT nope FROM brightpearl.orders"], warehouse)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("bp_pipelines: the query failed: Binder Error")
