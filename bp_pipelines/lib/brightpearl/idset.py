"""Brightpearl ID sets (`1-3,7`) and the per-resource limits on how many ids one GET may name.

Syntax (HC-idset): a single id `8`, an ascending range `1-200`, a list `1,5,7`, or a mix `1-50,55,75-82`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# Documented maxima per GET (brightpearl-api.md §5).
ORDER_GET_MAX_IDS = 200  # AD:order/order/get.html
PRODUCT_GET_MAX_IDS = 200  # AD:product/product/options.html
CONTACT_GET_MAX_IDS = 200  # AD:contact/contact/get.html; more ids silently give one page of 200
GOODS_OUT_NOTE_GET_MAX_IDS = 500  # AD:warehouse/goods-out-note/get.html
# Unconfirmed: the docs give no product-availability limit. One production client (RSM) chunks by 100 and
# notes that a single invalid id fails the whole chunk with 400; a third-party wrapper uses 50. 100 keeps the
# request count low while limiting the blast radius of one bad id.
PRODUCT_AVAILABILITY_MAX_IDS = 100

# Keep request lines well under the 8 KiB that common proxies accept, even for sparse 500-id sets of long ids.
MAX_ID_SET_CHARS = 4000


def normalise_ids(ids: Iterable[int]) -> list[int]:
    """Sorted, de-duplicated non-negative ints; rejects anything that is not an id (bools, negatives, strings)."""
    values = ids if isinstance(ids, list | tuple) else list(ids)
    # The usual case (plain ints, none negative) checked by builtins; anything else takes the loop that names it.
    if set(map(type, values)) <= {int} and (not values or min(values) >= 0):
        return sorted(set(values))
    result: set[int] = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"not a Brightpearl id: {value!r}")
        result.add(value)
    return sorted(result)


def _ranges(sorted_ids: list[int]) -> Iterator[tuple[int, int]]:
    start = prev = sorted_ids[0]
    for value in sorted_ids[1:]:
        if value != prev + 1:
            yield start, prev
            start = value
        prev = value
    yield start, prev


def _format(start: int, end: int) -> str:
    if start == end:
        return str(start)
    if end == start + 1:  # "5,6" is as short as "5-6" and reads better
        return f"{start},{end}"
    return f"{start}-{end}"


def to_id_set(ids: Iterable[int]) -> str:
    """`[1, 2, 3, 7]` -> `"1-3,7"`; ids are sorted and de-duplicated first. An empty input is an error."""
    sorted_ids = normalise_ids(ids)
    if not sorted_ids:
        raise ValueError("an ID set needs at least one id")
    return ",".join(_format(start, end) for start, end in _ranges(sorted_ids))


def batch_id_sets(ids: Iterable[int], batch_size: int, max_chars: int = MAX_ID_SET_CHARS) -> Iterator[str]:
    """Split ids (sorted, de-duplicated) into ID sets of at most `batch_size` ids and `max_chars` characters."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    sorted_ids = normalise_ids(ids)
    if not sorted_ids:
        return
    if len(sorted_ids) <= batch_size and len(sorted_ids) * (len(str(sorted_ids[-1])) + 1) <= max_chars:
        yield ",".join(_format(start, end) for start, end in _ranges(sorted_ids))  # one batch: no width count
        return
    batch: list[int] = []
    chars = 0  # upper bound of the formatted length: every id written out, comma-separated
    for value in sorted_ids:
        width = len(str(value)) + 1
        if batch and (len(batch) >= batch_size or chars + width > max_chars):
            yield to_id_set(batch)
            batch, chars = [], 0
        batch.append(value)
        chars += width
    if batch:
        yield to_id_set(batch)
