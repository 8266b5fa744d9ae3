"""The sync configuration file (`sync.yaml`): what the storefront push (and later the import) may do.

`load_sync_file()` reads YAML from `BP_SYNC_CONFIG` (default: `sync.yaml` at the repo root) and validates it with
pydantic: a mistake fails at load time with one message naming the file, the key (`shipments.trigger`), what is
wrong and the valid values. Unknown keys are refused with the list of allowed ones. `resolve()` then turns
Brightpearl status and shipping-method names into ids using the warehouse's reference tables
(`brightpearl.order_statuses`, `brightpearl.shipping_methods`, ...); an unknown name is a load error too.
Guide: docs/sync-file.md.
"""

from __future__ import annotations

import os
import re
import types
import typing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import duckdb
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from bp_pipelines import settings

ENV_VAR = "BP_SYNC_CONFIG"
DEFAULT_FILE = "sync.yaml"

# BigCommerce's built-in order statuses (bigcommerce-api.md §3): fixed ids, only their labels can be renamed.
BIGCOMMERCE_STATUSES: dict[int, str] = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}
BC_STATUS_HINT = "a BigCommerce status_id: " + ", ".join(f"{i} {n}" for i, n in BIGCOMMERCE_STATUSES.items())
# Orders V2 shipment `shipping_provider` values (bigcommerce-api.md §4); `carrier_{id}` names a configured carrier.
SHIPPING_PROVIDERS = ("auspost", "canadapost", "endicia", "usps", "fedex", "royalmail", "ups", "upsready", "upsonline",
                      "shipperhq")  # fmt: skip
_CARRIER_ID = re.compile(r"^carrier_\d+$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class SyncFileError(settings.ConfigError):
    """The sync file is missing, unreadable, invalid or names something the warehouse does not know."""


def _hint(text: str) -> Any:
    return {"valid": text}


# Name or id of a Brightpearl record: YAML `1:` is an id, `Cancelled:` a name.
BrightpearlRef = Annotated[int | str, Field(union_mode="left_to_right")]
BigCommerceStatusId = Annotated[int, Field(ge=0, le=14)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class Storefront(_Section):
    enabled: bool = Field(False, json_schema_extra=_hint("true or false (nothing is pushed unless true)"))
    brightpearl_channel_ids: list[Annotated[int, Field(gt=0)]] = Field(
        default_factory=list, json_schema_extra=_hint("a list of Brightpearl channel ids, e.g. [3]")
    )
    order_link: Literal["external_ref", "customer_ref"] = Field(
        "external_ref",
        json_schema_extra=_hint("external_ref (the order's externalRef) or customer_ref (its reference)"),
    )

    @model_validator(mode="after")
    def _channels_when_enabled(self) -> Storefront:
        if self.enabled and not self.brightpearl_channel_ids:
            raise ValueError(
                "enabled is true but brightpearl_channel_ids is empty: list the Brightpearl channel ids whose "
                "orders belong to the storefront, e.g. [3]"
            )
        return self


class ShipmentFields(_Section):
    tracking_carrier: str = Field("", json_schema_extra=_hint('"" or an AfterShip courier slug, e.g. royal-mail'))
    shipping_provider: str = Field("", json_schema_extra=_hint(f'"", {", ".join(SHIPPING_PROVIDERS)} or carrier_<id>'))

    @field_validator("tracking_carrier")
    @classmethod
    def _slug(cls, value: str) -> str:
        if value and not _SLUG.match(value):
            raise ValueError(f"{value!r} is not a courier slug (lower case letters, digits and -)")
        return value

    @field_validator("shipping_provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        if value and value not in SHIPPING_PROVIDERS and not _CARRIER_ID.match(value):
            raise ValueError(f"{value!r} is not a BigCommerce shipping_provider")
        return value


class OrderStatusTrigger(_Section):
    order_status: BrightpearlRef = Field(json_schema_extra=_hint("a Brightpearl order status name or id"))


TRIGGER_HINT = "goods_out_shipped or {order_status: <Brightpearl status name or id>}"


class Shipments(_Section):
    trigger: Literal["goods_out_shipped"] | OrderStatusTrigger = Field(
        "goods_out_shipped", json_schema_extra=_hint(TRIGGER_HINT)
    )
    carriers: dict[BrightpearlRef, ShipmentFields] = Field(
        default_factory=dict,
        json_schema_extra=_hint(
            "Brightpearl shipping method name or id -> {tracking_carrier: ..., shipping_provider: ...}"
        ),
    )
    default_carrier: ShipmentFields = Field(
        default_factory=ShipmentFields, json_schema_extra=_hint("{tracking_carrier: ..., shipping_provider: ...}")
    )

    @field_validator("trigger", mode="before")
    @classmethod
    def _trigger(cls, value: Any) -> Any:
        if value == "goods_out_shipped" or (isinstance(value, dict) and set(value) == {"order_status"}):
            return value
        raise ValueError(f"{value!r} is not a shipment trigger")


class ImportCustomers(_Section):
    create: bool = Field(True, json_schema_extra=_hint("true or false"))
    update: Literal["if_different", "always", "never"] = Field(
        "if_different", json_schema_extra=_hint("if_different, always or never")
    )


class Import(_Section):
    """Storefront orders into Brightpearl (the `storefront_order_import` asset; docs/storefront-push.md)."""

    statuses: list[BigCommerceStatusId] = Field(default_factory=lambda: [11], json_schema_extra=_hint(BC_STATUS_HINT))
    channel_id: int | None = Field(None, json_schema_extra=_hint("a Brightpearl channel id or null"))
    warehouse_id: int | None = Field(None, json_schema_extra=_hint("a Brightpearl warehouse id or null"))
    project_id: int | None = Field(None, json_schema_extra=_hint("a Brightpearl project id or null"))
    lead_source_id: int | None = Field(None, json_schema_extra=_hint("a Brightpearl lead source id or null"))
    match_on: Literal["sku", "ean", "upc"] = Field("sku", json_schema_extra=_hint("sku, ean or upc"))
    unmatched_sku: Literal["dead_letter", "free_text_row"] = Field(
        "dead_letter", json_schema_extra=_hint("dead_letter or free_text_row")
    )
    guest_orders: bool = Field(True, json_schema_extra=_hint("true or false"))
    customers: ImportCustomers = Field(
        default_factory=ImportCustomers,
        json_schema_extra=_hint("{create: true|false, update: if_different|always|never}"),
    )
    # Where the shopper's comment and the staff notes go in Brightpearl: an order note (the comment public, the staff
    # notes private), or nowhere.
    customer_comment: Literal["order_note", "none"] = Field("order_note", json_schema_extra=_hint("order_note or none"))
    staff_notes: Literal["order_note", "none"] = Field("order_note", json_schema_extra=_hint("order_note or none"))
    # Reconciliation: an importable storefront order not in Brightpearl after this long is reported.
    delay_minutes: int = Field(60, ge=0, json_schema_extra=_hint("whole minutes, e.g. 60"))


class TagAudience(_Section):
    tag: BrightpearlRef = Field(json_schema_extra=_hint("a Brightpearl contact tag name or id"))


WHO_HINT = "credit_customers or {tag: <Brightpearl contact tag>}"


class Accounts(_Section):
    """B2B customer accounts on the storefront (the `storefront_accounts` asset; docs/storefront-push.md)."""

    enabled: bool = Field(False, json_schema_extra=_hint("true or false"))
    who: Literal["credit_customers"] | TagAudience = Field("credit_customers", json_schema_extra=_hint(WHO_HINT))
    price_list_groups: dict[int, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        json_schema_extra=_hint("Brightpearl price list id -> storefront customer group id, e.g. {1: 0}"),
    )

    @field_validator("who", mode="before")
    @classmethod
    def _who(cls, value: Any) -> Any:
        if value == "credit_customers" or (isinstance(value, dict) and set(value) == {"tag"}):
            return value
        raise ValueError(f"{value!r} is not an account audience")


class Stock(_Section):
    """Stock levels to the storefront (read by the stock push, `storefront_stock_levels`)."""

    warehouse_ids: list[int] = Field(
        default_factory=list, json_schema_extra=_hint("a list of Brightpearl warehouse ids")
    )


class Reconcile(_Section):
    """What the reconciliation marts leave out or wait for (docs/sync-file.md)."""

    # Storefront items a merchant keeps out of Brightpearl on purpose (a free sample, a donation): matched like every
    # SKU, ignoring case and surrounding spaces, on either side.
    ignore_skus: list[str] = Field(
        default_factory=list, json_schema_extra=_hint('a list of SKUs, e.g. ["SAMPLE-PACK"]')
    )

    # analytics.storefront_shipments_missing lists a shipped goods-out note only this long after it shipped (the
    # push runs with the sync; a dead-lettered shipment is listed at once).
    shipment_delay_minutes: int = Field(default=60, ge=0, json_schema_extra=_hint("minutes, e.g. 60"))

    @field_validator("ignore_skus")
    @classmethod
    def _skus(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for i, sku in enumerate(value):
            key = sku.strip().casefold()
            if not key:
                raise ValueError(f"entry {i} is empty: list SKUs, or remove the entry")
            if key in seen:
                raise ValueError(f"{sku!r} is listed twice (SKUs match ignoring case and spaces: {seen[key]!r})")
            seen[key] = sku
        return [sku.strip() for sku in value]


class SyncFile(_Section):
    storefront: Storefront = Field(
        default_factory=Storefront,
        json_schema_extra=_hint("{enabled: ..., brightpearl_channel_ids: [...], order_link: ...}"),
    )
    push_from: datetime | None = Field(
        None,
        json_schema_extra=_hint('an ISO-8601 time with a zone, e.g. "2025-09-01T00:00:00Z", or null'),
    )
    push_lookback: timedelta | None = Field(
        None,
        json_schema_extra=_hint('an ISO-8601 duration such as "P7D" (7 days), or null; only used without push_from'),
    )
    status_map: dict[BrightpearlRef, BigCommerceStatusId] = Field(
        default_factory=dict,
        json_schema_extra=_hint("Brightpearl order status name or id -> " + BC_STATUS_HINT),
    )
    unmapped_status: Literal["leave"] | BigCommerceStatusId = Field(
        "leave", json_schema_extra=_hint("leave or " + BC_STATUS_HINT)
    )
    shipments: Shipments = Field(
        default_factory=Shipments, json_schema_extra=_hint("{trigger: ..., carriers: {...}, default_carrier: {...}}")
    )
    import_: Import | None = Field(None, alias="import", json_schema_extra=_hint("an import section or null"))
    accounts: Accounts | None = Field(None, json_schema_extra=_hint("an accounts section or null"))
    stock: Stock | None = Field(None, json_schema_extra=_hint("a stock section or null"))
    reconcile: Reconcile = Field(default_factory=Reconcile, json_schema_extra=_hint("{ignore_skus: [...]}"))

    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """The file it was loaded from (None when built in code)."""
        return self._path

    @field_validator("push_from", mode="before")
    @classmethod
    def _push_from(cls, value: Any) -> Any:
        if value is None or isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):  # YAML reads an unquoted 2025-09-01 as a date: UTC midnight
            parsed = datetime(value.year, value.month, value.day, tzinfo=UTC)
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO-8601 time") from None
        else:
            raise ValueError(f"{value!r} is not a time")
        if parsed is not None and parsed.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone: add Z (UTC) or an offset such as +01:00")
        return parsed.astimezone(UTC) if parsed is not None else None

    @field_validator("push_lookback", mode="before")
    @classmethod
    def _lookback(cls, value: Any) -> Any:
        if value is None or isinstance(value, timedelta):
            parsed = value
        elif isinstance(value, str) and value.strip().upper().startswith("P"):
            try:
                parsed = TypeAdapter(timedelta).validate_python(value.strip().upper())
            except ValidationError:
                raise ValueError(f"{value!r} is not an ISO-8601 duration") from None
        else:
            raise ValueError(f"{value!r} is not an ISO-8601 duration")
        if parsed is not None and parsed < timedelta(0):
            raise ValueError(f"{value!r} is negative")
        return parsed

    @property
    def push_from_lookback(self) -> timedelta | None:
        """Without push_from: also push the changes of this period before the push first ran."""
        return self.push_lookback if self.push_from is None else None

    @field_validator("unmapped_status", mode="before")
    @classmethod
    def _unmapped(cls, value: Any) -> Any:
        if value == "leave" or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise ValueError(f"{value!r} is neither leave nor a status id")


# --- loading ------------------------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice in the same mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def sync_file_path() -> tuple[Path, bool]:
    """(path, explicit): `BP_SYNC_CONFIG` when set, else `sync.yaml` at the repo root."""
    raw = os.environ.get(ENV_VAR)
    if raw:
        return Path(raw).expanduser().resolve(), True
    return settings.REPO_ROOT / DEFAULT_FILE, False


def load_sync_file(path: Path | None = None) -> SyncFile:
    """Read and validate the sync file (`path`, else `BP_SYNC_CONFIG`, else `<repo root>/sync.yaml`).

    Raises `SyncFileError` naming the file, each wrong key, the problem and the valid values. Without a file at the
    default location the defaults apply (push off); a path given explicitly must exist."""
    from_env = False
    if path is None:
        path, from_env = sync_file_path()
        explicit = from_env
    else:
        explicit = True
    path = Path(path)
    if not path.is_file():
        if explicit:
            source = f"{ENV_VAR}={path}" if from_env else str(path)
            raise SyncFileError(
                f"sync file {source} does not exist: create it (copy sync.yaml from the repo) or point {ENV_VAR} at it"
            )
        sync_file = SyncFile()
        sync_file._path = None
        return sync_file
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise SyncFileError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    return parse_sync_file(data, path)


def parse_sync_file(data: Any, path: Path | str = "<sync file>") -> SyncFile:
    """Validate already-parsed YAML (a mapping, or None for an empty file)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SyncFileError(
            f"{path}: the file must be a mapping of keys ({', '.join(_allowed(SyncFile))}), got {type(data).__name__}"
        )
    try:
        sync_file = SyncFile.model_validate(data)
    except ValidationError as exc:
        raise SyncFileError(_describe(exc, path)) from None
    sync_file._path = Path(path)
    return sync_file


# --- error messages -----------------------------------------------------------------------------------------------


def _key_path(loc: tuple[Any, ...]) -> str:
    """`('shipments', 'carriers', 1, 'x')` -> `shipments.carriers.1.x`; list positions as `stock.warehouse_ids[1]`."""
    text, in_list, model = "", False, SyncFile
    for part in loc:
        if in_list and isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
        info = _field(model, part) if model is not None else None
        if info is not None:
            annotation = info.annotation
            while typing.get_origin(annotation) is Annotated:
                annotation = typing.get_args(annotation)[0]
            in_list = typing.get_origin(annotation) is list
            models = _model_in(info.annotation)
            model = models[0] if models else None
        else:
            in_list = False
    return text


def _model_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation may hold (through Optional, unions, Annotated, list and dict values)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _model_in(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if origin in (Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _model_in(arg)]
    if origin in (list, dict):
        return _model_in(typing.get_args(annotation)[-1])
    return []


def _field(model: type[BaseModel], key: Any) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _walk(loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """(the model a key after `loc` would belong to, the field of the last named key in `loc`)."""
    model: type[BaseModel] | None = SyncFile
    field = None
    for part in loc:
        if model is None:
            break
        info = _field(model, part)
        if info is None:
            continue  # a dict key or a list index: the model stays the container's item model
        field = info
        models = _model_in(info.annotation)
        model = models[0] if models else None
    return model, field


def _allowed(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _is_branch_label(part: Any) -> bool:
    """Labels pydantic puts into `loc` for union branches and dict keys: 'int', "literal['leave']", '[key]',
    'OrderStatusTrigger'."""
    if not isinstance(part, str):
        return False
    return part in ("int", "str", "bool", "[key]") or part.startswith("literal[") or part in _MODEL_NAMES


def _describe(exc: ValidationError, path: Path | str) -> str:
    errors = [(tuple(p for p in e["loc"] if not _is_branch_label(p)), e) for e in exc.errors()]
    lines: dict[str, str] = {}
    for loc, error in errors:
        raw_last = error["loc"][-1] if error["loc"] else None
        if (
            isinstance(raw_last, str)
            and raw_last.startswith("literal[")
            and any(len(other) > len(loc) and other[: len(loc)] == loc for other, _ in errors)
        ):
            continue  # the value was meant as the other branch of the union: report that branch's problem
        key = _key_path(loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            model, _ = _walk(loc[:-1])
            allowed = ", ".join(_allowed(model or SyncFile))
            where = f" in {_key_path(loc[:-1])}" if len(loc) > 1 else ""
            lines[key] = f"{key}: unknown key {loc[-1]!r}{where}; allowed keys: {allowed}"
            continue
        if key in lines:
            continue  # one line per key: a union reports each branch
        _, field = _walk(loc)
        extra = field.json_schema_extra if field is not None and isinstance(field.json_schema_extra, dict) else {}
        hint = extra.get("valid")
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = error["type"] != "value_error" and error["type"] != "missing"
        got = f" (got {error['input']!r})" if shown else ""
        lines[key] = f"{key}: {message}{got}" + (f"; valid values: {hint}" if hint else "")
    count = len(lines)
    head = f"{path}: invalid sync file ({count} problem{'s' if count != 1 else ''})"
    return head + ":\n  " + "\n  ".join(lines.values())


# Union branch labels pydantic uses for the models (every section model derives from _Section directly).
_MODEL_NAMES = frozenset(cls.__name__ for cls in _Section.__subclasses__())


# --- resolving names against the warehouse ------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedSyncFile:
    """The sync file with every Brightpearl name replaced by its id, as the push engine uses it."""

    sync_file: SyncFile
    status_map: dict[int, int]  # Brightpearl order status id -> BigCommerce status_id
    unmapped_status: int | None  # None: leave the storefront status as it is
    shipment_trigger_status_id: int | None  # None: push when a goods-out note ships
    carriers: dict[int, ShipmentFields]  # Brightpearl shipping method id -> shipment fields
    account_tag_id: int | None = None  # accounts.who: {tag: ...} resolved; None: credit customers

    @property
    def storefront(self) -> Storefront:
        return self.sync_file.storefront

    @property
    def push_from(self) -> datetime | None:
        """None: "from the moment the push first ran" (the push records that moment)."""
        return self.sync_file.push_from

    def bigcommerce_status(self, brightpearl_status_id: int) -> int | None:
        """The storefront status for a Brightpearl status, or None to leave the storefront order alone."""
        return self.status_map.get(int(brightpearl_status_id), self.unmapped_status)

    def carrier(self, shipping_method_id: int | None) -> ShipmentFields:
        if shipping_method_id is None:
            return self.sync_file.shipments.default_carrier
        return self.carriers.get(int(shipping_method_id), self.sync_file.shipments.default_carrier)


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    try:
        return conn.execute(sql).fetchall()
    except duckdb.CatalogException:
        return []  # the table does not exist yet: nothing synced


class _Lookup:
    """Names and ids of one reference table; names match case-insensitively, ignoring surrounding spaces."""

    def __init__(self, table: str, asset: str, what: str, rows: list[tuple[Any, ...]]) -> None:
        self.table, self.asset, self.what = table, asset, what
        self.rows = rows  # (id, name, preferred)
        self.ids = {int(r[0]) for r in rows}

    def _valid(self) -> str:
        listed = ", ".join(f"{name!r} ({i})" for i, name, _ in sorted(self.rows, key=lambda r: r[0])[:60])
        return listed + (", ..." if len(self.rows) > 60 else "")

    def resolve(self, key: str, ref: int | str, problems: list[str]) -> int | None:
        if not self.rows:
            problems.append(
                f"{key}: cannot check {self.what} {ref!r}: {self.table} is empty; materialize the {self.asset} "
                "asset first (make run)"
            )
            return None
        if isinstance(ref, int) or ref.strip().isdigit():
            if int(ref) in self.ids:
                return int(ref)
            problems.append(f"{key}: unknown {self.what} id {ref}; valid: {self._valid()}")
            return None
        wanted = " ".join(ref.split()).casefold()
        matches = [r for r in self.rows if " ".join(str(r[1] or "").split()).casefold() == wanted]
        if len(matches) > 1:  # e.g. the same status name for sales and purchase orders: prefer the preferred kind
            matches = [r for r in matches if r[2]] or matches
        if len(matches) == 1:
            return int(matches[0][0])
        if matches:
            ids = ", ".join(str(r[0]) for r in matches)
            problems.append(f"{key}: {self.what} name {ref!r} is ambiguous (ids {ids}); use the id instead")
        else:
            problems.append(f"{key}: unknown {self.what} {ref!r}; valid: {self._valid()}")
        return None


def resolve(sync_file: SyncFile, conn: duckdb.DuckDBPyConnection) -> ResolvedSyncFile:
    """Resolve Brightpearl names (and check ids) against the warehouse's reference tables.

    Raises `SyncFileError` listing every unknown name with the valid ones."""
    statuses = _Lookup(
        "brightpearl.order_statuses",
        "order_statuses",
        "Brightpearl order status",
        _rows(
            conn,
            "SELECT order_status_id, name, order_type_code = 'SO' FROM brightpearl.order_statuses "
            "WHERE NOT coalesce(is_deleted, false)",
        ),
    )
    methods = _Lookup(
        "brightpearl.shipping_methods",
        "shipping_methods",
        "Brightpearl shipping method",
        _rows(
            conn,
            "SELECT shipping_method_id, name, true FROM brightpearl.shipping_methods WHERE NOT coalesce(is_deleted, false)",
        ),
    )
    channels = _Lookup(
        "brightpearl.channels",
        "channels",
        "Brightpearl channel",
        _rows(conn, "SELECT channel_id, name, true FROM brightpearl.channels WHERE NOT coalesce(is_deleted, false)"),
    )
    warehouses = _Lookup(
        "brightpearl.warehouses",
        "warehouses",
        "Brightpearl warehouse",
        _rows(
            conn, "SELECT warehouse_id, name, true FROM brightpearl.warehouses WHERE NOT coalesce(is_deleted, false)"
        ),
    )
    problems: list[str] = []
    account_tag_id = None
    if sync_file.accounts is not None and isinstance(sync_file.accounts.who, TagAudience):
        tags = _Lookup(
            "brightpearl.contact_tags",
            "contact_tags",
            "Brightpearl contact tag",
            _rows(
                conn,
                "SELECT tag_id, tag_name, true FROM brightpearl.contact_tags WHERE NOT coalesce(is_deleted, false)",
            ),
        )
        account_tag_id = tags.resolve("accounts.who.tag", sync_file.accounts.who.tag, problems)
    for i, channel_id in enumerate(sync_file.storefront.brightpearl_channel_ids):
        channels.resolve(f"storefront.brightpearl_channel_ids[{i}]", channel_id, problems)
    status_map: dict[int, int] = {}
    for ref, bc_status in sync_file.status_map.items():
        status_id = statuses.resolve(f"status_map.{ref}", ref, problems)
        if status_id is None:
            continue
        if status_id in status_map and status_map[status_id] != bc_status:
            problems.append(f"status_map.{ref}: Brightpearl status {status_id} is mapped twice, to different statuses")
        status_map[status_id] = bc_status
    trigger = sync_file.shipments.trigger
    trigger_id = None
    if isinstance(trigger, OrderStatusTrigger):
        trigger_id = statuses.resolve("shipments.trigger.order_status", trigger.order_status, problems)
    carriers: dict[int, ShipmentFields] = {}
    for ref, fields in sync_file.shipments.carriers.items():
        method_id = methods.resolve(f"shipments.carriers.{ref}", ref, problems)
        if method_id is not None:
            carriers[method_id] = fields
    if sync_file.import_ is not None:
        if sync_file.import_.channel_id is not None:
            channels.resolve("import.channel_id", sync_file.import_.channel_id, problems)
        if sync_file.import_.warehouse_id is not None:
            warehouses.resolve("import.warehouse_id", sync_file.import_.warehouse_id, problems)
    if sync_file.stock is not None:
        for i, warehouse_id in enumerate(sync_file.stock.warehouse_ids):
            warehouses.resolve(f"stock.warehouse_ids[{i}]", warehouse_id, problems)
    if problems:
        where = sync_file.path or "<sync file>"
        raise SyncFileError(
            f"{where}: names the warehouse does not know ({len(problems)}):\n  " + "\n  ".join(problems)
        )
    unmapped = None if sync_file.unmapped_status == "leave" else int(sync_file.unmapped_status)
    return ResolvedSyncFile(sync_file, status_map, unmapped, trigger_id, carriers, account_tag_id)
