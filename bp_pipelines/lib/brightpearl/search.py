"""Resource-search pages: validation of the payload and mapping of result cells to column names.

A search answers `{"response": {"results": [[...], ...], "metaData": {...}}, "reference": {...}}`; cells are in
`metaData.columns` order and the first column is the resource id (brightpearl-api.md §4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SEARCH_PAGE_SIZE_MAX = 500  # documented maximum (PMS) and the observed default
PAGING_PARAMS = frozenset({"pageSize", "firstResult", "columns", "sort"})


@dataclass
class SearchPage:
    rows: list[dict[str, Any]]  # cells mapped by metaData.columns names; ids already seen on earlier pages dropped
    reference: dict[str, Any]  # top-level "reference": referenceData name -> {id: value}
    first_result: int
    last_result: int
    results_available: int
    more_pages_available: bool
    columns: list[str] = field(default_factory=list)
    duplicates_dropped: int = 0


def search_params(
    filters: Mapping[str, str] | None, columns: Sequence[str] | None, sort: str | None, page_size: int, first: int
) -> dict[str, str | int]:
    """Query parameters of one page; filters keep their order, paging comes last."""
    params: dict[str, str | int] = {}
    for name, value in (filters or {}).items():
        if name in PAGING_PARAMS:
            raise ValueError(f"{name!r} is set by search() itself; pass it as an argument, not as a filter")
        params[name] = value
    if columns:
        params["columns"] = ",".join(columns)
    if sort:
        params["sort"] = sort
    params["pageSize"] = page_size
    params["firstResult"] = first
    return params


def _column_names(meta: Mapping[str, Any]) -> list[str] | None:
    columns = meta.get("columns")
    if not isinstance(columns, list) or not columns:
        return None
    names = [column.get("name") if isinstance(column, Mapping) else column for column in columns]
    return names if all(isinstance(name, str) for name in names) else None


def search_problem(payload: Any, first: int) -> str | None:
    """What is wrong with a search payload (retried, then reported), or None when it can be used."""
    response = payload.get("response") if isinstance(payload, Mapping) else None
    if not isinstance(response, Mapping):
        return "no 'response' object"
    results, meta = response.get("results"), response.get("metaData")
    if not isinstance(results, list):
        return "no 'response.results' list"
    if not isinstance(meta, Mapping):
        return "no 'response.metaData' object"
    names = _column_names(meta)
    if names is None:
        return "no usable 'metaData.columns'"
    if any(not isinstance(cells, list) or len(cells) != len(names) for cells in results):
        return f"a result row does not have the {len(names)} cells of metaData.columns"
    last = meta.get("lastResult", first + len(results) - 1)
    if _more_pages(meta, last) and (not results or not isinstance(last, int) or last < first):
        # Guard against looping forever on a page that claims more but does not advance.
        return f"metaData says more pages are available but the page starting at {first} ended at {last}"
    return None


def _more_pages(meta: Mapping[str, Any], last: Any) -> bool:
    more = meta.get("morePagesAvailable")
    if isinstance(more, bool):
        return more
    # 2013-era payloads have no morePagesAvailable: compare with resultsAvailable instead.
    available = meta.get("resultsAvailable")
    return isinstance(available, int) and isinstance(last, int) and last < available


def parse_search_page(payload: Mapping[str, Any], first: int, seen_ids: set[Any]) -> SearchPage:
    """Map a validated payload to a page; ids in `seen_ids` are dropped and new ids are added to it."""
    response, reference = payload["response"], payload.get("reference")
    meta, results = response["metaData"], response["results"]
    names = _column_names(meta) or []
    # The first column is the resource id (orderId, productId, goodsOutNoteId, id, ...). When a caller's
    # `columns` put something else first, nothing is de-duplicated: dropping rows by a non-id would lose data.
    dedupe = bool(names) and (names[0] == "id" or names[0].endswith("Id"))
    rows: list[dict[str, Any]] = []
    dropped = 0
    for cells in results:
        row_id = cells[0] if dedupe else None
        if row_id is not None and row_id in seen_ids:
            dropped += 1  # offset paging: a row can shift onto the next page while data changes
            continue
        if row_id is not None:
            seen_ids.add(row_id)
        rows.append(dict(zip(names, cells, strict=True)))
    first_result = meta.get("firstResult", first)
    last_result = meta.get("lastResult", first_result + len(results) - 1)
    return SearchPage(
        rows=rows,
        reference=dict(reference) if isinstance(reference, Mapping) else {},
        first_result=first_result,
        last_result=last_result,
        results_available=meta.get("resultsAvailable", last_result),
        more_pages_available=_more_pages(meta, last_result),
        columns=names,
        duplicates_dropped=dropped,
    )
