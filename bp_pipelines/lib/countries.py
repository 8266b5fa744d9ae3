"""ISO 3166-1 country codes between the storefront and Brightpearl.

BigCommerce gives an address's country as two letters (`country_iso2`); Brightpearl's postal-address and
sales-order `countryIsoCode` takes the 3-character ISO code ("GBR", AD:contact/postal-address/post.html) and its
postal-address GETs answer `countryIsoCode` ISO-3 plus `countryIsoCode2`. The table is pycountry's (ISO 3166-1 as
published), not a hand-kept list.
"""

from __future__ import annotations

from typing import Any

import pycountry


def _country(code: Any) -> Any | None:
    text = str(code or "").strip().upper()
    if len(text) == 2 and text.isalpha():
        return pycountry.countries.get(alpha_2=text)
    if len(text) == 3 and text.isalpha():
        return pycountry.countries.get(alpha_3=text)
    return None  # empty, numeric, a name, or any other length: not an ISO 3166-1 letter code


def iso3(code: Any) -> str | None:
    """The ISO 3166-1 alpha-3 code of an alpha-2 or alpha-3 code, in any case ("us", "USA" -> "USA"); None when it
    is not an ISO 3166-1 code (empty, "XX", "UK")."""
    found = _country(code)
    return found.alpha_3 if found is not None else None


def iso2(code: Any) -> str | None:
    """The ISO 3166-1 alpha-2 code of an alpha-2 or alpha-3 code ("GBR" -> "GB"); None when it is not one."""
    found = _country(code)
    return found.alpha_2 if found is not None else None
