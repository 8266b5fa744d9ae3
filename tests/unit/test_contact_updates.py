"""Which postal-address writes keep an existing contact in step (`lib/push/customers.py`): only what differs, in
place when no other role of the address wants something else, otherwise a new address for the role that changed."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from bp_pipelines.lib.push.customers import _address_key, address_writes, brightpearl_address, same_address
from bp_pipelines.lib.push.plan import dumps

# As the import plans them: the country as the 3-character ISO code Brightpearl's countryIsoCode takes.
HOME = {"addressLine1": "1 High St", "addressLine3": "Bristol", "postalCode": "BS1 1AA", "countryIsoCode": "GBR"}
OFFICE = {"addressLine1": "9 Dock Rd", "addressLine3": "Leeds", "postalCode": "LS1 4AP", "countryIsoCode": "GBR"}
DEPOT = {"addressLine1": "5 Depot Way", "addressLine3": "Hull", "postalCode": "HU1 1AA", "countryIsoCode": "GBR"}


def stored(address: dict[str, Any], address_id: int, contact_id: int = 7) -> dict[str, Any]:
    """As `GET contact-service/postal-address` answers: ISO-3 and ISO-2 country codes, empty lines left out."""
    out = {k: v for k, v in address.items() if k != "countryIsoCode" and v}
    return {**out, "addressId": address_id, "contactId": contact_id, "countryIsoCode": "GBR", "countryIsoCode2": "GB"}


SHARED = {"DEF": 1, "BIL": 1, "DEL": 1}


def test_equal_addresses_need_nothing_and_compare_ignoring_case_and_spacing() -> None:
    assert same_address(stored(HOME, 1), {**HOME, "addressLine1": " 1  high st", "addressLine2": ""})
    assert address_writes(7, SHARED, {1: stored(HOME, 1)}, HOME, HOME, always=False) == ([], [])
    assert not same_address(stored(HOME, 1), {**HOME, "countryIsoCode": "FRA"})


def test_the_country_is_one_country_in_either_iso_form() -> None:
    """Rows planned before the import sent ISO-3 hold two letters; Brightpearl answers both forms."""
    for wanted in ("GBR", "GB", "gbr", " gb "):
        assert same_address(stored(HOME, 1), {**HOME, "countryIsoCode": wanted}), wanted
    only_iso2 = {k: v for k, v in stored(HOME, 1).items() if k != "countryIsoCode"}
    assert same_address(only_iso2, HOME) and not same_address(only_iso2, {**HOME, "countryIsoCode": "FRA"})
    assert not same_address(stored(HOME, 1), {**HOME, "countryIsoCode": "FR"})
    assert same_address(stored(HOME, 1), {**HOME, "countryIsoCode": ""})  # no country wanted: not a difference


def test_an_address_key_recorded_before_iso3_still_names_the_same_address() -> None:
    """The ids of addresses an interrupted attempt created are kept under this key in the row's response: a row
    left open across the upgrade must find them, not create the address again."""
    lines = ("addressLine1", "addressLine2", "addressLine3", "addressLine4", "postalCode", "countryIsoCode")
    legacy = {**HOME, "countryIsoCode": "GB"}
    before_iso3 = hashlib.sha256(
        dumps({k: " ".join(str(legacy.get(k) or "").split()).casefold() for k in lines}).encode()
    ).hexdigest()[:12]  # the key as the import computed it when it sent two letters
    assert _address_key(HOME) == _address_key(legacy) == before_iso3
    assert _address_key(HOME) != _address_key({**HOME, "countryIsoCode": "FRA"})


def test_a_wanted_address_is_sent_with_the_three_letter_code() -> None:
    assert brightpearl_address({**HOME, "countryIsoCode": "gb"}) == HOME  # a row planned with two letters
    assert brightpearl_address(HOME) == HOME and brightpearl_address(None) is None
    with pytest.raises(LookupError, match="country code 'XX', not an ISO 3166-1 code"):
        brightpearl_address({**HOME, "countryIsoCode": "XX"})


def test_one_address_for_every_role_moves_in_place_when_billing_and_delivery_agree() -> None:
    puts, news = address_writes(7, SHARED, {1: stored(HOME, 1)}, OFFICE, OFFICE, always=False)
    assert puts == [(1, OFFICE, "billing address and delivery address")] and news == []


def test_a_shared_address_is_not_edited_for_one_role() -> None:
    # Only the delivery differs: billing (and the default address) keep the shared one, delivery gets its own.
    puts, news = address_writes(7, SHARED, {1: stored(HOME, 1)}, HOME, DEPOT, always=False)
    assert puts == [] and news == [(DEPOT, ["DEL"], "delivery address")]
    # Billing differs, delivery stays: the default address moves with the billing address it shared.
    puts, news = address_writes(7, SHARED, {1: stored(HOME, 1)}, OFFICE, HOME, always=False)
    assert puts == [] and news == [(OFFICE, ["BIL", "DEF"], "billing address")]


def test_separate_addresses_are_corrected_in_place_and_a_missing_role_gets_a_new_one() -> None:
    ids = {"DEF": 1, "BIL": 1, "DEL": 2}
    current = {1: stored(HOME, 1), 2: stored(HOME, 2)}
    puts, news = address_writes(7, ids, current, OFFICE, DEPOT, always=False)
    assert sorted(puts, key=lambda p: p[0]) == [(1, OFFICE, "billing address"), (2, DEPOT, "delivery address")]
    assert news == []
    puts, news = address_writes(7, {"DEF": 1, "BIL": 1}, {1: stored(HOME, 1)}, HOME, DEPOT, always=False)
    assert puts == [] and news == [(DEPOT, ["DEL"], "delivery address")]


def test_an_inherited_address_is_never_edited_in_place() -> None:
    # The organisation's primary contact (9) owns the billing address of its secondary contact 7.
    puts, news = address_writes(7, {"DEF": 1, "BIL": 1}, {1: stored(HOME, 1, contact_id=9)}, OFFICE, None, always=False)
    assert puts == [] and news == [(OFFICE, ["BIL", "DEF"], "billing address")]


def test_always_rewrites_equal_addresses() -> None:
    puts, news = address_writes(7, SHARED, {1: stored(HOME, 1)}, HOME, HOME, always=True)
    assert puts == [(1, HOME, "billing address and delivery address")] and news == []
