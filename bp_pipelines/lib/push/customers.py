"""An existing Brightpearl contact kept in step with the storefront order that names it (`import.customers.update`).

What the order says about its shopper (names, phone, company, billing and delivery address) is one ledger row,
kind `contact_update`, target `brightpearl`, push id `import:contact:<contact id>:<fingerprint of those details>`:
the same details of the same contact are applied once, however many orders carry them (a re-run or the shopper's
next order sends nothing and reads nothing). Sending compares with Brightpearl as it is now and writes only what
differs. The reads are batched (`ContactReads`): one `GET contact-service/contact/{id set}` and one
`GET contact-service/postal-address/{id set}` per 200 contacts a run may compare; a contact is read again alone only
after this run wrote to it.

* names, phone: one `PATCH contact-service/contact/{id}` (JSON-Patch `replace`), together with `/companyId`;
* company: Brightpearl's contact PATCH has no company name, only `/companyId`, so a new company is created
  (`POST contact-service/company`) and the contact joins it; the shopper's old company, shared with colleagues,
  is left as it is;
* addresses (`postAddressIds` BIL/DEL; DEF follows BIL when they are one address): an address no other role needs
  differently is corrected in place (`PUT contact-service/postal-address/{id}`); otherwise a new address is created
  (`POST contact-service/postal-address`) and given that role (`PUT contact-service/contact/{id}/postal-address`).

Retries never duplicate: what differs is computed again against Brightpearl, so writes that landed are not sent
again, and the ids of a company or address created by an interrupted attempt are kept in the row's `response` and
reused instead of creating another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from bp_pipelines.lib import countries
from bp_pipelines.lib.brightpearl import BrightpearlRequestError, to_id_set

from .ledger import Ledger, LedgerRow
from .plan import PlannedPush, dumps

KIND = "contact_update"
ROLES = ("DEF", "BIL", "DEL")
ADDRESS_LINES = ("addressLine1", "addressLine2", "addressLine3", "addressLine4", "postalCode")
# JSON-Patch paths of PATCH contact-service/contact/{id} (AD:contact/contact/patch.html).
PATCH_PATHS = {"firstName": "/firstName", "lastName": "/lastName", "phone": "/communication/telephones/PRI"}
COMPANY_NAME_MAX = 64  # Company POST: name of 1 to 64 characters


class ContactApi(Protocol):
    def get(self, path: str, params: Any = None) -> Any: ...
    def put(self, path: str, body: Any) -> Any: ...
    def post(self, path: str, body: Any, *, idempotent: bool = False) -> Any: ...
    def patch(self, path: str, body: Any, *, idempotent: bool = False) -> Any: ...


GET_BATCH = 200  # ids per contact GET (documented maximum); postal-address GETs use the same (unconfirmed there)


class ContactReads:
    """Contacts and their postal addresses as Brightpearl has them now, read in ID-set GETs: every contact the run
    may compare is read together on first use, their addresses likewise. A contact this run wrote to is forgotten
    and read again alone if compared again (never compared with a copy from before its own write). A batch GET
    Brightpearl refuses (e.g. one contact deleted meanwhile) falls back to one GET per id."""

    def __init__(self, bp: ContactApi, contact_ids: Iterable[int] = ()) -> None:
        self.bp = bp
        self._wanted = set(contact_ids)
        self._contacts: dict[int, Mapping[str, Any]] = {}
        self._addresses: dict[int, Mapping[str, Any]] = {}
        self._read: set[int] = set()  # contact ids read (found or not)

    def _get_all(self, path: str, ids: list[int], key: str) -> dict[int, Mapping[str, Any]]:
        found: dict[int, Mapping[str, Any]] = {}
        for start in range(0, len(ids), GET_BATCH):
            chunk = ids[start : start + GET_BATCH]
            try:
                docs = self.bp.get(f"{path}/{to_id_set(chunk)}") or []
            except BrightpearlRequestError:
                if len(chunk) == 1:
                    raise
                docs = []
                for one in chunk:
                    try:
                        docs += self.bp.get(f"{path}/{one}") or []
                    except BrightpearlRequestError:
                        continue  # that one is gone: its caller says so
            for doc in docs if isinstance(docs, list) else []:
                if isinstance(doc, Mapping) and isinstance(doc.get(key), int):
                    found[int(doc[key])] = doc
        return found

    def contact(self, contact_id: int) -> Mapping[str, Any] | None:
        if contact_id not in self._read:
            ids = sorted((self._wanted - self._read) | {contact_id})
            self._contacts.update(self._get_all("contact-service/contact", ids, "contactId"))
            self._read.update(ids)
        return self._contacts.get(contact_id)

    def addresses(self, address_ids: Iterable[int]) -> dict[int, Mapping[str, Any]]:
        wanted = set(address_ids)
        missing = wanted - set(self._addresses)
        if missing:
            # Every address of every contact read so far, in one go: the next contacts' are then at hand too.
            for doc in self._contacts.values():
                ids = (doc.get("postAddressIds") or {}).values()
                missing.update(int(v) for v in ids if isinstance(v, int) and v > 0 and int(v) not in self._addresses)
            self._addresses.update(self._get_all("contact-service/postal-address", sorted(missing), "addressId"))
        return {i: self._addresses[i] for i in wanted if i in self._addresses}

    def forget(self, contact_id: int) -> None:
        """After a write to the contact: read it (and its addresses) again if compared again."""
        doc = self._contacts.pop(contact_id, None)
        self._read.discard(contact_id)
        self._wanted.discard(contact_id)
        for v in ((doc or {}).get("postAddressIds") or {}).values():
            if isinstance(v, int):
                self._addresses.pop(v, None)


def plan_contact_update(
    contact_id: int,
    wanted: Mapping[str, Any],
    policy: str,
    storefront_order_id: int,
    known_company: str,
    stated_at: datetime | None = None,
) -> PlannedPush:
    """`wanted`: firstName, lastName, phone, company ('' = not given: left alone), billing, delivery (postal-address
    bodies or None). `known_company`: the contact's company name as the warehouse (or contact-search) has it, since
    a contact GET may carry only the company id. `stated_at`: when the shopper gave these details (the order's
    creation), the row's `changed_at`: a row whose details a later order superseded is not sent (`Ledger.superseded_by`)."""
    fingerprint = hashlib.sha256(dumps({"policy": policy, **wanted}).encode()).hexdigest()[:16]
    desired = {
        "contact_id": contact_id,
        "policy": policy,
        "wanted": dict(wanted),
        "known_company": known_company,
        "storefront_order_id": storefront_order_id,
    }
    return PlannedPush(
        f"import:contact:{contact_id}:{fingerprint}",
        KIND,
        None,
        storefront_order_id,
        contact_id,
        stated_at,
        desired,
        target="brightpearl",
    )


def _norm(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


def _country(value: Any) -> str:
    """One form for either ISO code ("US", "usa" -> "us"): the alpha-2, lower case; anything else as written."""
    return (countries.iso2(value) or _norm(value)).casefold()


def same_address(current: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    """Lines and postal code compare ignoring case and spacing; the country as the same ISO 3166-1 country whether
    a side gives two letters or three (Brightpearl answers `countryIsoCode` ISO-3 and `countryIsoCode2`; the import
    sends ISO-3, rows planned before it did hold ISO-2). A side without a country does not count as different."""
    if current is None:
        return False
    if any(_norm(current.get(k)) != _norm(wanted.get(k)) for k in ADDRESS_LINES):
        return False
    want = _country(wanted.get("countryIsoCode"))
    have = _country(current.get("countryIsoCode") or current.get("countryIsoCode2"))
    return not want or not have or want == have


def _address_key(address: Mapping[str, Any]) -> str:
    """Which new address a body is (the ids an interrupted attempt created are kept under it in the row's
    `response`). The country enters as its alpha-2, the form it had when the import sent two letters, so a key
    recorded before the import sent ISO-3 still finds its address and none is created twice."""
    return hashlib.sha256(
        dumps(
            {
                **{k: _norm(address.get(k)) for k in ADDRESS_LINES},
                "countryIsoCode": _country(address.get("countryIsoCode")),
            }
        ).encode()
    ).hexdigest()[:12]


def brightpearl_address(address: Any) -> Any:
    """A wanted address as sent: `countryIsoCode` as ISO 3166-1 alpha-3, whatever the row holds (rows planned before
    the import sent ISO-3 hold two letters). A code that is no ISO country raises LookupError (the update is
    dead-lettered, never sent with junk)."""
    if not address:
        return address
    code = address.get("countryIsoCode")
    country = countries.iso3(code)
    if country is None:
        raise LookupError(
            f"the address {address.get('addressLine1')!r} has country code {code!r}, not an ISO 3166-1 code"
        )
    return {**address, "countryIsoCode": country}


def address_writes(
    contact_id: int,
    ids: Mapping[str, int],
    current: Mapping[int, Mapping[str, Any]],
    billing: Any,
    delivery: Any,
    always: bool,
) -> tuple[list[tuple[int, dict[str, Any], str]], list[tuple[dict[str, Any], list[str], str]]]:
    """(in-place corrections [(address id, body, label)], new addresses [(body, roles, label)]).

    An address is corrected in place only when it is the contact's own (not inherited from its organisation's
    primary contact) and every role using it wants the same new address (DEF wants the billing address); otherwise
    the role that changed gets a new address of its own."""
    want: dict[str, Any] = {"DEF": billing, "BIL": billing, "DEL": delivery}
    puts: dict[int, tuple[dict[str, Any], str]] = {}
    news: dict[str, tuple[dict[str, Any], list[str], str]] = {}
    for role, label in (("BIL", "billing address"), ("DEL", "delivery address")):
        target = want[role]
        if not target:
            continue
        address_id = ids.get(role, 0)
        have = current.get(address_id) if address_id else None
        if have is not None and not always and same_address(have, target):
            continue
        users = [r for r in ROLES if address_id and ids.get(r) == address_id]
        own = have is not None and int(have.get("contactId") or contact_id) == contact_id
        if own and all(want[u] and _address_key(want[u]) == _address_key(target) for u in users):
            body, labels = puts.get(address_id, (target, ""))
            puts[address_id] = (body, f"{labels} and {label}" if labels else label)
            continue
        key = _address_key(target)
        body, roles, labels = news.get(key, (target, [], ""))
        # The default address follows the billing address it was shared with.
        moved = [role, "DEF"] if role == "BIL" and address_id and ids.get("DEF") == address_id else [role]
        news[key] = (body, [*roles, *moved], f"{labels} and {label}" if labels else label)
    return [(i, b, lbl) for i, (b, lbl) in puts.items()], list(news.values())


def send_contact_update(bp: ContactApi, ledger: Ledger, row: LedgerRow, reads: ContactReads | None = None) -> list[str]:
    """Apply one `contact_update` row; returns the labels of what was sent (empty: already in step). Raises the
    client's errors (the caller dead-letters a refusal, leaves an unknown outcome open). `reads`: the run's batched
    reads (None: this contact alone)."""
    desired = row.desired
    contact_id = int(desired["contact_id"])
    wanted: dict[str, Any] = desired["wanted"]
    always = desired.get("policy") == "always"
    made: dict[str, Any] = ledger.response_of(row.push_id) or {}  # ids created by an interrupted attempt
    reads = reads if reads is not None else ContactReads(bp)
    doc = reads.contact(contact_id)
    if not doc:
        raise LookupError(f"Brightpearl contact {contact_id} was not found (deleted since?)")
    ids = {r: int(v) for r, v in (doc.get("postAddressIds") or {}).items() if isinstance(v, int) and v > 0}
    current: dict[int, Mapping[str, Any]] = {}
    if ids and (wanted.get("billing") or wanted.get("delivery")):
        current = reads.addresses(ids.values())

    phones = ((doc.get("communication") or {}).get("telephones")) or {}
    have = {"firstName": doc.get("firstName"), "lastName": doc.get("lastName"), "phone": phones.get("PRI")}
    ops = [
        {"op": "replace", "path": PATCH_PATHS[k], "value": wanted[k]}
        for k in PATCH_PATHS
        if wanted.get(k) and (always or _norm(have[k]) != _norm(wanted[k]))
    ]
    sent = [k for k in PATCH_PATHS if wanted.get(k) and (always or _norm(have[k]) != _norm(wanted[k]))]
    company = str(wanted.get("company") or "")
    have_company = str((doc.get("organisation") or {}).get("name") or desired.get("known_company") or "")
    new_company = bool(company) and _norm(company) != _norm(have_company)
    billing, delivery = brightpearl_address(wanted.get("billing")), brightpearl_address(wanted.get("delivery"))
    puts, news = address_writes(contact_id, ids, current, billing, delivery, always)
    if not (ops or new_company or puts or news):
        return []

    ledger.mark_sending(
        row.push_id, {"patch": ops, "company": company if new_company else None, "puts": puts, "new": news}
    )
    reads.forget(contact_id)  # written to from here on: compared again only after a fresh read
    if new_company:
        if "company_id" not in made:
            made["company_id"] = int(bp.post("contact-service/company", {"name": company[:COMPANY_NAME_MAX]}))
            ledger.record_response(row.push_id, made)
        ops.append({"op": "replace", "path": "/companyId", "value": made["company_id"]})
        sent.append("company")
    for address_id, body, label in puts:
        bp.put(f"contact-service/postal-address/{address_id}", body)  # a full replacement: idempotent
        sent.append(label)
    for body, roles, label in news:
        key = _address_key(body)
        made_addresses = made.setdefault("addresses", {})
        if key not in made_addresses:
            made_addresses[key] = int(bp.post("contact-service/postal-address", body))
            ledger.record_response(row.push_id, made)
        bp.put(
            f"contact-service/contact/{contact_id}/postal-address",
            [{"postalAddressId": made_addresses[key], "type": r} for r in roles],
        )
        sent.append(label)
    if ops:
        bp.patch(f"contact-service/contact/{contact_id}", ops, idempotent=True)  # replace ops: harmless twice
    return sent
