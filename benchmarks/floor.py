"""The CPU floor of a full extraction: what receiving the GET bodies and reading them into DuckDB cost at least.

`python -m benchmarks.floor` (variable `FLOOR_ORDERS`, default 100000). On the sandbox (seed 42, rate limit off),
every order, goods-out note and contact GET body of a full extraction is fetched once, then in this process:

- **receive (httpx)**: the same GETs again with a bare `httpx.Client` on httpx's own transport (what the
  Brightpearl client used before `bp_pipelines/lib/transport.py`), bodies read whole, nothing else done with them;
- **receive (urllib3)**: the same GETs with a bare `urllib3.PoolManager` (the Brightpearl client's wire now);
- **JSON parse only**: DuckDB `json_valid` over every body (yyjson, no value built);
- **read into structs**: DuckDB `json_transform` of every body into the STRUCT the pipeline reads
  (`sqlrows.SPECS`, every leaf as text), unnested to one value per record: the least any row build in DuckDB
  (issue 8, item 5) does before a single column is typed or a row is written;
- **typed rows, as built**: the pipeline's own row build (`SqlRows.stage`, `check_staged`, `build`) into staging
  tables (no upsert);
- **Dagster's own work** (`benchmarks/dagster_floor.py`, in a process of its own): a job shaped like
  `brightpearl_sync` (same steps, assets and checks) whose steps do nothing, run once per fresh process as the
  benchmark runs the real job.

DuckDB runs in memory with one thread and the writer's batch size (`sqlrows.BATCH_BYTES` of JSON per statement).
CPU = user + system of this process (the sandbox is another process). Raw: `benchmarks/floor_results.json`.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import urllib3

from bp_pipelines.lib.brightpearl.idset import batch_id_sets
from bp_pipelines.lib.sync import streams
from bp_pipelines.lib.sync.sqlrows import BATCH_BYTES, SPECS, SqlRows
from bp_pipelines.lib.sync.streams import KnownReferences
from bp_pipelines.lib.warehouse.upsert import create_stage

from .measure import REPO, Sandbox

RESULTS = REPO / "benchmarks" / "floor_results.json"
STREAMS = (streams.ORDERS, streams.GOODS_OUT_NOTES, streams.CONTACTS)
PAGE = 500


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timer:
    """CPU seconds of the block (`with Timer() as t: ...`, then `t.s`)."""

    def __enter__(self) -> Timer:
        self.start = cpu_s()
        return self

    def __exit__(self, *exc: object) -> None:
        self.s = round(cpu_s() - self.start, 2)


def all_ids(client: httpx.Client, base: str, stream: streams.Stream) -> list[int]:
    ids: list[int] = []
    first = 1
    while True:
        params = {"pageSize": PAGE, "firstResult": first, "columns": stream.primary_key}
        page = client.get(base + stream.search_path, params=params).raise_for_status().json()["response"]
        ids += [row[0] for row in page["results"]]
        if not page["metaData"]["morePagesAvailable"]:
            return ids
        first += PAGE


def batches(bodies: list[bytes]) -> list[list[bytes]]:
    """Bodies grouped as the writer groups them: a statement per BATCH_BYTES of JSON."""
    out: list[list[bytes]] = [[]]
    size = 0
    for body in bodies:
        if size >= BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(body)
        size += len(body)
    return out


def read_into_structs(conn: duckdb.DuckDBPyConnection, name: str, bodies: list[bytes]) -> int:
    spec = SPECS[name]
    schema = json.dumps({"response": spec.response_type}).replace("'", "''")
    values = "map_values(j.response)" if spec.keyed else "j.response"
    records = 0
    for group in batches(bodies):
        (n,) = conn.execute(  # type: ignore[misc]
            f"SELECT count(r) FROM (SELECT unnest({values}) AS r FROM (SELECT json_transform(decode(b), '{schema}') "
            "AS j FROM (SELECT unnest($1::BLOB[]) AS b)))",
            [group],
        ).fetchone()
        records += n
    return records


def parse_only(conn: duckdb.DuckDBPyConnection, bodies: list[bytes]) -> None:
    for group in batches(bodies):
        (ok,) = conn.execute(  # type: ignore[misc]
            "SELECT bool_and(json_valid(decode(b))) FROM (SELECT unnest($1::BLOB[]) AS b)", [group]
        ).fetchone()
        assert ok


def typed_rows(conn: duckdb.DuckDBPyConnection, stream: streams.Stream, bodies: list[bytes]) -> None:
    """The pipeline's own row build (staging and typing), without the upsert into the stored tables: bodies staged
    unread and read at write time, as the bulk of a sync does (`StreamSync.flush`)."""
    sql = SqlRows(SPECS[stream.name], conn)
    known = KnownReferences()

    def write() -> None:
        assert sql.check_staged() == []
        stg = create_stage(conn, stream.table)
        child = create_stage(conn, stream.child_table) if stream.child_table is not None else None
        sql.build(known, stg, child, [])
        sql.clear()

    for body in bodies:
        sql.stage(body)
        if sql.bytes >= BATCH_BYTES:
            write()
    write()


def main() -> None:
    orders = int(os.environ.get("FLOOR_ORDERS", "100000"))
    started = datetime.now(UTC)
    with Sandbox(orders) as sbx:
        sbx.disable_rate_limit()
        state = sbx.process.state or {}
        base = f"{state['brightpearl_base_url']}/public-api/{state['brightpearl_account']}/"
        headers = {
            "brightpearl-app-ref": state["brightpearl_app_ref"],
            "brightpearl-account-token": state["brightpearl_account_token"],
        }
        client = httpx.Client(headers=headers, timeout=120.0)
        urls: dict[str, list[str]] = {}
        for stream in STREAMS:
            ids = all_ids(client, base, stream)
            urls[stream.name] = [
                f"{base}{stream.fetch_path}/{id_set}" for id_set in batch_id_sets(ids, stream.fetch_batch_size)
            ]
        bodies = {name: [client.get(u).raise_for_status().content for u in group] for name, group in urls.items()}
        pool = urllib3.PoolManager(headers=headers, timeout=120.0)
        rows: dict[str, dict[str, float | int]] = {}
        for name, group in urls.items():
            t_wall = time.monotonic()
            with Timer() as receive_httpx:
                for url in group:
                    client.get(url).content  # noqa: B018 (the read is what is measured)
            with Timer() as receive_urllib3:
                for url in group:
                    pool.request("GET", url).data  # noqa: B018
            rows[name] = {
                "bodies": len(group),
                "mb": round(sum(map(len, bodies[name])) / 1e6, 1),
                "receive_httpx_s": receive_httpx.s,
                "receive_urllib3_s": receive_urllib3.s,
                "fetch_wall_s": round(time.monotonic() - t_wall, 1),
            }
    conn = duckdb.connect(config={"threads": 1})
    for stream in STREAMS:
        name, group = stream.name, bodies[stream.name]
        with Timer() as parse:
            parse_only(conn, group)
        with Timer() as structs:
            records = read_into_structs(conn, name, group)
        with Timer() as typed:
            typed_rows(conn, stream, group)
        rows[name].update(parse_only_s=parse.s, structs_s=structs.s, records=records, typed_rows_s=typed.s)
    dagster = json.loads(
        subprocess.run(
            [sys.executable, "-m", "benchmarks.dagster_floor"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.splitlines()[-1]
    )
    result = {
        "measured": started.strftime("%Y-%m-%d %H:%M UTC"),
        "orders": orders,
        "cpu": platform.processor() or platform.machine(),
        "duckdb": duckdb.__version__,
        "streams": rows,
        "dagster": dagster,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    cols = (
        "records",
        "bodies",
        "mb",
        "receive_httpx_s",
        "receive_urllib3_s",
        "parse_only_s",
        "structs_s",
        "typed_rows_s",
    )
    print(f"Floor at {orders:,} orders, {result['measured']}")
    print("| stream | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:,}" for c in cols) + " |")
    total = {c: round(sum(float(r[c]) for r in rows.values()), 2) for c in cols[3:]}
    print("| all | – | – | – | " + " | ".join(f"{total[c]:,}" for c in cols[3:]) + " |")
    runs = " / ".join(f"{r:.2f}" for r in dagster["run_cpu_s"])
    print(
        f"Dagster's own work, {dagster['steps']} steps / {dagster['assets']} assets / {dagster['checks']} checks doing "
        f"nothing: {runs} CPU-s per run (the first in a fresh process first); importing the definitions "
        f"{dagster['definitions_import_s']:.2f} CPU-s (dagster already imported)"
    )
    print(f"raw: {Path(RESULTS).relative_to(REPO)}")


if __name__ == "__main__":
    main()
