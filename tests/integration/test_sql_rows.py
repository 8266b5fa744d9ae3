"""Rows built in SQL (`lib/sync/sqlrows.py`): every kind of bad input still lands in the quarantine with its reason and
raw payload, and the good records of the same GET body land in the warehouse.

The real `BrightpearlClient` talks to a small loopback server (Starlette under uvicorn) that answers order GETs with
crafted bodies, and the sync writes a real DuckDB file.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bp_pipelines.lib.brightpearl import BrightpearlClient, RetryPolicy
from bp_pipelines.lib.sync import stream_sync, streams, transforms
from bp_pipelines.lib.sync.stream_sync import StreamSync
from bp_pipelines.lib.warehouse import DuckDBWarehouse

from .cassette_server import LoopbackServer


def _order(order_id: int) -> dict[str, Any]:
    return {
        "id": order_id,
        "orderTypeCode": "SO",
        "reference": f"R{order_id}",
        "orderStatus": {"orderStatusId": 4, "name": "Invoiced"},
        "parties": {"customer": {"contactId": 213}},
        "currency": {"orderCurrencyCode": "USD", "exchangeRate": "1.000000"},
        "totalValue": {"net": "39.99", "taxAmount": "3.30", "total": "43.29"},
        "assignment": {"current": {"channelId": 3, "staffOwnerContactId": 0}},
        "delivery": {"shippingMethodId": 7},
        "invoices": [{"invoiceReference": "SI-1", "taxDate": "2024-01-04T00:00:00.000-06:00"}],
        "warehouseId": 3,
        "placedOn": "2024-01-01T04:35:37.461-06:00",
        "createdOn": "2024-01-01T04:35:37.461+01:00",
        "updatedOn": "2024-01-04T01:44:20.346Z",
        "version": 4,
        "orderRows": {
            "1": {
                "orderRowSequence": "10",
                "productId": 1000,
                "productSku": "HOOD-1",
                "quantity": {"magnitude": "2.0000"},
                "productPrice": {"value": "19.9950"},
                "rowValue": {"rowNet": {"value": "39.9900"}, "rowTax": {"value": "3.30"}, "taxRate": "8.2500"},
                "composition": {"bundleParent": False, "bundleChild": False, "parentOrderRowId": 0},
            }
        },
    }


def _bad_orders() -> dict[int, tuple[dict[str, Any], str]]:
    """order id -> (payload, expected quarantine reason): each kind of bad input."""
    wrong_amount = _order(2)
    wrong_amount["totalValue"]["total"] = "forty"
    wrong_date = _order(3)
    wrong_date["updatedOn"] = "yesterday"
    wrong_container = _order(4)
    wrong_container["orderRows"] = "none"
    wrong_row = _order(5)
    wrong_row["orderRows"]["1"]["quantity"] = {"magnitude": True}
    unknown_reference = _order(6)
    unknown_reference["orderStatus"]["orderStatusId"] = 99
    missing_column = _order(7)
    del missing_column["orderTypeCode"]
    return {
        2: (wrong_amount, "totalValue.total is not an amount: 'forty'"),
        3: (wrong_date, "updatedOn is not a timestamp: 'yesterday'"),
        4: (wrong_container, "orderRows is not an object keyed by row id"),
        5: (wrong_row, "orderRows[1].quantity is not an amount: True"),
        6: (unknown_reference, "unknown order_status_id 99: refresh reference data (materialize order_statuses)"),
        7: (missing_column, "missing required field 'orderTypeCode'"),
    }


# A GET of ids 1-8 answers good and bad records in one body; ids 20-22 always answer a body that is not JSON; ids
# 30-32 answer non-ASCII text, and an invalid UTF-8 byte in a string.
GOOD_IDS = (1, 8)
MALFORMED_IDS = "20-22"
TEXT_IDS = "30-32"
BIG_IDS = "40-42"  # three orders of 4,000 rows: a ~5 MiB body, decoded in Python (sqlrows.BODY_BYTES_MAX)
# Three GETs of three orders of 2,800 rows (~3.5 MiB a body): built in SQL unless the writer's memory is too small.
WIDE_IDS = ("50-52", "53-55", "56-58")


def _wide_order(order_id: int, rows: int) -> dict[str, Any]:
    order = _order(order_id)
    line = order["orderRows"]["1"]
    order["orderRows"] = {str(k): {**line, "productName": f"Line {k} of a long B2B order"} for k in range(1, rows + 1)}
    return order


def _app() -> Starlette:
    async def get_orders(request: Request) -> Response:
        id_set = request.path_params["ids"]
        if id_set == MALFORMED_IDS:
            return Response(b'{"response": [{"id": 20, "orderTypeCode": "SO"', media_type="application/json")
        if (
            id_set == BIG_IDS or id_set in WIDE_IDS
        ):  # orders with many rows: a body too big for SQL, or for a small limit
            rows_each = 4000 if id_set == BIG_IDS else 2800
            first, last = map(int, id_set.split("-"))
            records = [_wide_order(i, rows_each) for i in range(first, last + 1)]
            return Response(json.dumps({"response": records}).encode(), media_type="application/json")
        if id_set == TEXT_IDS:
            accented, invalid = _order(30), _order(31)
            accented["reference"], invalid["reference"] = "Zo\u00eb \u2014 \u65e5\u672c", "INVALID"
            body = json.dumps({"response": [accented, invalid, _order(32)]}, ensure_ascii=False).encode()
            return Response(body.replace(b"INVALID", b"bad \xff byte"), media_type="application/json")
        bad = _bad_orders()
        records = [_order(i) for i in GOOD_IDS] + [payload for payload, _ in bad.values()]
        return Response(json.dumps({"response": records}).encode(), media_type="application/json")

    return Starlette(routes=[Route("/public-api/acct/order-service/order/{ids}", get_orders)])


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)

    def warning(self, msg: str) -> None:
        self.lines.append("WARNING " + msg)


@pytest.fixture
def client() -> Iterator[BrightpearlClient]:
    with LoopbackServer(_app()) as server:
        policy = RetryPolicy(malformed_max_attempts=2)
        with BrightpearlClient(server.url, "acct", "app", "token", retry=policy, sleep=lambda _s: None) as bp:
            yield bp


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    with wh.connect() as conn:  # reference data the unknown-reference check compares with
        conn.execute(
            "INSERT INTO brightpearl.order_statuses (order_status_id, name, is_deleted) VALUES (4, 'x', false)"
        )
        conn.execute("INSERT INTO brightpearl.warehouses (warehouse_id, name, is_deleted) VALUES (3, 'w', false)")
        conn.execute("INSERT INTO brightpearl.channels (channel_id, name, is_deleted) VALUES (3, 'c', false)")
    return wh


def test_each_kind_of_bad_input_is_quarantined_and_good_rows_of_the_same_body_land(
    client: BrightpearlClient, warehouse: DuckDBWarehouse
) -> None:
    log = Log()
    sync = StreamSync(streams.ORDERS, client, warehouse, log)  # type: ignore[arg-type]
    returned = sync.fetch_and_write([1, 2, 3, 4, 5, 6, 7, 8], {})
    assert returned == {1, 2, 3, 4, 5, 6, 7, 8}
    assert sync.fetch_and_write([20, 21, 22], {}) is None  # malformed body: the whole GET batch is quarantined
    sync._close_staging()

    with warehouse.connect() as conn:
        quarantined = {
            r[0]: (r[1], json.loads(r[2]))
            for r in conn.execute(
                "SELECT record_id, reason, payload FROM _sync.quarantine WHERE resource = 'orders' ORDER BY 1"
            ).fetchall()
        }
        orders = conn.execute(
            "SELECT order_id, order_type_code, total_value, exchange_rate, created_on, updated_on, customer_ref "
            "FROM brightpearl.orders ORDER BY 1"
        ).fetchall()
        rows = conn.execute(
            "SELECT order_id, row_id, row_sequence, quantity FROM brightpearl.order_rows ORDER BY 1"
        ).fetchall()

    bad = _bad_orders()
    for order_id, (payload, reason) in bad.items():
        got_reason, got_payload = quarantined[str(order_id)]
        assert got_reason.startswith(reason), (order_id, got_reason)
        assert got_payload == payload  # the raw record as Brightpearl sent it
    batch_reason, batch_payload = quarantined[f"ids:{MALFORMED_IDS}"]
    assert "GET batch unusable after retries" in batch_reason and "malformed" in batch_reason
    assert batch_payload == {"ids": MALFORMED_IDS}
    assert len(quarantined) == len(bad) + 1

    # The good records of the same body: typed in SQL, offsets converted to UTC, money as DECIMAL.
    assert [o[0] for o in orders] == list(GOOD_IDS)
    order_id, type_code, total, rate, created, updated, ref = orders[0]
    assert (order_id, type_code, ref) == (1, "SO", "R1")
    assert total == Decimal("43.2900") and rate == Decimal("1.000000")
    assert created.isoformat() == "2024-01-01T03:35:37.461000+00:00"  # +01:00 -> UTC
    assert updated.isoformat() == "2024-01-04T01:44:20.346000+00:00"
    assert rows == [(1, 1, 10, Decimal("2.0000")), (8, 1, 10, Decimal("2.0000"))]
    # Quarantine counts records, not batches: the unusable GET batch counts each of its 3 ids.
    assert sync.stats.quarantined == len(bad) + 3 and sync.stats.table.inserted == 2


def test_non_ascii_text_lands_as_sent_and_invalid_utf8_is_replaced(
    client: BrightpearlClient, warehouse: DuckDBWarehouse
) -> None:
    # Bodies reach DuckDB as bytes (the fast path); one that is not UTF-8 is decoded with replacement, as before.
    sync = StreamSync(streams.ORDERS, client, warehouse, Log())  # type: ignore[arg-type]
    assert sync.fetch_and_write([30, 31, 32], {}) == {30, 31, 32}
    sync._close_staging()
    with warehouse.connect() as conn:
        refs = conn.execute("SELECT order_id, customer_ref FROM brightpearl.orders ORDER BY 1").fetchall()
    assert refs == [(30, "Zo\u00eb \u2014 \u65e5\u672c"), (31, "bad \ufffd byte"), (32, "R32")]


def test_sql_rows_equal_the_python_transform_rows(tmp_path: Path) -> None:
    """Shapes SQL leaves to Python (amounts with spaces, numbers as text, JSON numbers for text) give the same rows
    as the Python transform, and clean records are typed in SQL exactly as Python types them."""
    odd = _order(11)
    odd["totalValue"]["net"] = " 39.99 "  # Python strips; SQL leaves it to Python
    odd["reference"] = 12345  # a JSON number where text is expected
    odd["orderRows"]["1"]["discountPercentage"] = 2.5  # a JSON float amount
    odd["closedOn"] = "2024-01-05"  # date only: UTC midnight
    records = [_order(10), odd]
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    class OneBody:
        def get_by_ids(self, path: str, ids: Any, *, batch_size: int, params: Any = None, decode: Any = None) -> Any:
            body = json.dumps({"response": records}).encode()
            yield decode(body)["response"]

    sync = StreamSync(streams.ORDERS, OneBody(), wh, Log())  # type: ignore[arg-type]
    sync.fetch_and_write([10, 11], {})
    sync._close_staging()
    expected = [transforms.order_rows(copy.deepcopy(r)) for r in records]
    table_cols = [c for c, _ in streams.ORDERS.table.columns]
    child_cols = [c for c, _ in streams.ORDERS.child_table.columns]  # type: ignore[union-attr]
    with wh.connect() as conn:
        got = conn.execute(f"SELECT {', '.join(table_cols)} FROM brightpearl.orders ORDER BY 1").fetchall()
        got_rows = conn.execute(f"SELECT {', '.join(child_cols)} FROM brightpearl.order_rows ORDER BY 1, 2").fetchall()
    for stored, (order, _children) in zip(got, expected, strict=True):
        for column, value in zip(table_cols, stored, strict=True):
            want = order[column]
            if isinstance(want, Decimal) and value is not None:
                assert value == want, column
            else:
                assert value == want, (column, value, want)
    assert [r[0] for r in got_rows] == [10, 11]
    assert got_rows[1][child_cols.index("discount_percentage")] == Decimal("2.5")


def _contact(contact_id: int, tags: Any) -> dict[str, Any]:
    return {
        "contactId": contact_id,
        "firstName": "Ann",
        "lastName": "Lee",
        "communication": {"emails": {"PRI": {"email": f"c{contact_id}@example.com"}}, "telephones": {"PRI": "1"}},
        "relationshipToAccount": {"isSupplier": False, "isStaff": False},
        "financialDetails": {"priceListId": 2, "creditLimit": 500, "creditTermDays": 30, "currencyId": 1},
        "createdOn": "2025-02-21T10:30:08.000-06:00",
        "updatedOn": "2025-08-28T14:59:22.970-06:00",
        "contactTags": tags,
    }


def test_contact_tags_in_sql_equal_python_and_junk_is_quarantined(tmp_path: Path) -> None:
    """contactTags as recorded ("9"), several ids, none (null, "", missing) and shapes only Python reads (a JSON list,
    a number) give the same `tag_ids` as `transforms.contact_row`; a tag list that is not one is quarantined with its
    reason, and the other contacts of the body land."""
    shapes: dict[int, Any] = {1: "9", 2: "23, 16", 3: None, 4: "", 5: [23, "9"], 6: 16, 8: "VIP,9"}
    records = [_contact(i, t) for i, t in shapes.items()]
    missing = _contact(7, None)
    del missing["contactTags"]
    records.append(missing)
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    class OneBody:
        def get_by_ids(self, path: str, ids: Any, *, batch_size: int, params: Any = None, decode: Any = None) -> Any:
            yield decode(json.dumps({"response": records}).encode())["response"]

    sync = StreamSync(streams.CONTACTS, OneBody(), wh, Log())  # type: ignore[arg-type]
    sync.fetch_and_write(sorted(shapes) + [7], {})
    sync._close_staging()
    with wh.connect() as conn:
        got = dict(conn.execute("SELECT contact_id, tag_ids FROM brightpearl.contacts").fetchall())
        quarantined = conn.execute(
            "SELECT record_id, reason FROM _sync.quarantine WHERE resource = 'contacts'"
        ).fetchall()
    expected = {
        r["contactId"]: transforms.contact_row(copy.deepcopy(r))["tag_ids"] for r in records if r["contactId"] != 8
    }
    assert got == expected == {1: [9], 2: [16, 23], 3: [], 4: [], 5: [9, 23], 6: [16], 7: []}
    assert quarantined == [("8", "contactTags is not a list of tag ids: 'VIP,9'")]


def test_a_body_too_big_for_sql_is_decoded_in_python(client: BrightpearlClient, warehouse: DuckDBWarehouse) -> None:
    sync = StreamSync(streams.ORDERS, client, warehouse, Log())  # type: ignore[arg-type]
    assert sync.fetch_and_write([40, 41, 42], {}) == {40, 41, 42}
    sync._close_staging()
    with warehouse.connect() as conn:
        rows = conn.execute("SELECT order_id, count(*) FROM brightpearl.order_rows GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [(40, 4000), (41, 4000), (42, 4000)]


def test_a_batch_beyond_the_writers_memory_is_written_through_python(client: BrightpearlClient, tmp_path: Path) -> None:
    # The same nine orders (25,200 rows, ~10 MiB in one write batch) build in SQL at the default limit; at 48 MB
    # the build runs out of memory, and the batch is decoded and written in Python instead: the same rows, one
    # warning. Bodies staged unread (the bulk of a sync) are first read at write time: the same fallback.
    counts = {}
    for limit, read in (("96MB", "checked"), ("48MB", "checked"), ("48MB", "unchecked")):
        wh = DuckDBWarehouse(tmp_path / limit / read / "wh.duckdb", memory_limit=limit)
        log = Log()
        sync = StreamSync(streams.ORDERS, client, wh, log)  # type: ignore[arg-type]
        for first in (50, 53, 56):
            ids = [first, first + 1, first + 2]
            assert sync.fetch(ids, {}, read=read) == (set(ids) if read == "checked" else set())  # type: ignore[arg-type]
        sync.write()
        sync._close_staging()
        with wh.connect() as conn:
            counts[limit, read] = conn.execute(
                "SELECT order_id, count(*), sum(quantity) FROM brightpearl.order_rows GROUP BY 1 ORDER BY 1"
            ).fetchall()
        warned = [line for line in log.lines if "memory limit" in line]
        assert len(warned) == (1 if limit == "48MB" else 0), log.lines
    assert set(map(tuple, counts.values())) == {tuple((i, 2800, Decimal("5600.0000")) for i in range(50, 59))}


def test_a_batch_rolled_back_in_the_child_upsert_counts_once(
    client: BrightpearlClient, warehouse: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Memory that runs out after the parent upsert (in the child one): the batch is rolled back and written through
    # Python, and the run's counters tell what landed once, not the parent's counts twice. The out-of-memory error is
    # injected (a real one cannot be aimed at the child upsert); the upserts themselves are real.
    real_merge = stream_sync.merge
    failed: list[str] = []

    def merge_running_out_in_the_child(conn: Any, table: Any, stg: str, now: Any, **kw: Any) -> Any:
        if "parent_ids" in kw and not failed:
            failed.append(table.name)
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block (injected)")
        return real_merge(conn, table, stg, now, **kw)

    monkeypatch.setattr(stream_sync, "merge", merge_running_out_in_the_child)
    log = Log()
    sync = StreamSync(streams.ORDERS, client, warehouse, log)  # type: ignore[arg-type]
    assert sync.fetch([30, 31, 32], {}) == {30, 31, 32}
    sync.write()
    sync._close_staging()
    assert failed == ["order_rows"]
    assert [line for line in log.lines if "memory limit" in line] != []
    assert (sync.stats.table.inserted, sync.stats.child_table.inserted, sync.stats.fetched) == (3, 3, 3)
    with warehouse.connect() as conn:
        assert conn.execute("SELECT count(*) FROM brightpearl.order_rows").fetchone() == (3,)


# Customer payments: search rows typed in SQL; each kind of bad cell still lands in the quarantine with the reason
# the Python transform gives, and the good rows equal `customer_payment_row`'s.
def _payment(payment_id: Any, **cells: Any) -> dict[str, Any]:
    row = {
        "paymentId": payment_id,
        "transactionRef": f"REF-{payment_id}",
        "transactionCode": "CODE",
        "paymentMethodCode": "CARD",
        "paymentType": "RECEIPT",
        "orderId": 1000 + (payment_id if isinstance(payment_id, int) else 0),
        "currencyId": 1,
        "currencyCode": "USD",
        "amountAuthorized": 0,
        "amountPaid": "12.50",
        "expires": None,
        "paymentDate": "2026-04-17T00:00:00.000-06:00",
        "createdOn": "2026-04-17T11:32:08.000-06:00",
        "journalId": 77,
    }
    return {**row, **cells}


def test_payment_search_rows_typed_in_sql_equal_python_and_bad_cells_are_quarantined(tmp_path: Path) -> None:
    from bp_pipelines.lib.sync.payments import COLUMNS, PaymentSync, customer_payment_row

    good = [
        _payment(1),
        _payment(2, amountPaid=7.1, amountAuthorized="3", orderId="1002"),  # numbers and digit strings
        _payment(3, expires="2026-05-01", paymentDate="2026-04-17T06:00:00Z", transactionRef=None),
        _payment(4, amountPaid=" 10 ", journalId="5"),  # a padded amount: Python reads it
        _payment(6, transactionCode=123),  # a number where text is expected: Python spells it
    ]
    bad = {
        7: (_payment(7, amountPaid="lots"), "amountPaid is not an amount: 'lots'"),
        8: (_payment(8, createdOn="yesterday"), "createdOn is not a timestamp: 'yesterday'"),
        9: (_payment(9, orderId=1.5), "orderId is not an integer: 1.5"),
        10: (_payment(10, currencyCode={"code": "USD"}), "currencyCode is not text: {'code': 'USD'}"),
    }
    no_id = _payment("x")
    # Payment 1 twice: the search keeps the first copy (offset paging, see BrightpearlClient.search).
    rows = [*good, *(payload for payload, _ in bad.values()), no_id, _payment(1, amountPaid="99.00")]

    async def search(request: Request) -> Response:
        body = {
            "response": {
                "results": [[row[c] for c in COLUMNS] for row in rows],
                "metaData": {
                    "resultsAvailable": len(rows),
                    "resultsReturned": len(rows),
                    "firstResult": 1,
                    "lastResult": len(rows),
                    "morePagesAvailable": False,
                    "columns": [{"name": c} for c in COLUMNS],
                },
            }
        }
        return Response(json.dumps(body).encode(), media_type="application/json")

    app = Starlette(routes=[Route("/public-api/acct/accounting-service/customer-payment-search", search)])
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    with LoopbackServer(app) as server, BrightpearlClient(server.url, "acct", "app", "token") as client:
        sync = PaymentSync(client, wh, Log())  # type: ignore[arg-type]
        assert sync._search({}) is False  # the row without a usable paymentId quarantines its window
        sync._write()
    names = [c for c in customer_payment_row(_payment(1))]
    with wh.connect() as conn:
        stored = conn.execute(f"SELECT {', '.join(names)} FROM brightpearl.customer_payments ORDER BY 1").fetchall()
        quarantined = dict(
            conn.execute(
                "SELECT record_id, reason FROM _sync.quarantine WHERE resource = 'customer_payments'"
            ).fetchall()
        )
    expected = [customer_payment_row(copy.deepcopy(r)) for r in good]
    assert [dict(zip(names, row, strict=True)) for row in stored] == expected
    assert {k: v for k, v in quarantined.items() if k.isdigit()} == {str(i): reason for i, (_, reason) in bad.items()}
    assert [v for k, v in quarantined.items() if not k.isdigit()] == ["search row without a usable paymentId: 'x'"]
    assert sync.max_seen is not None and sync.max_seen.isoformat() == "2026-04-17T17:32:08+00:00"


def test_bodies_of_a_get_batch_quarantined_as_a_whole_are_dropped_and_the_rest_still_build(
    warehouse: DuckDBWarehouse,
) -> None:
    # A fetch of several GETs whose later GET fails drops the bodies it already held (`StreamSync._unstage`).
    from bp_pipelines.lib.sync.sqlrows import SPECS, SqlRows
    from bp_pipelines.lib.sync.streams import KnownReferences
    from bp_pipelines.lib.warehouse.upsert import create_stage

    def body(*ids: int) -> bytes:
        return json.dumps({"response": [_order(i) for i in ids]}).encode()

    with warehouse.connect() as conn:
        sql = SqlRows(SPECS["orders"], conn)
        for ids in ((1,), (2, 3), (4,)):
            sql.decode(body(*ids))
        sql.discard_after(1)
        assert (sql.records, sql.bytes) == (1, len(body(1)))
        staged = sql.decode(body(5, 6))["response"]
        assert staged.ids == ["5", "6"] and sql.records == 3
        stg = create_stage(conn, streams.ORDERS.table)
        child = create_stage(conn, streams.ORDERS.child_table)  # type: ignore[arg-type]
        assert sql.build(KnownReferences(), stg, child, []) == []
        assert conn.execute(f"SELECT order_id FROM {stg} ORDER BY 1").fetchall() == [(1,), (5,), (6,)]
        assert conn.execute(f"SELECT count(*) FROM {child}").fetchone() == (3,)
        assert [n for n, _ in sql.staged_bodies()] == [1, staged.body_no]


def test_bodies_staged_unread_that_are_not_usable_are_found_at_write_time(warehouse: DuckDBWarehouse) -> None:
    # `SqlRows.stage` skips the check `decode` makes; `check_staged` finds what it would have refused.
    from bp_pipelines.lib.sync.sqlrows import SPECS, SqlRows
    from bp_pipelines.lib.sync.streams import KnownReferences
    from bp_pipelines.lib.warehouse.upsert import create_stage

    bodies = [
        json.dumps({"response": [_order(1), _order(2)]}).encode(),  # 1: good
        json.dumps({"response": [_order(3)]}).encode()[:-20],  # 2: truncated
        json.dumps({"errors": [{"code": "GEN-001", "message": "no"}], "response": [_order(4)]}).encode(),  # 3
        b'{"response": null}',  # 4
        b'{"response": {"id": 5}}',  # 5: another shape
        b'{"response": []}',  # 6: nothing came back: fine
        json.dumps({"response": [_order(7)]}).encode(),  # 7: good
    ]
    with warehouse.connect() as conn:
        sql = SqlRows(SPECS["orders"], conn)
        # The first body is checked on arrival (`decode`, as dead-letter retries do); the rest are staged unread.
        staged = [sql.decode(bodies[0])["response"]] + [sql.stage(b)["response"] for b in bodies[1:]]
        assert [s.ids for s in staged] == [["1", "2"]] + [None] * 6 and sql.unchecked == [2, 3, 4, 5, 6, 7]
        sql.expect(5)
        assert sql.check_staged() == [2, 3, 4, 5]
        assert sql.bytes == len(bodies[0]) + len(bodies[5]) + len(bodies[6]) and not sql.unchecked
        stg = create_stage(conn, streams.ORDERS.table)
        child = create_stage(conn, streams.ORDERS.child_table)  # type: ignore[arg-type]
        assert sql.build(KnownReferences(), stg, child, []) == []
        assert conn.execute(f"SELECT order_id FROM {stg} ORDER BY 1").fetchall() == [(1,), (2,), (7,)]
        assert [n for n, _ in sql.staged_bodies()] == [1, 6, 7]
        # A batch whose bodies are all JSON is read in one statement and nothing is dropped.
        sql.clear()
        sql.stage(bodies[0])
        assert sql.check_staged() == [] and sql._rec_ready


def test_raw_records_of_flagged_records_are_the_records_as_sent(warehouse: DuckDBWarehouse) -> None:
    # Several flagged records per body, list-shaped (orders) and keyed (goods-out notes) responses, in the order asked.
    from bp_pipelines.lib.sync.sqlrows import SPECS, SqlRows

    orders = [_order(i) for i in (1, 2, 3)]
    orders[1]["totalValue"]["net"] = " 1.5 "
    notes = {"7": {"orderId": 1, "orderRows": {"1": [{"productId": 9, "quantity": 1}]}}, 'x"y': {"orderId": 2}}
    with warehouse.connect() as conn:
        sql = SqlRows(SPECS["orders"], conn)
        for ids in ((1, 2, 3), (4,)):
            sql.stage(json.dumps({"response": [_order(i) if i == 4 else orders[i - 1] for i in ids]}).encode())
        assert sql.raw_records([(1, "3"), (2, "1"), (1, "2")]) == [orders[2], _order(4), orders[1]]
        keyed = SqlRows(SPECS["goods_out_notes"], conn)
        keyed.stage(json.dumps({"response": notes}).encode())
        assert keyed.raw_records([(1, 'x"y'), (1, "7")]) == [notes['x"y'], notes["7"]]
        assert keyed.raw_records([]) == []
