"""Which source a warehouse holds: one Brightpearl account and one storefront per file.

A warehouse's `_sync` state (watermarks, freshness of reference lists, the push ledger) only makes sense for the
account that produced it: a sandbox warehouse reused for a real account would search from the sandbox's
watermark, skip reference lists as "fresh" and mix fake rows with real ones (and a push could send sandbox
shipments to a live store). So the first write records the source in `_sync.source`, and every later run compares
before it makes any API call; a different source is refused with one line saying what the file holds and how to
proceed.

An identity never contains a secret: Brightpearl = datacentre URL + account code, storefront = API base URL +
store hash. A loopback URL (the sandbox, or any local emulator) is identified without its port, which changes
with every sandbox session, so one sandbox warehouse is reused across `make run`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import duckdb

SourceKind = Literal["brightpearl", "storefront"]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
RESET_HINT = "python -m bp_pipelines.cli reset-warehouse"  # also `make reset-warehouse`

_DDL = """CREATE SCHEMA IF NOT EXISTS _sync;
CREATE TABLE IF NOT EXISTS _sync.source (
    kind         VARCHAR PRIMARY KEY,   -- brightpearl | storefront
    identity     VARCHAR NOT NULL,      -- e.g. brightpearl https://euw1.brightpearlconnect.com account acme
    recorded_at  TIMESTAMPTZ,
    recorded_by  VARCHAR                -- run id of the first write
)"""


class SourceMismatchError(RuntimeError):
    """The warehouse holds another source; the message is the one line a user needs."""


@dataclass(frozen=True)
class SourceIdentity:
    kind: SourceKind
    identity: str

    @property
    def is_loopback(self) -> bool:
        return " loopback " in f" {self.identity} "


def _base(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host in LOOPBACK_HOSTS:
        return "loopback"  # the sandbox: its port changes with every session
    port = f":{parts.port}" if parts.port and parts.port != 443 else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def brightpearl_identity(base_url: str, account: str) -> SourceIdentity:
    """Datacentre URL + account code (no app ref, no token)."""
    return SourceIdentity("brightpearl", f"brightpearl {_base(base_url)} account {account.strip()}")


def storefront_identity(base_url: str, store_hash: str) -> SourceIdentity:
    """API base URL + store hash (no access token)."""
    return SourceIdentity("storefront", f"bigcommerce {_base(base_url)} store {store_hash.strip()}")


def describe(identity: str) -> str:
    """An identity as users read it (loopback = the sandbox)."""
    return identity.replace(" loopback ", " sandbox (loopback) ")


def mismatch_message(path: Path | str, kind: SourceKind, held: str, wanted: str) -> str:
    what = "Brightpearl account" if kind == "brightpearl" else "storefront"
    return (
        f"warehouse {path} holds {describe(held)}, but this run targets {describe(wanted)}: refusing to mix "
        f"{what}s. Point BP_WAREHOUSE_PATH at another file for this {what} (e.g. BP_WAREHOUSE_PATH=mystore.duckdb), "
        f"or delete this warehouse with `make reset-warehouse` ({RESET_HINT} --yes)."
    )


def recorded_source(conn: duckdb.DuckDBPyConnection, kind: SourceKind) -> str | None:
    """The identity recorded for `kind`, or None (no table yet counts as nothing recorded)."""
    try:
        row = conn.execute("SELECT identity FROM _sync.source WHERE kind = ?", [kind]).fetchone()
    except duckdb.CatalogException:
        return None
    return str(row[0]) if row else None


def record_or_check_source(
    conn: duckdb.DuckDBPyConnection,
    kind: SourceKind,
    identity: SourceIdentity | str,
    *,
    path: Path | str = "the warehouse",
    run_id: str | None = None,
) -> bool:
    """Record `identity` as this warehouse's `kind` source if none is recorded (returns True), pass if it matches
    (False), raise `SourceMismatchError` if another source is recorded. Call it before any API call."""
    wanted = identity.identity if isinstance(identity, SourceIdentity) else identity
    conn.execute(_DDL)
    held = recorded_source(conn, kind)
    if held is None:
        conn.execute(
            "INSERT INTO _sync.source (kind, identity, recorded_at, recorded_by) VALUES (?, ?, ?::TIMESTAMPTZ, ?) "
            "ON CONFLICT (kind) DO NOTHING",
            [kind, wanted, datetime.now(UTC), run_id],
        )
        return True
    if held != wanted:
        raise SourceMismatchError(mismatch_message(path, kind, held, wanted))
    return False


def holds_data(conn: duckdb.DuckDBPyConnection, kind: SourceKind = "brightpearl") -> bool:
    """Whether a warehouse without a recorded `kind` source already holds that source's synced data (written before
    sources were recorded): it is adopted by the first run, with a warning. Storefront streams are named
    `storefront.*`; on a fresh warehouse they may be written before the first Brightpearl asset runs."""
    try:
        row = conn.execute(
            "SELECT count(*) FROM _sync.watermarks WHERE starts_with(resource, 'storefront.') = ?",
            [kind == "storefront"],
        ).fetchone()
    except duckdb.CatalogException:
        return False
    return bool(row and row[0])


def check_file(path: Path, kind: SourceKind, identity: SourceIdentity) -> None:
    """Read-only check of a warehouse file (e.g. before `make run` makes its first call); records nothing.

    Reads the private working file when it exists (it is never behind the snapshot), else the published file."""
    for candidate in (path.with_name(f"{path.stem}.writer.duckdb"), path):
        if not candidate.exists():
            continue
        try:
            conn = duckdb.connect(str(candidate), read_only=True)
        except duckdb.IOException:
            continue  # held by a running writer: the published snapshot carries the same source
        with conn:
            held = recorded_source(conn, kind)
        if held is not None and held != identity.identity:
            raise SourceMismatchError(mismatch_message(path, kind, held, identity.identity))
        return
