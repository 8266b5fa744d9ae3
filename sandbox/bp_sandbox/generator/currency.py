"""Currencies and customer payments of the generated account.

The account's accounting (base) currency is GBP, as on a UK Brightpearl account; orders are in GBP, EUR or USD.
`exchangeRate` is stored per order as units of the order currency per 1 GBP (Brightpearl's currency settings
express rates against the base currency = 1.000000, see the recorded currency-search), so base amounts are
order amounts / rate, rounded to 2 dp (docs/sandbox.md). The BigCommerce store stays in USD, which is why every
storefront (and Amazon US) order is in USD.

Both passes are plain SQL over the world file so that the build, the change simulation and API writes share them:
`assign_currencies` gives generated orders their currency and rate, `add_payments` gives every PAID /
PARTIALLY_PAID order its customer payment (deterministic per order id).
"""

from __future__ import annotations

import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from .reference import AMAZON_CHANNEL_ID, STOREFRONT_CHANNEL_ID
from .timeutil import DAY_MS

BASE_CURRENCY: Final = "GBP"
# currency id (as currency-search lists them), code, mean rate per 1 GBP
CURRENCIES: Final = ((1, "GBP", 1.0), (2, "EUR", 1.165), (3, "USD", 1.27))
_MEAN = {code: mean for _, code, mean in CURRENCIES}
CURRENCY_IDS: Final = {code: cid for cid, code, _ in CURRENCIES}
CENT = Decimal("0.01")


def rate_for(code: str, at_ms: int) -> str:
    """The day's rate of `code` per 1 GBP: a deterministic wobble of +-1.4 % around the mean."""
    if code == BASE_CURRENCY or code not in _MEAN:
        return "1.000000"
    day = int(at_ms) // DAY_MS
    wobble = ((day * 7919) % 29 - 14) / 1000
    return f"{_MEAN[code] * (1 + wobble):.6f}"


def to_base(amount: str, rate: str) -> str:
    """An order-currency amount in GBP, 2 dp (half up)."""
    return str((Decimal(amount) / Decimal(rate)).quantize(CENT, ROUND_HALF_UP))


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("bp_rate", 2, rate_for, deterministic=True)


# Storefront and Amazon US sell in USD (the BigCommerce store is USD); phone and wholesale customers buy in GBP,
# a third of them (by contact id) in EUR; suppliers invoice in GBP or EUR. Credits follow their parent order.
_CURRENCY_SQL = (
    f"CASE WHEN order_type_code IN ('SO', 'SC') AND channel_id IN ({STOREFRONT_CHANNEL_ID}, {AMAZON_CHANNEL_ID}) "
    "THEN 'USD' WHEN contact_id % 3 = 1 THEN 'EUR' ELSE 'GBP' END"
)


def assign_currencies(conn: sqlite3.Connection, first_order_id: int = 1) -> None:
    """Currency and exchange rate of the generated orders with id >= `first_order_id`."""
    register(conn)
    conn.execute(
        f"UPDATE orders SET currency_code = {_CURRENCY_SQL}, "
        f"exchange_rate = bp_rate({_CURRENCY_SQL}, created_ms) WHERE id >= ?",
        (first_order_id,),
    )
    conn.execute(
        "UPDATE orders SET currency_code = p.currency_code, exchange_rate = p.exchange_rate FROM orders p "
        "WHERE orders.id >= ? AND orders.parent_order_id > 0 AND p.id = orders.parent_order_id",
        (first_order_id,),
    )


# Receipts for sales orders (money in), PAYMENT for paid sales credits (money refunded). A partially paid order
# got 20-80 % of its total (by order id). Paid on the invoice's tax date + 0-9 days (never after the clock), or
# when placed for orders paid before invoicing (web checkout).
def add_payments(conn: sqlite3.Connection, clock_ms: int) -> int:
    """Insert the missing customer payment of every PAID / PARTIALLY_PAID SO or SC; returns how many."""
    before = conn.execute("SELECT count(*) FROM customer_payments").fetchone()[0]
    conn.execute(
        """
        INSERT INTO customer_payments (id, order_id, payment_type, payment_method_code, currency_code,
                                       amount_paid, payment_ms, created_ms, journal_id, transaction_ref)
        SELECT (SELECT coalesce(max(id), 1000) FROM customer_payments) + row_number() OVER (ORDER BY o.id),
               o.id,
               CASE o.order_type_code WHEN 'SC' THEN 'PAYMENT' ELSE 'RECEIPT' END,
               CASE WHEN o.channel_id = 2 THEN 'CARD' WHEN o.channel_id = 3 THEN 'AMAZON' ELSE 'BANK' END,
               o.currency_code,
               printf('%.2f', CASE o.payment_status WHEN 'PAID' THEN cents
                                   ELSE cents * (20 + o.id * 37 % 61) / 100 END / 100.0),
               paid_ms, paid_ms, 5000 + o.id, 'TX-' || o.id
        FROM (SELECT *, CAST(round(CAST(total_value AS REAL) * 100) AS INTEGER) AS cents,
                     min(:clock - 1, max(created_ms, coalesce(tax_date_ms + (id % 10) * 86400000, created_ms)))
                       AS paid_ms
              FROM orders) o
        WHERE o.order_type_code IN ('SO', 'SC') AND o.payment_status IN ('PAID', 'PARTIALLY_PAID')
          AND o.deleted = 0 AND o.cents > 0
          AND NOT EXISTS (SELECT 1 FROM customer_payments p WHERE p.order_id = o.id)
        ORDER BY o.id
        """,
        {"clock": clock_ms},
    )
    return conn.execute("SELECT count(*) FROM customer_payments").fetchone()[0] - before
