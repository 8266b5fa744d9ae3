"""Storefront country codes as Brightpearl takes them (`lib/countries.py`): `countryIsoCode` is the 3-character ISO
code; an address the import would send without an ISO 3166-1 country dead-letters its order with the fix."""

from __future__ import annotations

import pytest

from bp_pipelines.lib.countries import iso2, iso3
from bp_pipelines.lib.push.imports import _address, address_problem
from bp_pipelines.lib.push.storefront_orders import StorefrontOrder


@pytest.mark.parametrize(
    ("code", "alpha3", "alpha2"),
    [
        ("US", "USA", "US"),  # what BigCommerce's country_iso2 holds
        ("GB", "GBR", "GB"),
        ("JP", "JPN", "JP"),
        ("GBR", "GBR", "GB"),  # already three letters: kept
        ("deu", "DEU", "DE"),  # any case
        (" fr ", "FRA", "FR"),  # spaces trimmed
        ("XX", None, None),  # not assigned
        ("UK", None, None),  # common, but not ISO 3166-1 (GB is)
        ("", None, None),
        (None, None, None),
        ("840", None, None),  # numeric codes are not letter codes
        ("United States", None, None),
    ],
)
def test_iso_codes(code: str | None, alpha3: str | None, alpha2: str | None) -> None:
    assert (iso3(code), iso2(code)) == (alpha3, alpha2)


ADDRESS = {"street_1": "1 High St", "city": "Bristol", "zip": "BS1 1AA", "country": "United Kingdom"}


def _order(billing: dict[str, str], shipping: dict[str, str] | None = None) -> StorefrontOrder:
    return StorefrontOrder({"id": 501, "billing_address": billing}, [], [shipping] if shipping else [])


def test_an_address_is_sent_with_the_three_letter_code() -> None:
    assert _address({**ADDRESS, "country_iso2": "gb"}) == {
        "addressLine1": "1 High St",
        "addressLine2": "",
        "addressLine3": "Bristol",
        "addressLine4": "",
        "postalCode": "BS1 1AA",
        "countryIsoCode": "GBR",
    }
    assert _address({"country_iso2": "XX"}) is None  # no street line: nothing sent, whatever the country
    with pytest.raises(ValueError, match="'XX' is not an ISO 3166-1 code"):
        _address({**ADDRESS, "country_iso2": "XX"})  # never junk, even if a caller skipped address_problem


def test_an_address_without_an_iso_country_names_the_order_the_address_the_value_and_the_fix() -> None:
    good = {**ADDRESS, "country_iso2": "GB"}
    assert address_problem(_order(good, good)) is None
    assert address_problem(_order(good, {"country_iso2": ""})) is None  # a shipping address without lines: unused
    fix = "correct the address's country on the storefront order, then run storefront_redrive"
    assert address_problem(_order({**ADDRESS, "country_iso2": "XX", "country": "Narnia"}, good)) == (
        f"storefront order 501: the billing address's country code 'XX' (country 'Narnia') is not an ISO 3166-1 "
        f"code; {fix}"
    )
    assert address_problem(_order(good, {**ADDRESS, "country_iso2": "", "country": ""})) == (
        f"storefront order 501: the shipping address has no country code; {fix}"
    )
    both = address_problem(_order({**ADDRESS, "country_iso2": "UK"}, {**ADDRESS, "country_iso2": " "}))
    assert both == (
        "storefront order 501: the billing address's country code 'UK' (country 'United Kingdom') is not an ISO "
        f"3166-1 code and the shipping address has no country code (country 'United Kingdom'); {fix}"
    )
