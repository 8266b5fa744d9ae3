"""Brightpearl ID sets: `8`, `1-200` (ascending only), `1,5,7`, mixtures `1-50,55,75-82`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

PART = re.compile(r"^(\d+)(?:-(\d+))?$")
Ranges = list[tuple[int, int]]


class IdSetError(ValueError):
    pass


def parse_id_set(text: str) -> Ranges:
    """Return merged, sorted inclusive ranges; raises IdSetError on syntax errors or descending ranges."""
    ranges: Ranges = []
    for part in text.split(","):
        m = PART.match(part.strip())
        if not m:
            raise IdSetError(f"'{text}' is not a valid ID set")
        low = int(m.group(1))
        high = int(m.group(2)) if m.group(2) is not None else low
        if high < low:
            raise IdSetError(f"Descending ranges are not allowed in an ID set: '{part}'")
        ranges.append((low, high))
    return merge(ranges)


def merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def count_ids(ranges: Ranges) -> int:
    return sum(high - low + 1 for low, high in ranges)


def iter_ids(ranges: Ranges) -> Iterator[int]:
    for low, high in ranges:
        yield from range(low, high + 1)


def sql_in(column: str, ranges: Ranges) -> str:
    """SQL predicate for the ranges (integers only, so inlining is safe and avoids parameter limits)."""
    singles = [str(low) for low, high in ranges if low == high]
    spans = [f"{column} BETWEEN {low} AND {high}" for low, high in ranges if low != high]
    parts = spans + ([f"{column} IN ({','.join(singles)})"] if singles else [])
    return "(" + " OR ".join(parts) + ")" if parts else "0"


def to_id_set(ids: Iterable[int]) -> str:
    """[1, 2, 3, 7] -> '1-3,7'."""
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in merge((i, i) for i in ids))


def chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
