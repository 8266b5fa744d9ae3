"""The analyst marts: name, business meaning and the Brightpearl assets each one reads.

Each mart is one table in schema `analytics`, rebuilt from a SELECT in `sql/<name>.sql`; a mart with columns that
read the clock (`Mart.clock`: overdue, age in days) is a view there instead, computing them when queried over the
table the SELECT built in schema `_marts`, so the passing of time alone never forces a rebuild. The shared business
rules (what counts as a quote, an invoice, an open order...) live once in `sql/order_facts.sql`, loaded as a
temporary view before the marts are built. See docs/warehouse.md, "Analyst marts", for columns and queries.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = "analytics"
STORED_SCHEMA = "_marts"  # the tables behind the marts that are views (clock columns)

# Temporary views created on the building connection, in order (later ones may read earlier ones).
PRELUDE_VIEWS: tuple[str, ...] = ("order_facts", "order_row_stats", "order_shipments")


@dataclass(frozen=True)
class Mart:
    name: str
    description: str
    deps: tuple[str, ...]  # keys of the brightpearl assets whose tables the SQL reads
    # (column, SQL expression over the stored columns) computed when queried: the SQL stores a typed NULL in each
    # such column (keeping the column order) and `analytics.<name>` is a view replacing it with the expression.
    clock: tuple[tuple[str, str], ...] = ()
    # "order_id" for a mart with one row per order, made from that order's records (and its contact and small tables):
    # updated in place for the orders that changed (build.py, ORDER_TABLES)
    key: str | None = None
    # A mart with one row per group of orders (a customer, a day): (its group column, the SQL expression of that
    # column over `brightpearl.orders AS o`, what a group is called). Updated in place for the groups whose orders
    # changed, before and after the change (build.py keeps each order's group in `order_groups_table`).
    group: tuple[str, str, str] | None = None
    # Its groups are contacts and its rows read `brightpearl.contacts` as the list of groups (customer_accounts): a
    # changed contact's row is rebuilt too, and the SQL reads only the contacts being rebuilt.
    group_contacts: bool = False

    @property
    def order_groups_name(self) -> str:
        """A group mart's map of every order to its group as of the mart's last build or update (in STORED_SCHEMA)."""
        return f"{self.name}__order_groups"

    @property
    def order_groups_table(self) -> str:
        return f"{STORED_SCHEMA}.{self.order_groups_name}"

    @property
    def table(self) -> str:
        """What analysts query: the mart's table, or its view when it has clock columns."""
        return f"{SCHEMA}.{self.name}"

    @property
    def stored(self) -> str:
        """The table the SQL is built into."""
        return f"{STORED_SCHEMA}.{self.name}" if self.clock else self.table

    def view_sql(self) -> str:
        """The view over `stored` that computes the clock columns when queried."""
        replace = ", ".join(f"{expression} AS {column}" for column, expression in self.clock)
        return f"SELECT * REPLACE ({replace}) FROM {self.stored}"

    @property
    def sql_path(self) -> str:
        return f"bp_pipelines/lib/marts/sql/{self.name}.sql"


ORDER_DEPS = ("orders", "order_statuses")

MARTS: tuple[Mart, ...] = (
    Mart(
        "customer_accounts",
        "One row per customer contact: the B2B 'my account' view. Money is in the account's base currency "
        "(base_currency_code), so documents of every currency add up: balance outstanding (invoiced minus paid on "
        "unpaid and partially paid invoices, from the customer payments, minus what is still owed on credit notes), "
        "available credit (credit limit minus balance, when a limit is set), open orders (count and value of sales "
        "orders not fully shipped, closed or cancelled; quotes excluded), open quotations, lifetime value (invoiced "
        "net minus credited net), first/last order dates and order count. is_b2b = the contact has a company name.",
        ("contacts", "customer_payments", *ORDER_DEPS),
        group=("contact_id", "o.contact_id", "customers"),
        group_contacts=True,
    ),
    Mart(
        "customer_order_history",
        "One row per sales order or sales credit of a customer: the portal's order history. Header facts, status "
        "name, kind (order / quote / credit), row count, shipped state from Brightpearl's shipping status and the "
        "goods-out notes (shipments, last shipped date, tracking references).",
        ("contacts", "channels", "order_rows", "goods_out_notes", *ORDER_DEPS),
        key="order_id",
    ),
    Mart(
        "customer_documents",
        "Customer invoices (sales orders with an invoice reference) and credit notes (sales credits with one): "
        "document type, reference, date (tax date), due date, totals, signed total (credit notes negative), "
        "payment status, amount paid and outstanding (from the customer payments), the same in the base currency, "
        "and whether the document is still outstanding or overdue (as of the query).",
        ("contacts", "customer_payments", *ORDER_DEPS),
        clock=(("is_overdue", "coalesce(is_outstanding AND due_date < now(), false)"),),
        key="order_id",
    ),
    Mart(
        "open_quotations",
        "Sales quotes (sales orders in a draft/quote status) not yet converted, invoiced or cancelled, with the "
        "customer, value, rows and age in days (as of the query): the sales team's follow-up list and the portal's "
        "quotes page.",
        ("contacts", "order_rows", *ORDER_DEPS),
        clock=(("age_days", "date_diff('day', quoted_on, now())"),),
        key="order_id",
    ),
    Mart(
        "daily_sales",
        "Sales per UTC day, channel and currency: order count, net, tax and gross of sales orders (quotes and "
        "cancelled orders excluded), and sales credits as separate columns (count, net, tax, gross) with net after "
        "credits. Amounts in currency_code are never added across currencies; base_net, base_gross and "
        "base_net_after_credits are in the account's base currency and do add up.",
        ("channels", *ORDER_DEPS),
        # the day of order_facts.ordered_on, as daily_sales.sql groups it
        group=("sales_date", "CAST(timezone('UTC', coalesce(o.placed_on, o.created_on)) AS DATE)", "days"),
    ),
    Mart(
        "stock_position",
        "Stock per SKU and warehouse from the latest availability fetch: in stock, allocated, on hand, available "
        "(= on hand, which Brightpearl already nets of allocations), in transit, with product name and status.",
        ("stock_levels", "products", "warehouses"),
    ),
    Mart(
        "open_purchase_orders",
        "Purchase orders to suppliers not yet fully received, closed or cancelled: supplier contact and company, "
        "status, reference, totals, row count and quantity, expected delivery date, age in days and whether the "
        "delivery date has passed (both as of the query).",
        ("contacts", "warehouses", "order_rows", *ORDER_DEPS),
        clock=(
            ("age_days", "date_diff('day', ordered_on, now())"),
            ("is_overdue", "coalesce(delivery_date < now(), false)"),
        ),
        key="order_id",
    ),
    Mart(
        "storefront_orders_not_imported",
        "Reconciliation: extracted storefront orders in an importable status (import.statuses) still not in "
        "Brightpearl import.delay_minutes after they were placed, one row per order with its state in push.ledger "
        "(or 'not planned') and why (dead-lettered with the reason, create unconfirmed, not yet created, or never "
        "planned). Empty while the import is off. The check storefront_orders_not_imported:is_empty is red while "
        "any row exists.",
        ("storefront_orders", "orders", "storefront_order_import"),
    ),
    Mart(
        "storefront_accounts_out_of_step",
        "Reconciliation: Brightpearl trade customers (credit customers, or the contact tag of accounts.who) whose "
        "storefront account is not in step with the ERP (never "
        "pushed, or the latest change planned, unconfirmed or dead-lettered), with why. Empty while the account "
        "sync is off. The check storefront_accounts_out_of_step:is_empty is red while any row exists.",
        ("contacts", "storefront_accounts"),
    ),
    Mart(
        "storefront_status_mismatches",
        "Reconciliation: storefront orders linked to a Brightpearl order (storefront.order_link) whose storefront "
        "status is not the one storefront.status_map gives for the Brightpearl order's current status, although the "
        "status push had time to fix it (changed since push_from, extracted before the push last planned), with the "
        "expected status, the latest status push and why (dead-lettered with the reason, changed on the storefront "
        "after the push, never pushed). Empty while the push is off. The check storefront_status_mismatches:is_empty "
        "is red while any row exists.",
        # after the status push and the storefront extraction (a status pushed in this run trusts the ledger until
        # the storefront order is extracted again)
        ("orders", "storefront_orders", "storefront_order_statuses"),
    ),
    Mart(
        "storefront_shipments_missing",
        "Reconciliation: shipped goods-out notes of storefront orders, shipped since push_from, with no storefront "
        "shipment (none carrying the push's marker or the note's tracking number) and no confirmed or skipped "
        "push, with the ledger state and why (dead-lettered with the reason at once; never pushed after "
        "reconcile.shipment_delay_minutes; pushed but gone from the storefront). Empty while the push is off or "
        "ships whole orders. The check storefront_shipments_missing:is_empty is red while any row exists.",
        ("goods_out_notes", "orders", "storefront_orders", "storefront_shipments"),
    ),
)

# Reconciliation between Brightpearl and the storefront (each has an asset check that is red while it has rows).
STOREFRONT_MARTS: tuple[Mart, ...] = (
    Mart(
        "storefront_sku_mismatches",
        "SKUs on one side only: storefront variants no live Brightpearl product has (side 'storefront'), and live "
        "stock-tracked Brightpearl products sold on the storefront's Brightpearl channel, with stock available in "
        "stock.warehouse_ids, that no storefront variant lists, or whose SKU several Brightpearl products share "
        "(side 'brightpearl'); SKUs in reconcile.ignore_skus left out; each row says why. SKUs match ignoring case "
        "and spaces.",
        ("products", "stock_levels", "orders", "order_rows", "storefront_catalog"),
    ),
    Mart(
        "storefront_stock_drift",
        "Storefront SKUs whose level after the last stock push differs from Brightpearl's available stock, with both "
        "figures, the difference and why (the storefront's rejection when the push was dead-lettered).",
        ("storefront_stock_levels",),
    ),
)
MARTS = MARTS + STOREFRONT_MARTS

MARTS_BY_NAME: dict[str, Mart] = {mart.name: mart for mart in MARTS}
