"""Shared pieces of the warehouse checks: counting violations with a sample, and building results."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import dagster as dg
import duckdb

from bp_pipelines.checks.registry import SAMPLE_SIZE


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def count_and_sample(
    conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None, limit: int = SAMPLE_SIZE
) -> tuple[int, list[dict[str, Any]]]:
    """Number of rows `sql` returns, and the first `limit` of them as plain dicts (for check metadata)."""
    row = conn.execute(f"SELECT count(*) FROM ({sql})", params or []).fetchone()
    total = int(row[0]) if row else 0
    return (total, sample_rows(conn, sql, params, limit)) if total else (0, [])


def sample_rows(
    conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None, limit: int = SAMPLE_SIZE
) -> list[dict[str, Any]]:
    """The first `limit` rows of `sql` as plain dicts (for check metadata)."""
    cursor = conn.execute(f"SELECT * FROM ({sql}) LIMIT {int(limit)}", params or [])
    names = [d[0] for d in cursor.description]
    return [{n: _plain(v) for n, v in zip(names, r, strict=True)} for r in cursor.fetchall()]


def violation_result(
    key: dg.AssetCheckKey,
    violations: int,
    sample: list[dict[str, Any]],
    *,
    severity: dg.AssetCheckSeverity,
    description: str,
    extra: Mapping[str, Any] | None = None,
) -> dg.AssetCheckResult:
    """Passed when there are no violations; metadata always carries the count and a sample of offending keys."""
    metadata: dict[str, Any] = {
        "violations": dg.MetadataValue.int(violations),
        "sample_keys": dg.MetadataValue.json(sample),
    }
    metadata.update(extra or {})
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=violations == 0,
        severity=severity,
        description=description if violations else None,
        metadata=metadata,
    )
