"""The first sync stores every record, including those whose search rows carry `updatedOn: null` (documented:
docs/reference/api-quirks.md) -- which a ranged updatedOn search never returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from bp_pipelines.assets.brightpearl import brightpearl_assets, products
from bp_pipelines.resources.brightpearl import BrightpearlResource
from bp_pipelines.resources.warehouse import WarehouseResource

SEARCHES = {
    "orders": "order-service/order-search",
    "products": "product-service/product-search",
    "contacts": "contact-service/contact-search",
}


def _available(sb: Any, search: str, **filters: str) -> int:
    return sb.bp_get(search, pageSize=1, **filters).json()["response"]["metaData"]["resultsAvailable"]


def test_records_with_null_updated_on_in_search_rows_are_stored_by_the_first_run(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    sb = fresh_sandbox(seed=5, orders=300, extra_args=["--null-updated-on-share", "0.05"])
    totals = {name: _available(sb, search) for name, search in SEARCHES.items()}
    for name, search in SEARCHES.items():  # the guard: a ranged search really misses some records
        assert _available(sb, search, updatedOn="2000-01-01T00:00:00.000Z/") < totals[name], name
    # The GET of a record whose search row says null has the value.
    rows = sb.bp_get("order-service/order-search", columns="orderId,updatedOn").json()["response"]["results"]
    null_ids = [r[0] for r in rows if r[1] is None]
    assert null_ids
    [order] = sb.bp_get(f"order-service/order/{null_ids[0]}").json()["response"]
    assert order["updatedOn"]

    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    brightpearl = BrightpearlResource(
        base_url=sb.brightpearl_base_url,
        account=sb.brightpearl_account,
        app_ref=sb.brightpearl_app_ref,
        account_token=sb.brightpearl_account_token,
    )
    result = dg.materialize(
        list(brightpearl_assets),
        resources={"brightpearl": brightpearl, "warehouse": warehouse},
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=products.partitions_def.get_last_partition_key(),  # type: ignore[union-attr]
    )
    assert result.success
    with duckdb.connect(str(warehouse.published_path), read_only=True) as conn:
        for name in SEARCHES:
            stored = conn.execute(f"SELECT count(*) FROM brightpearl.{name} WHERE NOT is_deleted").fetchone()[0]
            assert stored == totals[name], name
        assert conn.execute(
            "SELECT count(*) FROM brightpearl.orders WHERE order_id IN (SELECT unnest(?::BIGINT[]))", [null_ids]
        ).fetchone()[0] == len(null_ids)
        quarantined = conn.execute("SELECT count(*) FROM _sync.quarantine WHERE resolved_at IS NULL").fetchone()[0]
        assert quarantined == 0
