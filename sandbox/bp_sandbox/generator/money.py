"""Integer-cent money helpers; Brightpearl strings are 4 dp on rows and 2 dp on tax and totals."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1 << 16)  # prices x small quantities repeat a lot; formatting is the hot path
def m2(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


@lru_cache(maxsize=1 << 16)
def m4(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}00"


def m4_from_ten_thousandths(v: int) -> str:
    return f"{v // 10000}.{v % 10000:04d}"


def tax_of(net: int, basis_points: int) -> int:
    return (net * basis_points + 5000) // 10000


def rate_string(basis_points: int) -> str:
    return f"{basis_points // 100}.{basis_points % 100:02d}00"
