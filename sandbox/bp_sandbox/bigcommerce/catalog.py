"""Catalog V3: products and variants (read side), with `meta.pagination` envelopes.

Field sets follow `product_Full` (as in the GET-product example) and the variant collection schema in
the products / product-variants specs. Unknown query parameters are ignored, as V3 does for filters
it does not know (unconfirmed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from bp_sandbox.bigcommerce.errors import not_found
from bp_sandbox.bigcommerce.formatting import DateParseError, iso8601, loads_or, money_number, parse_date_ms
from bp_sandbox.bigcommerce.gateway import Ctx, Gateway, json_response
from bp_sandbox.bigcommerce.pagination import csv_ints, placeholders, split_csv, v3_meta, v3_page
from bp_sandbox.bigcommerce.storage import Where
from bp_sandbox.state import Store

PRODUCT_SORTS = {
    "id": "id",
    "name": "name",
    "sku": "sku",
    "price": "CAST(price AS REAL)",
    "inventory_level": "inventory_level",
    "date_modified": "date_modified_ms",
}


def product_json(row: sqlite3.Row) -> dict[str, Any]:
    price = money_number(row["price"])
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "type": row["type"],
        "sku": row["sku"],
        "description": "",
        "weight": 0,
        "width": 0,
        "depth": 0,
        "height": 0,
        "price": price,
        "cost_price": 0,
        "retail_price": 0,
        "sale_price": 0,
        "map_price": 0,
        "calculated_price": price,
        "tax_class_id": 0,
        "product_tax_code": "",
        "categories": [],
        "brand_id": 0,
        "inventory_level": int(row["inventory_level"]),
        "inventory_warning_level": 0,
        "inventory_tracking": row["inventory_tracking"],
        "fixed_cost_shipping_price": 0,
        "is_free_shipping": False,
        "is_visible": True,
        "is_featured": False,
        "related_products": [-1],
        "warranty": "",
        "bin_picking_number": "",
        "layout_file": "",
        "upc": "",
        "search_keywords": "",
        "availability_description": "",
        "availability": "available",
        "gift_wrapping_options_type": "any",
        "gift_wrapping_options_list": [],
        "sort_order": 0,
        "condition": "New",
        "is_condition_shown": False,
        "order_quantity_minimum": 0,
        "order_quantity_maximum": 0,
        "page_title": "",
        "meta_keywords": [],
        "meta_description": "",
        "view_count": 0,
        "preorder_release_date": None,
        "preorder_message": "",
        "is_preorder_only": False,
        "is_price_hidden": False,
        "price_hidden_label": "",
        "custom_url": {"url": f"/products/{int(row['id'])}/", "is_customized": False},
        "open_graph_type": "product",
        "open_graph_title": "",
        "open_graph_description": "",
        "open_graph_use_meta_description": True,
        "open_graph_use_product_name": True,
        "open_graph_use_image": True,
        "gtin": "",
        "mpn": "",
        "reviews_rating_sum": 0,
        "reviews_count": 0,
        "total_sold": 0,
        "date_created": iso8601(row["date_created_ms"]),
        "date_modified": iso8601(row["date_modified_ms"]),
        "base_variant_id": row["base_variant_id"],
        "option_set_id": None,
        "option_set_display": "right",
    }


# A variant's GTIN (where merchants key the EAN-13): the Brightpearl product's EAN of the same SKU, as a merchant who
# keeps both catalogs would have it; derived when served, so cached worlds need no new column.
_GTIN = "(SELECT nullif(bp.ean, '') FROM products bp WHERE bp.sku = v.sku ORDER BY bp.id LIMIT 1) AS gtin"


def variant_json(row: sqlite3.Row, product_price: Any, base_variant_id: int | None) -> dict[str, Any]:
    """`price` null means "inherit the product price", which `calculated_price` resolves."""
    variant_id = int(row["id"])
    own_price = None if row["price"] in (None, "") else money_number(row["price"])
    return {
        "id": variant_id,
        "product_id": int(row["product_id"]),
        "sku": row["sku"],
        "sku_id": None if variant_id == base_variant_id else variant_id,  # null for the base variant
        "price": own_price,
        "calculated_price": own_price if own_price is not None else money_number(product_price),
        "sale_price": None,
        "retail_price": None,
        "map_price": None,
        "cost_price": 0,
        "weight": None,
        "calculated_weight": 0,
        "width": None,
        "height": None,
        "depth": None,
        "is_free_shipping": False,
        "fixed_cost_shipping_price": None,
        "purchasing_disabled": False,
        "purchasing_disabled_message": "",
        "image_url": "",
        "upc": row["upc"],
        "mpn": "",
        "gtin": row["gtin"] or "",
        "inventory_level": int(row["inventory_level"]),
        "inventory_warning_level": 0,
        "bin_picking_number": "",
        "option_values": loads_or(row["option_values_json"], []),
    }


def _date_filter(where: Where, params: Mapping[str, str], column: str) -> None:
    for suffix, op in ((":min", ">="), (":max", "<="), ("", "=")):
        raw = params.get("date_modified" + suffix)
        if raw:
            try:
                where.add(f"{column} / 1000 {op} ?", parse_date_ms(raw) // 1000)
            except DateParseError:
                where.add("0")  # an unparseable date matches nothing rather than everything


def _product_where(params: Mapping[str, str]) -> Where:
    where = Where()
    if params.get("id"):
        where.add("id = ?", *csv_ints(params, "id")[:1])
    for name, op in (("id:in", "IN"), ("id:not_in", "NOT IN")):
        ids = csv_ints(params, name)
        if ids:
            where.add(f"id {op} ({placeholders(ids)})", *ids)
    for name, op in (("id:min", ">="), ("id:max", "<="), ("id:greater", ">"), ("id:less", "<")):
        if params.get(name):
            where.add(f"id {op} ?", *csv_ints(params, name)[:1])
    if params.get("sku"):
        where.add("sku = ?", params["sku"])
    skus = split_csv(params.get("sku:in"))
    if skus:
        where.add(f"sku IN ({placeholders(skus)})", *skus)
    if params.get("name"):
        where.add("name = ?", params["name"])
    if params.get("type"):
        where.add("type = ?", params["type"])
    _date_filter(where, params, "date_modified_ms")
    return where


def variants_by_product(store: Store, product_ids: list[int]) -> dict[int, list[sqlite3.Row]]:
    out: dict[int, list[sqlite3.Row]] = {pid: [] for pid in product_ids}
    if product_ids:
        for row in store.query(
            f"SELECT v.*, {_GTIN} FROM bc_variants v WHERE v.product_id IN ({placeholders(product_ids)}) ORDER BY v.id",
            tuple(product_ids),
        ):
            out[int(row["product_id"])].append(row)
    return out


def _render_products(store: Store, rows: list[sqlite3.Row], include: list[str]) -> list[dict[str, Any]]:
    products = [product_json(r) for r in rows]
    if "variants" in include:
        variants = variants_by_product(store, [int(r["id"]) for r in rows])
        for body, row in zip(products, rows, strict=True):
            body["variants"] = [variant_json(v, row["price"], row["base_variant_id"]) for v in variants[int(row["id"])]]
    return products


def list_products(ctx: Ctx) -> Response:
    params = ctx.params
    page = v3_page(params)
    where = _product_where(params)
    column = PRODUCT_SORTS.get(params.get("sort", "id"), "id")
    direction = "DESC" if params.get("direction", "asc").lower() == "desc" else "ASC"
    total = int(ctx.store.query_one(f"SELECT COUNT(*) FROM bc_products WHERE {where.sql}", tuple(where.params))[0])
    rows = ctx.store.query(
        f"SELECT * FROM bc_products WHERE {where.sql} ORDER BY {column} {direction}, id {direction} LIMIT ? OFFSET ?",
        (*where.params, page.limit, page.offset),
    )
    data = _render_products(ctx.store, rows, split_csv(params.get("include")))
    return json_response({"data": data, "meta": v3_meta(page, total, len(data))})


def _load_product(store: Store, product_id: int) -> sqlite3.Row:
    row = store.query_one("SELECT * FROM bc_products WHERE id = ?", (product_id,))
    if row is None:
        raise not_found()
    return row


def get_product(ctx: Ctx) -> Response:
    row = _load_product(ctx.store, int(ctx.path_params["product_id"]))
    data = _render_products(ctx.store, [row], split_csv(ctx.params.get("include")))[0]
    return json_response({"data": data, "meta": {}})


def _list_variants(ctx: Ctx, where: Where) -> Response:
    page = v3_page(ctx.params)
    total = int(ctx.store.query_one(f"SELECT COUNT(*) FROM bc_variants v WHERE {where.sql}", tuple(where.params))[0])
    rows = ctx.store.query(
        f"SELECT v.*, {_GTIN}, p.price AS product_price, p.base_variant_id FROM bc_variants v "
        f"LEFT JOIN bc_products p ON p.id = v.product_id WHERE {where.sql} ORDER BY v.id LIMIT ? OFFSET ?",
        (*where.params, page.limit, page.offset),
    )
    data = [variant_json(r, r["product_price"], r["base_variant_id"]) for r in rows]
    return json_response({"data": data, "meta": v3_meta(page, total, len(data))})


def list_variants(ctx: Ctx) -> Response:
    params = ctx.params
    where = Where()
    if params.get("id"):
        where.add("v.id = ?", *csv_ints(params, "id")[:1])
    for name, column in (("id:in", "v.id"), ("product_id:in", "v.product_id")):
        ids = csv_ints(params, name)
        if ids:
            where.add(f"{column} IN ({placeholders(ids)})", *ids)
    if params.get("sku"):
        where.add("v.sku = ?", params["sku"])
    skus = split_csv(params.get("sku:in"))  # not in the variants spec; accepted like the products filter
    if skus:
        where.add(f"v.sku IN ({placeholders(skus)})", *skus)
    if params.get("upc"):
        where.add("v.upc = ?", params["upc"])
    return _list_variants(ctx, where)


def list_product_variants(ctx: Ctx) -> Response:
    product_id = int(ctx.path_params["product_id"])
    _load_product(ctx.store, product_id)
    where = Where(clauses=["v.product_id = ?"], params=[product_id])
    return _list_variants(ctx, where)


def routes(gw: Gateway) -> list[Route]:
    return [
        gw.route("/v3/catalog/products", GET=list_products),
        gw.route("/v3/catalog/products/{product_id:int}", GET=get_product),
        gw.route("/v3/catalog/products/{product_id:int}/variants", GET=list_product_variants),
        gw.route("/v3/catalog/variants", GET=list_variants),
    ]
