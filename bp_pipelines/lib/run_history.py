"""Dagster's SQLite event log (the run history in `$DAGSTER_HOME/history/runs/`), one SQLAlchemy engine per shard.

Dagster 1.13's `SqliteEventLogStorage` builds a new engine for every statement it runs and disposes of it after,
so each of a run's events (~380 in a small `make run`: step outputs, materializations, check evaluations, each
also planned) pays for a new engine and compiles its INSERT again: ~12% of the CPU of a 150-order `make run`. This
subclass keeps one engine per shard (the run's file, the index). Connections are still opened per statement and
closed after (`NullPool`, as Dagster does), so other processes (the webserver, the daemon, other runs) see the same
files as before; only the engine's dialect and compiled-statement cache survive between statements.

`dagster.yaml` selects it (`event_log_storage`, `dagster_home: {env: DAGSTER_HOME}`); the files and their layout
are Dagster's own, so a DAGSTER_HOME written by the stock storage reads back unchanged, and the other way round. A
process opening another instance than `$DAGSTER_HOME`'s (`DagsterInstance.from_config(other)`) must set
DAGSTER_HOME to it first, as for any `env:` setting of dagster.yaml.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from dagster import Field
from dagster._config import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# A run writes to two shards (its own file and the index); the webserver reads a few runs at a time.
_ENGINES_KEPT = 8


def runs_dir(dagster_home: str) -> str:
    """Where Dagster's default storage keeps the event log of the instance at `dagster_home`."""
    return os.path.join(os.path.abspath(os.path.expanduser(dagster_home)), "history", "runs", "")


class SqliteEventLogStorageKeepingEngines(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that reuses an engine per shard instead of building one per statement."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> Any:
        # `dagster_home: {env: DAGSTER_HOME}` in dagster.yaml: the stock layout under the instance's home (a storage
        # is never told which home it belongs to); or `base_dir`, the runs folder itself, as the stock class takes.
        return {
            "dagster_home": Field(StringSource, is_required=False),
            "base_dir": Field(StringSource, is_required=False),
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> Any:
        config = config_value or {}
        if config.get("base_dir"):
            base_dir = config["base_dir"]
        elif config.get("dagster_home"):
            base_dir = runs_dir(config["dagster_home"])
        else:
            raise ValueError(
                "dagster.yaml event_log_storage (SqliteEventLogStorageKeepingEngines) needs config dagster_home "
                "(e.g. `dagster_home: {env: DAGSTER_HOME}`) or base_dir (the runs folder)."
            )
        return cls(base_dir=base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            self._engines[shard] = engine
            while len(self._engines) > _ENGINES_KEPT:
                self._engines.popitem(last=False)[1].dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # type: ignore[override]
        # The same steps as the parent's `_connect`, under the same lock, minus the per-call engine.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        super().dispose()
