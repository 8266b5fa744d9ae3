"""Generic resource-search engine: filters, columns, sorting, paging, metaData and reference blocks.

Contract choices (see docs/sandbox.md): PERIOD bounds are both inclusive; `pageSize` above 500 is clamped
to 500; an unknown filter/column/sort name is a 400 (CMNC-400); a value that does not parse is the recorded
500 CMNC-018 "The filter X=Y cannot be parsed as: TYPE".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..state import Store
from .envelope import BpError, bad_request
from .formatting import DateParseError, Formatter, parse_instant
from .idsets import IdSetError, parse_id_set, sql_in

MAX_PAGE = 500
STANDARD_PARAMS = frozenset({"firstResult", "pageSize", "columns", "sort", "countOnly", "includeOptional"})


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # reportDataType: INTEGER, IDSET, STRING, SEARCH_STRING, BOOLEAN, PERIOD
    sql: str  # expression giving the stored value
    sortable: bool = True
    filterable: bool = True
    reference: str | None = None
    codes: Mapping[str, int] | None = None  # stored code -> public id (e.g. 'PAID' -> 1)

    def meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sortable": self.sortable,
            "filterable": self.filterable,
            "reportDataType": self.data_type,
            "referenceData": [self.reference] if self.reference else [],
            "isFreeTextSearchable": False,
            "required": False,
        }

    def value_sql(self) -> str:
        """Expression yielding the public value (ids for coded columns), used for sorting."""
        if not self.codes:
            return self.sql
        cases = " ".join(f"WHEN '{code}' THEN {i}" for code, i in self.codes.items())
        return f"(CASE {self.sql} {cases} END)"


ReferenceBuilder = Callable[[Store, list[list[Any]], list[Column]], dict[str, Any]]


@dataclass(frozen=True)
class SearchDef:
    source: str  # FROM clause
    base_where: str
    columns: tuple[Column, ...]
    references: ReferenceBuilder | None = None
    shift_table: str | None = None  # table whose updated_ms the shift_rows fault bumps
    extra_filters: Mapping[str, Column] = field(default_factory=dict)  # filters that are not columns

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None) or self.extra_filters.get(name)


def _unparsable(col: Column, raw: str) -> BpError:
    return BpError(500, "CMNC-018", f"The filter {col.name}={raw} cannot be parsed as: {col.data_type}")


def filter_clause(col: Column, raw: str) -> tuple[str, list[Any]]:
    """SQL predicate + parameters for one `?column=value` filter."""
    if col.data_type == "PERIOD":
        low_s, sep, high_s = raw.partition("/")
        try:
            if not sep:  # a single instant: exact match
                at = parse_instant(raw)
                return f"{col.sql} = ?", [at]
            parts, params = [], []
            if low_s.strip():
                parts.append(f"{col.sql} >= ?")
                params.append(parse_instant(low_s))
            if high_s.strip():
                parts.append(f"{col.sql} <= ?")
                params.append(parse_instant(high_s))
        except DateParseError as exc:
            raise _unparsable(col, raw) from exc
        return (" AND ".join(parts) or "1"), params
    if col.data_type == "BOOLEAN":
        if raw.lower() not in ("true", "false"):
            raise _unparsable(col, raw)
        return f"{col.sql} = ?", [int(raw.lower() == "true")]
    if col.data_type in ("INTEGER", "IDSET"):
        try:
            ranges = [(int(raw), int(raw))] if col.data_type == "INTEGER" else parse_id_set(raw)
        except (ValueError, IdSetError) as exc:
            raise _unparsable(col, raw) from exc
        if col.codes:
            codes = [c for c, i in col.codes.items() if any(low <= i <= high for low, high in ranges)]
            return (f"{col.sql} IN ({','.join('?' * len(codes))})" if codes else "0"), codes
        return sql_in(col.sql, ranges), []
    if col.data_type == "SEARCH_STRING":  # case-insensitive substring (sandbox choice)
        escaped = raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{col.sql} LIKE ? ESCAPE '\\'", [f"%{escaped}%"]
    return f"{col.sql} = ?", [raw]  # STRING: exact, case-sensitive


def int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a positive integer, got '{raw}'") from exc
    if value < 1:
        raise bad_request(f"{name} must be a positive integer, got '{raw}'")
    return value


def parse_sort(sdef: SearchDef, raw: str | None) -> list[tuple[Column, str]]:
    if not raw:
        return [(sdef.columns[0], "ASC")]
    out = []
    for part in raw.split(","):
        name, _, direction = part.strip().replace("|", ".").partition(".")
        col = sdef.column(name)
        direction = (direction or "ASC").upper()
        if col is None or col not in sdef.columns or not col.sortable or direction not in ("ASC", "DESC"):
            raise bad_request(f"Cannot sort by '{part}'")
        out.append((col, direction))
    return out


def _convert(col: Column, value: Any, fmt: Formatter) -> Any:
    if value is None:
        return None
    if col.codes:
        return col.codes.get(value)
    if col.data_type == "PERIOD":
        return fmt.dt(value)
    if col.data_type == "BOOLEAN":
        return bool(value)
    return value


@dataclass
class SearchResult:
    body: dict[str, Any]
    first_row_id: int | None  # for the shift_rows fault


def _as_served(store: Store, sdef: SearchDef, col: Column) -> Column:
    """updatedOn as search rows serve it: null for a deterministic share of records (the GET keeps the value),
    in the row and in filters alike, so a ranged updatedOn filter never returns those records."""
    share = store.null_updated_on_share
    if col.name != "updatedOn" or share <= 0:
        return col
    key = sdef.columns[0].sql
    return replace(col, sql=f"(CASE WHEN (({key}) * 7919) % 10000 < {int(share * 10000)} THEN NULL ELSE {col.sql} END)")


def run_search(store: Store, fmt: Formatter, sdef: SearchDef, params: Mapping[str, str]) -> SearchResult:
    first = int_param(params, "firstResult", 1)
    page_size = min(MAX_PAGE, int_param(params, "pageSize", MAX_PAGE))
    selected: Sequence[Column] = sdef.columns
    if params.get("columns"):
        selected = []
        for name in params["columns"].split(","):
            col = sdef.column(name.strip())
            if col is None or col not in sdef.columns:
                raise bad_request(f"Unknown column '{name.strip()}'")
            selected.append(col)
    where, args = [sdef.base_where], []
    for name, raw in params.items():
        if name in STANDARD_PARAMS:
            continue
        col = sdef.column(name)
        if col is None or not col.filterable:
            raise bad_request(f"'{name}' is not a filter of this search")
        clause, values = filter_clause(_as_served(store, sdef, col), raw)
        where.append(clause)
        args += values
    sorting = [(_as_served(store, sdef, c), d) for c, d in parse_sort(sdef, params.get("sort"))]
    selected = [_as_served(store, sdef, c) for c in selected]
    where_sql = " AND ".join(f"({w})" for w in where)
    order = [f"{c.value_sql()} {d}" for c, d in sorting] + [f"{sdef.columns[0].sql} ASC"]
    select = ", ".join([c.sql for c in selected] + [sdef.columns[0].sql])
    with store.lock:
        total = store.conn.execute(f"SELECT count(*) FROM {sdef.source} WHERE {where_sql}", args).fetchone()[0]
        rows = (
            []
            if params.get("countOnly", "").lower() == "true"
            else store.conn.execute(
                f"SELECT {select} FROM {sdef.source} WHERE {where_sql} ORDER BY {', '.join(order)} LIMIT ? OFFSET ?",
                [*args, page_size, first - 1],
            ).fetchall()
        )
    results = [[_convert(c, v, fmt) for c, v in zip(selected, row, strict=False)] for row in rows]
    returned = len(results)
    meta = {
        "morePagesAvailable": first - 1 + returned < total,
        "resultsAvailable": total,
        "resultsReturned": returned,
        "firstResult": first if returned else 0,
        "lastResult": first - 1 + returned if returned else 0,
        "columns": [c.meta() for c in selected],
        "sorting": [{"filterable": c.meta(), "direction": d} for c, d in sorting],
    }
    reference = sdef.references(store, results, list(selected)) if sdef.references else {}
    return SearchResult(
        {"response": {"results": results, "metaData": meta}, "reference": reference}, rows[0][-1] if rows else None
    )
