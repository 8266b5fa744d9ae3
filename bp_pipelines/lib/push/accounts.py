"""B2B storefront accounts ("instant accounts"): Brightpearl trade customers -> BigCommerce customers, by e-mail.

plan (SQL over `brightpearl.contacts`): every credit customer (credit limit or payment terms; with
`accounts.who: {tag: ...}`, every contact carrying that tag in `tag_ids` instead) with a valid e-mail -> one ledger
row `account:<contact_id>:<fingerprint of what the storefront should hold>` (kind `account`), so an unchanged
contact plans nothing and an ERP change plans exactly one new row.
send: the open rows' e-mails are looked up with `GET /v3/customers?email:in=` (50 a call); absent -> created
(`POST /v3/customers`, 10 a call, the documented maximum; no password: the shopper sets one at first login),
present and different -> updated (`PUT /v3/customers`, 10 a call), present and equal -> confirmed. Only customers
found by an ERP contact's e-mail are ever written: a storefront account no ERP contact has is never touched.
Creating is idempotent through the e-mail lookup (the storefront refuses a second account with the same e-mail),
so a row left in 'sending' by a crash is simply looked up again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bp_pipelines.lib.bigcommerce.errors import BigCommerceAmbiguousWrite, BigCommerceValidationError

from .ledger import Connect, Ledger, LedgerRow
from .plan import PlannedPush, dumps

KIND = "account"
WRITE_BATCH = 10  # POST/PUT /v3/customers: at most 10 customers per call (bigcommerce-api.md §6)
LOOKUP_BATCH = 50  # e-mails per `email:in` GET (keeps the URL short; one page of up to 250 answers)
FIELDS = ("email", "first_name", "last_name", "company", "phone", "customer_group_id")

# A plain, storefront-acceptable address: something@domain.tld, no spaces.
VALID_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@dataclass(frozen=True)
class AccountSettings:
    enabled: bool
    price_list_groups: Mapping[int, int] = field(default_factory=dict)  # Brightpearl price list -> customer group
    # accounts.who: None = credit customers (credit limit or payment terms); a tag id = contacts carrying that tag.
    tag_id: int | None = None


class CustomerApi(Protocol):
    def paginate(self, path: str, params: Any = None, *, limit: int | None = None) -> Iterator[dict[str, Any]]: ...
    def post(self, path: str, json: Any) -> Any: ...
    def put(self, path: str, json: Any) -> Any: ...


@dataclass
class AccountReport:
    enabled: bool = True
    planned: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # the storefront account already matched the ERP
    dead_lettered: int = 0
    still_open: int = 0
    calls: int = 0
    untagged: int = 0  # with a tag audience: contacts whose tags were never read (stored before tags were extracted)

    @property
    def changed(self) -> bool:
        """Whether the run wrote a ledger row or a dead letter (every open row it handled lands in one count)."""
        return any((self.planned, self.created, self.updated, self.unchanged, self.dead_lettered, self.still_open))

    def metadata(self) -> dict[str, Any]:
        return {
            "accounts_enabled": self.enabled,
            "planned": self.planned,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "dead_lettered": self.dead_lettered,
            "still_open": self.still_open,
            "storefront_calls": self.calls,
            "contacts_without_tags_read": self.untagged,
        }


# The audience, `?` = the tag id of `accounts.who: {tag: ...}` or NULL for credit customers. The reconciliation mart
# storefront_accounts_out_of_step applies the same rule (it reads the tag id from push.state 'accounts.tag_id').
AUDIENCE_SQL = f"""
    NOT coalesce(is_deleted, false) AND NOT coalesce(is_supplier, false) AND NOT coalesce(is_staff, false)
      AND CASE WHEN ?::BIGINT IS NULL THEN coalesce(credit_limit, 0) > 0 OR coalesce(credit_term_days, 0) > 0
               ELSE coalesce(list_contains(tag_ids, ?::BIGINT), false) END
      AND regexp_matches(trim(email), '{VALID_EMAIL}')
"""

PLAN_SQL = f"""
    SELECT contact_id, lower(trim(email)), coalesce(first_name, ''), coalesce(last_name, ''),
           coalesce(company_name, ''), coalesce(nullif(trim(telephone), ''), trim(mobile), ''), price_list_id,
           updated_on
    FROM brightpearl.contacts
    WHERE {AUDIENCE_SQL}
    ORDER BY contact_id
"""

# Contacts stored before contact tags were extracted (tag_ids NULL) cannot be judged by a tag.
UNTAGGED_SQL = """
    SELECT count(*) FROM brightpearl.contacts
    WHERE tag_ids IS NULL AND NOT coalesce(is_deleted, false) AND NOT coalesce(is_supplier, false)
      AND NOT coalesce(is_staff, false)
"""


def desired_customer(row: tuple[Any, ...], settings: AccountSettings) -> dict[str, Any]:
    _, email, first, last, company, phone, price_list, _ = row
    # The storefront requires both names; a company-only contact is named after the company.
    first = (first or company or email.split("@")[0])[:100]
    last = (last or company or "-")[:100]
    out: dict[str, Any] = {
        "email": email,
        "first_name": first,
        "last_name": last,
        "company": company[:255],
        "phone": phone[:50],
    }
    group = settings.price_list_groups.get(int(price_list)) if price_list is not None else None
    if group is not None:
        out["customer_group_id"] = int(group)
    return out


def plan_accounts(connect: Connect, settings: AccountSettings) -> list[PlannedPush]:
    with connect() as conn:
        rows = conn.execute(PLAN_SQL, [settings.tag_id, settings.tag_id]).fetchall()
    planned = []
    for row in rows:
        desired = desired_customer(row, settings)
        fingerprint = hashlib.sha256(dumps(desired).encode()).hexdigest()[:16]
        planned.append(PlannedPush(f"account:{row[0]}:{fingerprint}", KIND, None, None, int(row[0]), row[7], desired))
    return planned


def _differs(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in desired.items()
        if k != "email" and str(current.get(k) if current.get(k) is not None else "") != str(v)
    }


def run_accounts(
    connect: Connect,
    open_client: Callable[[], contextlib.AbstractContextManager[CustomerApi]],
    settings: AccountSettings,
    *,
    run_id: str | None = None,
) -> AccountReport:
    report = AccountReport()
    ledger = Ledger(connect, run_id)
    ledger.set_state("accounts.enabled", "true" if settings.enabled else "false")  # read by the reconciliation mart
    if not settings.enabled:
        report.enabled = False
        return report
    ledger.set_state("accounts.tag_id", "" if settings.tag_id is None else str(settings.tag_id))
    if settings.tag_id is not None:
        with connect() as conn:
            (report.untagged,) = conn.execute(UNTAGGED_SQL).fetchone()  # type: ignore[misc]
    report.planned = ledger.record_plan(plan_accounts(connect, settings))
    rows = ledger.open_rows(KIND)
    if not rows:
        return report
    # Several open rows of one contact (changed twice before a push): only the latest counts.
    latest: dict[int, LedgerRow] = {}
    for row in rows:
        earlier = latest.get(_source(row))
        if earlier is not None:
            ledger.finish(earlier.push_id, "skipped", note=f"superseded by {row.push_id}")
        latest[_source(row)] = row
    todo = list(latest.values())
    with open_client() as client:
        existing = _lookup(client, [r.desired["email"] for r in todo], report)
        creates: list[LedgerRow] = []
        updates: list[tuple[LedgerRow, dict[str, Any]]] = []
        for row in todo:
            current = existing.get(row.desired["email"])
            if current is None:
                creates.append(row)
                continue
            changes = _differs(current, row.desired)
            if not changes:
                ledger.finish(row.push_id, "confirmed", storefront_ref=str(current["id"]), note="already in step")
                report.unchanged += 1
            else:
                updates.append((row, {"id": int(current["id"]), **changes}))
        for i in range(0, len(creates), WRITE_BATCH):
            _create(client, ledger, creates[i : i + WRITE_BATCH], report)
        for i in range(0, len(updates), WRITE_BATCH):
            _update(client, ledger, updates[i : i + WRITE_BATCH], report)
    return report


def _source(row: LedgerRow) -> int:
    return int(row.push_id.split(":")[1])


def _lookup(client: CustomerApi, emails: list[str], report: AccountReport) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    unique = sorted(set(emails))
    for i in range(0, len(unique), LOOKUP_BATCH):
        report.calls += 1
        for customer in client.paginate("v3/customers", {"email:in": ",".join(unique[i : i + LOOKUP_BATCH])}):
            found[str(customer.get("email") or "").strip().casefold()] = customer
    return found


def _create_body(row: LedgerRow) -> dict[str, Any]:
    # No password: the shopper sets one at first login ("reset password" on the storefront's login page).
    return {**row.desired, "authentication": {"force_password_reset": True}}


def _create(client: CustomerApi, ledger: Ledger, batch: list[LedgerRow], report: AccountReport) -> None:
    for row in batch:
        ledger.mark_sending(row.push_id, _create_body(row))
    try:
        report.calls += 1
        answer = client.post("v3/customers", [_create_body(r) for r in batch])
    except BigCommerceValidationError as exc:
        if len(batch) > 1:  # batches are all or nothing: find the bad one(s) item by item
            for row in batch:
                _create(client, ledger, [row], report)
            return
        ledger.dead_letter(
            batch[0],
            f"storefront refused account {batch[0].desired['email']}: {exc}",
            status=exc.status,
            response=exc.body,
        )
        report.dead_lettered += 1
        return
    except BigCommerceAmbiguousWrite:
        # May have landed: look the e-mails up; the ones found are confirmed, the rest stay 'sending' for next run.
        answer = {"data": list(_lookup(client, [r.desired["email"] for r in batch], report).values())}
    created = {str(c.get("email") or "").strip().casefold(): c for c in (answer or {}).get("data") or []}
    for row in batch:
        customer = created.get(row.desired["email"])
        if customer is None:
            ledger.note(row.push_id, "create outcome unknown; looked up by e-mail next run")
            report.still_open += 1
            continue
        ledger.finish(row.push_id, "confirmed", response={"id": customer.get("id")}, storefront_ref=str(customer["id"]))
        report.created += 1


def _update(
    client: CustomerApi, ledger: Ledger, batch: list[tuple[LedgerRow, dict[str, Any]]], report: AccountReport
) -> None:
    for row, body in batch:
        ledger.mark_sending(row.push_id, body)
    try:
        report.calls += 1
        client.put("v3/customers", [body for _, body in batch])  # PUT is idempotent: the client retries it
    except BigCommerceValidationError as exc:
        if len(batch) > 1:
            for item in batch:
                _update(client, ledger, [item], report)
            return
        row, body = batch[0]
        ledger.dead_letter(
            row,
            f"storefront refused the update of account {row.desired['email']} ({body['id']}): {exc}",
            status=exc.status,
            response=exc.body,
        )
        report.dead_lettered += 1
        return
    for row, body in batch:
        changed = ", ".join(sorted(k for k in body if k != "id"))
        ledger.finish(
            row.push_id, "confirmed", response=body, storefront_ref=str(body["id"]), note=f"updated {changed}"
        )
        report.updated += 1
