"""`WarehouseResource`: where the DuckDB warehouse lives and how the writer opens it.

The machinery (private working file, short connections, published snapshot) is
`bp_pipelines.lib.warehouse.DuckDBWarehouse`; this resource only holds its settings for Dagster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field, ValidationInfo, field_validator

from bp_pipelines import settings
from bp_pipelines.lib.warehouse import DuckDBWarehouse
from bp_pipelines.lib.warehouse.storage import size_bytes


class WarehouseResource(dg.ConfigurableResource):
    """DuckDB warehouse: private working file for the writer, published read-only snapshot for analysts."""

    path: str = Field(
        default="",
        description="Published file analysts open; empty = BP_WAREHOUSE_PATH, else warehouse.duckdb at the repo root.",
    )
    memory_limit: str = Field(default="96MB", description="DuckDB memory_limit for the writer connection.")
    marts_memory_limit: str = Field(
        default="80MB",
        description=(
            "DuckDB memory_limit while the analyst marts build (a build that runs out of it is retried with the "
            "limit doubled). Scans of a large warehouse fill whatever limit they get, so this bounds the marts step's "
            "memory; at 1M orders every mart builds within 80 MB."
        ),
    )
    threads: int = Field(default=1, ge=1, description="DuckDB worker threads of the writer's database.")

    @field_validator("memory_limit", "marts_memory_limit")
    @classmethod
    def _a_size(cls, value: str, info: ValidationInfo) -> str:
        if size_bytes(value) is None:
            raise ValueError(
                f"WarehouseResource.{info.field_name}={value!r} is not a memory size: use e.g. '96MB' or '1GiB'."
            )
        return value

    def get_warehouse(self) -> DuckDBWarehouse:
        """The warehouse these settings point at (the path is resolved now, i.e. when the run starts)."""
        path = Path(self.path).expanduser().resolve() if self.path else settings.warehouse_path()
        return DuckDBWarehouse(path, memory_limit=self.memory_limit, threads=self.threads)

    # Shortcuts for checks and tests that need one connection or one publish.
    @property
    def published_path(self) -> Path:
        return self.get_warehouse().published_path

    @property
    def working_path(self) -> Path:
        return self.get_warehouse().working_path

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.get_warehouse().connect() as conn:
            yield conn

    @contextlib.contextmanager
    def connect_for_marts(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection whose database runs at `marts_memory_limit` until it closes (the writer's limit after)."""
        with self.get_warehouse().connect() as conn:
            conn.execute(f"SET memory_limit = '{self.marts_memory_limit}'")
            try:
                yield conn
            finally:
                conn.execute(f"SET memory_limit = '{self.memory_limit}'")

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with self.get_warehouse().session():
            yield

    def publish(self) -> Path:
        return self.get_warehouse().publish()
