"""Storefront orders into Brightpearl, each created once (ledger kind `order_import`, target `brightpearl`).

plan: storefront orders in `import.statuses` the ledger has not seen, read from the warehouse (schema `storefront`,
filled by `storefront_extract`; no API call) -> `import:order:<storefront id>` rows holding the storefront order as
it was (order, lines, shipping addresses), so sending needs no storefront call at all.
send, per open row: an order the warehouse already shows in Brightpearl (a sales order with that `externalRef`) is
confirmed without a call; otherwise look it up in Brightpearl by `externalRef` (another integration, or a run killed
after its POST, may have created it since the last extraction) -> find or create the customer by e-mail (an existing
one is kept in step by `customers.py`, on its own ledger row) -> commit 'sending' -> one
`POST order-service/sales-order`. A row found in 'sending' is confirmed by that same search, never re-sent blindly.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol

from bp_pipelines.lib import countries
from bp_pipelines.lib.bigcommerce.dates import parse_v2_date
from bp_pipelines.lib.brightpearl.errors import BrightpearlError, BrightpearlRequestError

from . import customers
from .ledger import Connect, Ledger, LedgerRow
from .plan import PlannedPush
from .storefront_orders import StorefrontOrder, importable_orders

KIND = "order_import"
MatchOn = Literal["sku", "ean", "upc"]


@dataclass(frozen=True)
class ImportSettings:
    """The `import` section of the sync configuration file (ids already checked against the warehouse)."""

    enabled: bool
    statuses: tuple[int, ...] = (11,)
    channel_id: int | None = None
    warehouse_id: int | None = None
    project_id: int | None = None
    lead_source_id: int | None = None
    match_on: MatchOn = "sku"
    unmatched_sku: Literal["dead_letter", "free_text_row"] = "dead_letter"
    guest_orders: bool = True
    create_customers: bool = True
    # An existing contact whose names, phone, company or addresses differ from the order: if_different (only what
    # differs), always, never (`customers.py`).
    update_customers: Literal["if_different", "always", "never"] = "if_different"
    customer_comment: Literal["order_note", "none"] = "order_note"  # the shopper's comment: a public order note
    staff_notes: Literal["order_note", "none"] = "order_note"  # the storefront's staff notes: a private order note
    delay_minutes: int = 60  # reconciliation: an importable order not in Brightpearl after this long is reported


class BrightpearlApi(Protocol):
    """The Brightpearl calls the import makes (`bp_pipelines.lib.brightpearl.BrightpearlClient`)."""

    def get(self, path: str, params: Any = None) -> Any: ...
    def put(self, path: str, body: Any) -> Any: ...
    def post(self, path: str, body: Any, *, idempotent: bool = False) -> Any: ...
    def patch(self, path: str, body: Any, *, idempotent: bool = False) -> Any: ...
    def search(self, path: str, filters: Any = None, **kwargs: Any) -> Any: ...


class ImportLog(Protocol):
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...


@dataclass
class ImportReport:
    enabled: bool = True
    planned: int = 0
    created: int = 0  # sales orders this run created in Brightpearl
    found: int = 0  # already in Brightpearl (another integration, or an interrupted earlier send): not created
    skipped: int = 0  # guest orders with guest_orders false
    dead_lettered: int = 0  # order imports and contact updates dead-lettered in this run
    still_open: int = 0  # order imports and contact updates left open (outcome unknown) for the next run
    contacts_created: int = 0
    contacts_updated: int = 0
    unmatched_rows: int = 0  # free-text rows added for unmatched SKUs
    notes: list[str] = field(default_factory=list)
    contact_rows_seen: set[str] = field(default_factory=set)  # contact_update rows handled in this run

    @property
    def changed(self) -> bool:
        """Whether the run wrote a ledger row, a dead letter or a contact."""
        counts = (self.planned, self.created, self.found, self.skipped, self.dead_lettered, self.still_open)
        return any(counts) or bool(self.contacts_created or self.contacts_updated or self.contact_rows_seen)

    def metadata(self) -> dict[str, Any]:
        return {
            "import_enabled": self.enabled,
            "planned": self.planned,
            "created": self.created,
            "found_in_brightpearl": self.found,
            "skipped": self.skipped,
            "dead_lettered": self.dead_lettered,
            "still_open": self.still_open,
            "contacts_created": self.contacts_created,
            "contacts_updated": self.contacts_updated,
            "free_text_rows": self.unmatched_rows,
        }


def push_id(storefront_order_id: int) -> str:
    return f"import:order:{int(storefront_order_id)}"


def normal_email(value: Any) -> str:
    """E-mails compare trimmed and case-insensitively."""
    return str(value or "").strip().casefold()


def _key(value: Any) -> str:
    return str(value or "").strip().casefold()


def match_key(value: Any, match_on: MatchOn) -> str:
    """The key a line and a Brightpearl product are matched on. SKUs: trimmed, case-folded. EAN/UPC: the digits
    without leading zeros, so that one barcode matches in any GTIN length (a UPC-A is an EAN-13 with a leading 0, and
    BigCommerce's `gtin` holds up to 14 digits)."""
    if match_on == "sku":
        return _key(value)
    return re.sub(r"\D", "", str(value or "")).lstrip("0")


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return Decimal(0)


# --- plan -----------------------------------------------------------------------------------------------------------


def plan_imports(
    connect: Connect,
    settings: ImportSettings,
    *,
    modified_from: datetime | None = None,
    modified_to: datetime | None = None,
    changed_since_planned: bool = False,
) -> list[PlannedPush]:
    """SQL over the extracted storefront orders, anti-joined with the ledger: only orders not seen before.
    `changed_since_planned`: the orders of unsent rows that the storefront changed after planning them instead (a
    dead letter's cause corrected on the storefront, then re-driven, is sent as corrected)."""
    with connect() as conn:
        found = importable_orders(
            conn,
            settings.statuses,
            modified_from=modified_from,
            modified_to=modified_to,
            changed_since_planned=changed_since_planned,
        )
    planned = []
    for changed, sf in found:
        desired = {"order": sf.order, "products": sf.products, "shipping_addresses": sf.shipping_addresses}
        planned.append(PlannedPush(push_id(sf.id), KIND, None, sf.id, None, changed, desired, target="brightpearl"))
    return planned


# --- reference data from the warehouse -------------------------------------------------------------------------------


@dataclass
class Lookups:
    products: dict[str, int]  # match key (sku/ean/upc, trimmed, case-folded) -> product_id
    ambiguous: set[str]  # keys held by several live products: never guessed
    shipping_methods: dict[str, int]  # name (case-folded) -> shipping_method_id
    contacts: dict[str, int]  # e-mail (trimmed, case-folded) -> contact_id, the lowest id when several
    contact_companies: dict[int, str]  # contact_id -> company name as extracted (a contact GET may carry only its id)
    # storefront order id -> the Brightpearl sales order whose externalRef it is, as last extracted
    bp_orders: dict[int, int] = field(default_factory=dict)
    contact_reads: customers.ContactReads | None = None  # the run's batched contact reads (set when sending)

    @classmethod
    def load(cls, connect: Connect, match_on: MatchOn, storefront_order_ids: list[int] | None = None) -> Lookups:
        column = {"sku": "sku", "ean": "ean", "upc": "upc"}[match_on]
        with connect() as conn:
            products: dict[str, int] = {}
            ambiguous: set[str] = set()
            for value, product_id in conn.execute(
                f"SELECT {column}, product_id FROM brightpearl.products "
                f"WHERE NOT coalesce(is_deleted, false) AND nullif(trim({column}), '') IS NOT NULL ORDER BY product_id"
            ).fetchall():
                key = match_key(value, match_on)
                if not key:
                    continue
                if key in products:
                    ambiguous.add(key)
                products.setdefault(key, int(product_id))
            methods = {
                _key(name): int(i)
                for i, name in conn.execute(
                    "SELECT shipping_method_id, name FROM brightpearl.shipping_methods "
                    "WHERE NOT coalesce(is_deleted, false)"
                ).fetchall()
            }
            contacts: dict[str, int] = {}
            companies: dict[int, str] = {}
            for email, contact_id, company in conn.execute(
                "SELECT lower(trim(email)), contact_id, company_name FROM brightpearl.contacts "
                "WHERE NOT coalesce(is_deleted, false) AND nullif(trim(email), '') IS NOT NULL ORDER BY contact_id"
            ).fetchall():
                contacts.setdefault(email, int(contact_id))
                companies[int(contact_id)] = company or ""
            bp_orders = {
                int(ref): int(order_id)
                for ref, order_id in conn.execute(
                    "SELECT TRY_CAST(trim(external_ref) AS BIGINT) AS ref, min(order_id) FROM brightpearl.orders "
                    "WHERE order_type_code = 'SO' AND NOT coalesce(is_deleted, false) "
                    "AND TRY_CAST(trim(external_ref) AS BIGINT) IN (SELECT unnest(?)) GROUP BY ref",
                    [storefront_order_ids or []],
                ).fetchall()
            }
        return cls(products, ambiguous, methods, contacts, companies, bp_orders)


# --- send -----------------------------------------------------------------------------------------------------------


def run_import(
    connect: Connect,
    open_brightpearl: Callable[[], contextlib.AbstractContextManager[BrightpearlApi]],
    settings: ImportSettings,
    log: ImportLog,
    *,
    run_id: str | None = None,
    modified_from: datetime | None = None,
    modified_to: datetime | None = None,
    only_push_ids: list[str] | None = None,
) -> ImportReport:
    """Plan extracted storefront orders into the ledger, then create every open `order_import` row in Brightpearl."""
    report = ImportReport()
    ledger = Ledger(connect, run_id)
    # Read by the reconciliation mart storefront_orders_not_imported (empty while the import is off).
    ledger.set_state("import.enabled", "true" if settings.enabled else "false")
    if not settings.enabled:
        report.enabled = False
        report.notes.append("no import section in the sync configuration file: nothing imported")
        return report
    ledger.set_state("import.delay_minutes", str(settings.delay_minutes))
    ledger.set_state("import.statuses", json.dumps(list(settings.statuses)))
    if only_push_ids is None:
        planned = plan_imports(connect, settings, modified_from=modified_from, modified_to=modified_to)
        report.planned = ledger.record_plan(planned)
    ledger.refresh_planned(plan_imports(connect, settings, changed_since_planned=True))
    rows = ledger.open_rows(KIND, only_push_ids)
    # Contact updates re-driven, or left open by an interrupted run, are sent on their own too.
    contact_rows = ledger.open_rows(customers.KIND) if only_push_ids is None else []
    if not rows and not contact_rows:
        return report
    lookups = Lookups.load(connect, settings.match_on, [int(r.storefront_order_id or 0) for r in rows])
    with open_brightpearl() as bp:
        # Existing customers this run may compare, read together (ID-set GETs) on first use.
        lookups.contact_reads = customers.ContactReads(bp, _contacts_to_compare(rows, contact_rows, settings, lookups))
        for row in rows:
            _import_one(bp, ledger, row, settings, lookups, report, log)
        for row in contact_rows:
            if row.push_id not in report.contact_rows_seen:  # not already sent with an order of this run
                apply_contact_update(bp, ledger, row, report, log, lookups.contact_reads)
    return report


def _contacts_to_compare(
    rows: list[LedgerRow], contact_rows: list[LedgerRow], settings: ImportSettings, lookups: Lookups
) -> set[int]:
    """The warehouse's contacts for the open orders' e-mails, and the open contact updates' contacts."""
    ids = {int(r.desired["contact_id"]) for r in contact_rows if r.desired.get("contact_id") is not None}
    if settings.update_customers != "never":
        for row in rows:
            email = normal_email(((row.desired.get("order") or {}).get("billing_address") or {}).get("email"))
            if email in lookups.contacts:
                ids.add(lookups.contacts[email])
    return ids


def find_by_external_ref(bp: BrightpearlApi, storefront_order_id: int) -> int | None:
    """The Brightpearl sales order whose `externalRef` is this storefront order id (one search call)."""
    for page in bp.search(
        "order-service/order-search",
        {"externalRef": str(storefront_order_id), "orderTypeId": "1"},
        columns=["orderId", "externalRef"],
    ):
        for r in page.rows:
            if str(r.get("externalRef") or "").strip() == str(storefront_order_id):
                return int(r["orderId"])
    return None


def _import_one(
    bp: BrightpearlApi,
    ledger: Ledger,
    row: LedgerRow,
    settings: ImportSettings,
    lookups: Lookups,
    report: ImportReport,
    log: ImportLog,
) -> None:
    sf = StorefrontOrder(
        row.desired.get("order") or {}, row.desired.get("products") or [], row.desired.get("shipping_addresses") or []
    )
    sf_id = int(row.storefront_order_id or sf.id)
    if not settings.guest_orders and not int(sf.order.get("customer_id") or 0):
        ledger.finish(row.push_id, "skipped", note="guest order and import.guest_orders is false: not imported")
        report.skipped += 1
        return
    # Before any write: is it there already? (another integration, or an earlier run killed after its POST). The
    # warehouse answers for orders extracted since; else one search, always made before a create.
    existing = lookups.bp_orders.get(sf_id)
    if existing is None:
        existing = find_by_external_ref(bp, sf_id)
    if existing is not None:
        note = (
            "found in Brightpearl after an interrupted send; not created again (a comment or staff notes of the order may "
            "be missing: check the order)"
            if row.state == "sending"
            else f"already in Brightpearl (order {existing} has externalRef {sf_id}); not created"
        )
        ledger.finish(row.push_id, "confirmed", response={"order_id": existing}, bp_order_id=existing, note=note)
        report.found += 1
        return
    rows, problem, notes = order_rows(sf, settings, lookups)
    # Every problem of the order in one reason, so one fix-and-re-drive round clears them all.
    problem = "; also ".join(p for p in (address_problem(sf), problem) if p) or None
    if problem is not None:
        ledger.dead_letter(row, problem)
        report.dead_lettered += 1
        return
    try:
        contact_id, contact_note = customer_for(bp, ledger, sf, settings, lookups, report, log)
    except BrightpearlRequestError as exc:
        ledger.dead_letter(
            row, f"Brightpearl refused the customer of storefront order {sf_id}: {exc}", status=exc.status
        )
        report.dead_lettered += 1
        return
    if contact_id is None:
        ledger.dead_letter(row, contact_note or f"storefront order {sf_id}: no customer")
        report.dead_lettered += 1
        return
    if contact_note:
        notes.append(contact_note)
    report.unmatched_rows += sum(1 for r in rows if "productId" not in r and "externalRef" in r)
    body = sales_order_body(sf, settings, lookups, contact_id, rows)
    ledger.mark_sending(row.push_id, body)
    try:
        created = bp.post("order-service/sales-order", body)
    except BrightpearlRequestError as exc:  # 4xx: the order itself is wrong; nothing was created
        ledger.dead_letter(
            row, f"Brightpearl refused storefront order {sf_id}: {exc}", status=exc.status, response=str(exc)
        )
        report.dead_lettered += 1
        return
    except BrightpearlError as exc:  # timeout, 5xx, dropped connection: it may have landed
        found = find_by_external_ref(bp, sf_id)
        if found is None:
            ledger.note(row.push_id, f"create outcome unknown ({type(exc).__name__}); searched again next run")
            report.still_open += 1
            log.warning(f"{row.push_id}: {exc}; not in Brightpearl yet, searched again before any re-send")
            return
        created = found
        notes.append("found in Brightpearl after an ambiguous create; not created again")
        report.found += 1
    else:
        report.created += 1
        notes += write_order_notes(bp, int(created), sf, settings, log)
    order_id = int(created)
    ledger.finish(
        row.push_id,
        "confirmed",
        response={"order_id": order_id, "contact_id": contact_id},
        storefront_ref=str(sf_id),
        bp_order_id=order_id,
        note="; ".join(notes) or None,
    )


def write_order_notes(
    bp: BrightpearlApi, order_id: int, sf: StorefrontOrder, settings: ImportSettings, log: ImportLog
) -> list[str]:
    """The shopper's comment (public) and the staff notes (private) as order notes (`POST order-service/order/{id}/
    note`). Written right after the create: a run killed in between confirms the order by externalRef without them,
    and says so in the ledger row's note. A refused note is noted, never blocking the order."""
    out: list[str] = []
    for setting, key, label, public in (
        (settings.customer_comment, "customer_message", "customer comment", True),
        (settings.staff_notes, "staff_notes", "staff notes", False),
    ):
        text = str(sf.order.get(key) or "").strip()
        if setting != "order_note" or not text:
            continue
        try:
            bp.post(
                f"order-service/order/{order_id}/note",
                {"text": f"Storefront order {sf.id} {label}: {text}", "isPublic": public},
            )
            out.append(f"{label} written as an order note")
        except BrightpearlError as exc:
            out.append(f"{label} NOT written ({exc}); copy it from the ledger row's desired.order.{key}")
            log.warning(f"storefront order {sf.id}: {label} not written to Brightpearl order {order_id}: {exc}")
    return out


def order_rows(
    sf: StorefrontOrder, settings: ImportSettings, lookups: Lookups
) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    """(Brightpearl rows, dead-letter reason, notes): lines matched by `match_on`, at the storefront's prices and
    tax, plus the shipping charge as a row."""
    rows: list[dict[str, Any]] = []
    unmatched: list[str] = []
    notes: list[str] = []
    for line in sf.products:
        raw = line.get(settings.match_on)
        key = match_key(raw, settings.match_on)
        qty = int(line.get("quantity") or 0)
        net, tax = _money(line.get("total_ex_tax")), _money(line.get("total_tax"))
        base = {"quantity": qty, "net": str(net), "tax": str(tax), "externalRef": str(line.get("id") or "")}
        if line.get("type") == "giftcertificate":
            # A gift certificate is no catalog product (BigCommerce sells it outside the catalog): it never matches
            # a Brightpearl product, so it is always a named row, whatever `unmatched_sku` says.
            rows.append({"name": f"Gift certificate: {line.get('name') or ''}"[:250], **base})
            notes.append(f"gift certificate line {line.get('id')} as a named row")
            continue
        if key and key in lookups.products and key not in lookups.ambiguous:
            rows.append({"productId": lookups.products[key], **base})
            continue
        label = f"{settings.match_on.upper()} {raw!r}" + (
            " (several Brightpearl products have it)" if key in lookups.ambiguous else ""
        )
        unmatched.append(f"{label} ({line.get('name')!r}, storefront line {line.get('id')})")
        rows.append({"name": f"{line.get('name') or ''} [{settings.match_on.upper()} {raw or '-'}]"[:250], **base})
    if unmatched and settings.unmatched_sku == "dead_letter":
        return (
            [],
            (
                f"storefront order {sf.id}: no Brightpearl product for "
                + "; ".join(unmatched)
                + f" (matched on {settings.match_on}); add or fix the product in Brightpearl, let the products sync,"
                " then re-drive (or set import.unmatched_sku: free_text_row)"
            ),
            notes,
        )
    if unmatched:
        notes.append(f"{len(unmatched)} free-text row(s) for unmatched " + "; ".join(unmatched))
    ship_net = _money(sf.order.get("shipping_cost_ex_tax"))
    ship_tax = _money(sf.order.get("shipping_cost_tax"))
    if ship_net or ship_tax:
        method = _shipping_method_name(sf)
        rows.append(
            {
                "name": f"Shipping: {method or 'storefront shipping'}",
                "quantity": 1,
                "net": str(ship_net),
                "tax": str(ship_tax),
            }
        )
    return rows, None, notes


def _shipping_method_name(sf: StorefrontOrder) -> str:
    return str((sf.shipping_addresses[0] if sf.shipping_addresses else {}).get("shipping_method") or "").strip()


def _has_lines(a: dict[str, Any]) -> bool:
    return bool(a) and bool(str(a.get("street_1") or "").strip())


def _address(a: dict[str, Any]) -> dict[str, Any] | None:
    """A storefront address as a Brightpearl postal address (postal-address POST, sales-order address); None when it
    has no street line (nothing is sent). The country goes as its ISO 3166-1 alpha-3 code, the documented form of
    `countryIsoCode`; an address without a valid code never gets here (`address_problem` dead-letters it first)."""
    if not _has_lines(a):
        return None
    country = countries.iso3(a.get("country_iso2"))
    if country is None:  # a caller skipped address_problem: never send junk
        raise ValueError(f"address country {a.get('country_iso2')!r} is not an ISO 3166-1 code")
    return {
        "addressLine1": a.get("street_1") or "",
        "addressLine2": a.get("street_2") or "",
        "addressLine3": a.get("city") or "",
        "addressLine4": a.get("state") or "",
        "postalCode": a.get("zip") or "",
        "countryIsoCode": country,
    }


def address_problem(sf: StorefrontOrder) -> str | None:
    """The dead-letter reason when an address the import sends (billing; the first shipping address, as delivery)
    has no ISO 3166-1 country code: Brightpearl needs a country on every postal address, and a code it does not know
    would be refused or, worse, read as another country. Empty counts as bad too: guessing a country for a shopper's
    address would ship to the wrong one."""
    bad: list[str] = []
    for label, a in (
        ("billing", sf.order.get("billing_address") or {}),
        ("shipping", sf.shipping_addresses[0] if sf.shipping_addresses else {}),
    ):
        if not _has_lines(a) or countries.iso3(a.get("country_iso2")) is not None:
            continue
        code = str(a.get("country_iso2") or "").strip()
        name = str(a.get("country") or "").strip()
        named = f" (country {name!r})" if name else ""
        bad.append(
            f"the {label} address's country code {code!r}{named} is not an ISO 3166-1 code"
            if code
            else f"the {label} address has no country code{named}"
        )
    if not bad:
        return None
    return (
        f"storefront order {sf.id}: {' and '.join(bad)}; correct the address's country on the storefront order, "
        "then run storefront_redrive"
    )


def sales_order_body(
    sf: StorefrontOrder, settings: ImportSettings, lookups: Lookups, contact_id: int, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    placed = parse_v2_date(sf.order.get("date_created"))
    delivery: dict[str, Any] = {}
    method_id = lookups.shipping_methods.get(_key(_shipping_method_name(sf)))
    if method_id is not None:
        delivery["shippingMethodId"] = method_id
    ship_to = _address(sf.shipping_addresses[0]) if sf.shipping_addresses else None
    if ship_to is not None:
        delivery["address"] = ship_to
    body: dict[str, Any] = {
        "customer": {"id": contact_id},
        "ref": f"#{sf.id}",
        "externalRef": str(sf.id),
        "channelId": settings.channel_id,
        "warehouseId": settings.warehouse_id,
        "currency": {"code": sf.order.get("currency_code") or "USD"},
        "rows": rows,
    }
    if placed is not None:
        body["placedOn"] = placed.isoformat()
    billing = _address(sf.order.get("billing_address") or {})
    if billing is not None:
        body["billing"] = {"contactId": contact_id, "address": billing}
    if delivery:
        body["delivery"] = delivery
    if settings.project_id is not None:
        body["projectId"] = settings.project_id
    if settings.lead_source_id is not None:
        body["leadSourceId"] = settings.lead_source_id
    return body


# --- customers by e-mail --------------------------------------------------------------------------------------------


def find_contact(bp: BrightpearlApi, email: str, lookups: Lookups) -> int | None:
    """The contact with this e-mail: the warehouse copy first (free, case-insensitive), then one contact-search
    (a contact created since the last extraction, e.g. by an earlier import)."""
    if email in lookups.contacts:
        return lookups.contacts[email]
    for page in bp.search(
        "contact-service/contact-search",
        {"primaryEmail": email},
        columns=["contactId", "primaryEmail", "companyName"],
    ):
        for r in page.rows:
            if normal_email(r.get("primaryEmail")) == email:
                contact_id = int(r["contactId"])
                lookups.contacts[email] = contact_id
                lookups.contact_companies[contact_id] = str(r.get("companyName") or "")
                return contact_id
    return None


def wanted_contact(sf: StorefrontOrder) -> dict[str, Any]:
    """What the order says about its shopper, as Brightpearl fields ('' / None: not given, left alone)."""
    billing = sf.order.get("billing_address") or {}
    return {
        "firstName": str(billing.get("first_name") or "").strip()[:32],
        "lastName": str(billing.get("last_name") or "").strip()[:32],
        "phone": str(billing.get("phone") or "").strip(),
        "company": str(billing.get("company") or "").strip(),
        "billing": _address(billing),
        "delivery": _address(sf.shipping_addresses[0]) if sf.shipping_addresses else None,
    }


def apply_contact_update(
    bp: BrightpearlApi,
    ledger: Ledger,
    row: LedgerRow,
    report: ImportReport,
    log: ImportLog,
    reads: customers.ContactReads | None = None,
) -> str | None:
    """Send one `contact_update` row (`customers.py`); the note for the order's ledger row. A refusal dead-letters
    the update only: the order goes on with the contact as Brightpearl has it."""
    report.contact_rows_seen.add(row.push_id)
    contact_id = row.desired.get("contact_id")
    later = ledger.superseded_by(row.push_id)
    if later is not None:
        note = f"superseded: the later details of storefront order {later[1]} were applied ({later[0]})"
        ledger.finish(row.push_id, "skipped", note=note)
        log.info(f"{row.push_id}: {note}; not sent")
        return f"Brightpearl contact {contact_id} not updated: {note}"
    try:
        sent = customers.send_contact_update(bp, ledger, row, reads)
    except (BrightpearlRequestError, LookupError) as exc:
        ledger.dead_letter(
            row,
            f"Brightpearl contact {contact_id} not updated from storefront order {row.storefront_order_id}: {exc}; "
            "correct the contact or the order, then re-drive",
            status=getattr(exc, "status", None),
        )
        report.dead_lettered += 1
        return f"Brightpearl contact {contact_id} NOT updated (dead letter {row.push_id})"
    except BrightpearlError as exc:  # timeout, 5xx: compared with Brightpearl again on the next run
        ledger.note(row.push_id, f"update outcome unknown ({type(exc).__name__}); compared again next run")
        report.still_open += 1
        log.warning(f"{row.push_id}: {exc}; compared with Brightpearl again next run")
        return f"Brightpearl contact {contact_id} update outcome unknown; compared again next run"
    if not sent:
        ledger.finish(row.push_id, "confirmed", note="already in step")
        return None
    ledger.finish(row.push_id, "confirmed", note=f"updated {', '.join(sent)}")
    report.contacts_updated += 1
    return f"updated Brightpearl contact {contact_id}: {', '.join(sent)}"


def _created(sf: StorefrontOrder) -> datetime | None:
    """When the shopper placed the order (V2 RFC-2822 `date_created`); None when it cannot be read."""
    try:
        return parse_v2_date(sf.order.get("date_created"))
    except (AttributeError, TypeError, ValueError):
        return None


def customer_for(
    bp: BrightpearlApi,
    ledger: Ledger,
    sf: StorefrontOrder,
    settings: ImportSettings,
    lookups: Lookups,
    report: ImportReport,
    log: ImportLog,
) -> tuple[int | None, str | None]:
    """(contact id, note or dead-letter reason). Creates the contact (address first) when none has the e-mail."""
    billing = sf.order.get("billing_address") or {}
    email = normal_email(billing.get("email"))
    if not email or "@" not in email:
        return None, (
            f"storefront order {sf.id} has no valid billing e-mail ({billing.get('email')!r}); correct it on the "
            "storefront, then re-drive"
        )
    contact_id = find_contact(bp, email, lookups)
    if contact_id is not None:
        if settings.update_customers == "never":
            return contact_id, None
        # The same details of the same contact are one ledger row: applied once, whichever order carries them.
        planned = customers.plan_contact_update(
            contact_id,
            wanted_contact(sf),
            settings.update_customers,
            sf.id,
            lookups.contact_companies.get(contact_id, ""),
            stated_at=_created(sf),
        )
        ledger.record_plan([planned])
        open_rows = ledger.open_rows(customers.KIND, [planned.push_id])
        if not open_rows:
            return contact_id, None
        return contact_id, apply_contact_update(bp, ledger, open_rows[0], report, log, lookups.contact_reads)
    if not settings.create_customers:
        return None, (
            f"storefront order {sf.id}: no Brightpearl contact has the e-mail {email} and import.customers.create "
            "is false; create the contact in Brightpearl, then re-drive"
        )
    address = _address(billing)
    body: dict[str, Any] = {
        "firstName": str(billing.get("first_name") or "")[:32],
        "lastName": str(billing.get("last_name") or "")[:32],
        "communication": {"emails": {"PRI": {"email": email}}},
        "relationshipToAccount": {"isSupplier": False, "isStaff": False},
    }
    if str(billing.get("company") or "").strip():
        body["organisation"] = {"name": str(billing["company"]).strip()}
    if str(billing.get("phone") or "").strip():
        body["communication"]["telephones"] = {"PRI": str(billing["phone"]).strip()}
    if address is not None:
        address_id = int(bp.post("contact-service/postal-address", address))
        body["postAddressIds"] = {"DEF": address_id, "BIL": address_id, "DEL": address_id}
    contact_id = int(bp.post("contact-service/contact", body))
    lookups.contacts[email] = contact_id  # a second order of the same shopper in this run reuses it
    report.contacts_created += 1
    return contact_id, f"created Brightpearl contact {contact_id} for {email}"
