"""Contacts (staff, suppliers, B2B companies, B2C customers), postal addresses and storefront customers."""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass

from . import vocab
from .fastrand import pick, ri, rr
from .reference import RETAIL_PRICE_LIST, WHOLESALE_PRICE_LIST
from .timeutil import DAY_MS, HISTORY_START_MS, MINUTE_MS, past

FIRST_CONTACT_ID = 200
STAFF_COUNT = 5
FIRST_ORG_ID = 5000

Address = tuple[str, str, str, str, str, str]  # line1, line2, city, region, postal code, ISO2


@dataclass(slots=True)
class NewContact:
    id: int
    kind: str  # staff | supplier | b2b | b2c
    first: str
    last: str
    company: str
    email: str | None
    created_ms: int


def random_address(rng: random.Random) -> Address:
    line2 = pick(rng, ("", "", "", "Apt 4B", "Suite 210", "Unit 7", "Floor 3"))
    if rng.random() < 0.9:
        city, state, zip3 = pick(rng, vocab.US_CITIES)
        return (
            f"{ri(rng, 1, 9899)} {pick(rng, vocab.STREETS)}",
            line2,
            city,
            state,
            f"{zip3}{ri(rng, 0, 99):02d}",
            "US",
        )
    city, region, postal, iso = pick(rng, vocab.FOREIGN_ADDRESSES)
    return (f"{ri(rng, 1, 250)} {pick(rng, vocab.STREETS)}", line2, city, region, postal, iso)


def address_json(addr: Address, full_name: str, company: str, email: str | None, phone: str) -> str:
    """Snapshot stored in postal_addresses: Brightpearl address lines plus the party fields of the time."""
    line1, line2, city, region, postal, iso = addr
    return json.dumps(
        {
            "addressLine1": line1,
            "addressLine2": line2,
            "addressLine3": city,
            "addressLine4": region,
            "postalCode": postal,
            "countryIsoCode": iso,
            "addressFullName": full_name,
            "companyName": company,
            "email": email or "",
            "telephone": phone,
        },
        ensure_ascii=False,
    )


def make_phone(rng: random.Random) -> str:
    return f"+1 {ri(rng, 201, 989)} {ri(rng, 200, 999)} {ri(rng, 1000, 9999)}"


def person_name(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.05:
        first, last = pick(rng, vocab.CJK_NAMES)
        return first, last
    return pick(rng, vocab.FIRST_NAMES), pick(rng, vocab.LAST_NAMES)


def make_email(first: str, last: str, contact_id: int, rng: random.Random) -> str:
    local = ".".join(p for p in (vocab.ascii_fold(first), vocab.ascii_fold(last)) if p) or "customer"
    return f"{local}{contact_id}@{pick(rng, vocab.EMAIL_DOMAINS)}"


def _created_times(rng: random.Random, count: int, clock_ms: int) -> list[int]:
    """20% migrated in January 2024, the rest spread up to a day before the clock; ascending like the ids."""
    span = clock_ms - HISTORY_START_MS - DAY_MS
    times = [HISTORY_START_MS + (rr(rng, 30 * DAY_MS) if rng.random() < 0.2 else rr(rng, span)) for _ in range(count)]
    times.sort()
    return times


def generate_contacts(conn: sqlite3.Connection, seed: int, total: int, clock_ms: int) -> list[NewContact]:
    """Insert contacts + postal addresses; returns the contacts (for storefront customer creation)."""
    rng = random.Random(f"{seed}/contacts")
    n_suppliers = max(8, total // 200)
    kinds = ["staff"] * STAFF_COUNT + ["supplier"] * n_suppliers
    kinds += ["b2b" if rng.random() < 0.15 else "b2c" for _ in range(total - len(kinds))]
    early = [HISTORY_START_MS + i * MINUTE_MS * 7 for i in range(STAFF_COUNT + n_suppliers)]
    times = early + _created_times(rng, total - len(early), clock_ms)
    contacts: list[NewContact] = []
    rows: list[tuple[object, ...]] = []
    addresses: list[tuple[int, str]] = []
    emails_seen: list[str] = []
    org_id, org_left, org_name = FIRST_ORG_ID - 1, 0, ""
    for i, kind in enumerate(kinds):
        cid = FIRST_CONTACT_ID + i
        created = times[i]
        first, last = person_name(rng)
        company, is_b2b, org, tags = "", 0, cid, ""
        if kind == "supplier":
            company = f"{vocab.SUPPLIER_NAMES[i % len(vocab.SUPPLIER_NAMES)]} #{i - STAFF_COUNT + 1}"
        elif kind == "b2b":
            if org_left == 0:  # B2B companies have 1-3 buyer contacts sharing one organisation
                org_id, org_left = org_id + 1, pick(rng, (1, 1, 1, 2, 2, 3))
                org_name = f"{pick(rng, vocab.COMPANY_STEMS)} {pick(rng, vocab.COMPANY_SUFFIXES)}".strip()
                org_name = f"{org_name} ({org_id - FIRST_ORG_ID + 1})"
            org_left -= 1
            company, is_b2b, org = org_name, 1, org_id
            tags = "23,16" if rng.random() < 0.05 else "23"
        email: str | None = make_email(first, last, cid, rng)
        if kind == "staff":
            email = f"{vocab.ascii_fold(first) or 'staff'}.{cid}@sandbox-retail.example"
        elif kind == "b2b" and rng.random() < 0.1:
            email = None
        elif kind == "b2c" and emails_seen and rng.random() < 0.005:
            email = pick(rng, emails_seen[-50:])  # duplicate email on two contacts (merge candidates)
        if email and kind in ("b2b", "b2c"):
            emails_seen.append(email)
        phone, mobile = make_phone(rng), (make_phone(rng) if rng.random() < 0.4 else "")
        full = f"{first} {last}"
        def_addr = random_address(rng)
        def_id = len(addresses) + 1
        def_json = address_json(def_addr, full, company, email, phone)
        addresses.append((def_id, def_json))
        del_id = def_id
        if kind in ("b2b", "b2c") and rng.random() < 0.15:
            del_id = def_id + 1
            addresses.append((del_id, address_json(random_address(rng), full, company, email, phone)))
        updated = past(rng, created + (rr(rng, 120 * DAY_MS) if rng.random() < 0.5 else 0), clock_ms, created)
        price_list = WHOLESALE_PRICE_LIST if is_b2b else (1 if kind == "supplier" else RETAIL_PRICE_LIST)
        credit = pick(rng, ("5000.00", "10000.00", "25000.00", "50000.00")) if is_b2b else "0"
        terms = pick(rng, (30, 30, 60)) if is_b2b else (30 if kind == "supplier" else 0)
        rows.append(
            (
                cid,
                pick(rng, ("", "", "Mr", "Ms", "Dr")),
                first,
                last,
                email,
                company or None,
                org,
                int(kind in ("b2b", "b2c")),
                int(kind == "supplier"),
                int(kind == "staff"),
                is_b2b,
                price_list,
                credit,
                terms,
                1,
                phone,
                mobile,
                def_json,
                created,
                updated,
                0,
                def_id,
                def_id,
                del_id,
                tags,
                int(rng.random() < 0.4),
                None,
            )
        )
        contacts.append(NewContact(cid, kind, first, last, company, email, created))
    conn.executemany(f"INSERT INTO contacts VALUES ({','.join('?' * 27)})", rows)
    conn.executemany("INSERT INTO postal_addresses VALUES (?,?)", addresses)
    return contacts


def generate_bc_customers(conn: sqlite3.Connection, seed: int, contacts: list[NewContact], clock_ms: int) -> None:
    """Storefront accounts: ~60% of B2C contacts, ~40% of B2B buyers, plus storefront-only sign-ups."""
    rng = random.Random(f"{seed}/bc_customers")
    rows: list[tuple[object, ...]] = []
    taken: set[str] = set()
    tag_rows: list[tuple[str, int]] = []
    for c in contacts:
        if not c.email or c.email.lower() in taken or c.kind not in ("b2b", "b2c"):
            continue
        if rng.random() >= (0.4 if c.kind == "b2b" else 0.6):
            continue  # B2B buyers without a storefront account are the portal's onboarding candidates
        taken.add(c.email.lower())
        group = 2 if c.kind == "b2b" else (3 if rng.random() < 0.05 else 1)
        created = past(rng, c.created_ms + rr(rng, 2 * DAY_MS), clock_ms, c.created_ms)
        rows.append(
            (
                len(rows) + 1,
                c.email,
                c.first,
                c.last,
                c.company,
                "",
                "",
                group,
                0,
                1,
                created,
                past(rng, created + rr(rng, 30 * DAY_MS), clock_ms, created),
            )
        )
        tag_rows.append(("9", c.id))
    for n in range(max(3, len(rows) // 30)):  # signed up on the storefront, never ordered -> not in Brightpearl
        first, last = person_name(rng)
        created = HISTORY_START_MS + rr(rng, clock_ms - HISTORY_START_MS)
        email = f"{vocab.ascii_fold(first) or 'shopper'}.signup{n}@{pick(rng, vocab.EMAIL_DOMAINS)}"
        rows.append((len(rows) + 1, email, first, last, "", "", "", 1, 0, 1, created, created))
    conn.executemany(f"INSERT INTO bc_customers VALUES ({','.join('?' * 12)})", rows)
    conn.executemany(
        "UPDATE contacts SET contact_tags = CASE WHEN contact_tags = '' THEN ? ELSE contact_tags || ',' || ? END "
        "WHERE id = ?",
        [(t, t, cid) for t, cid in tag_rows],
    )
