"""Environment-driven configuration. Every variable here is a documented promise (see .env.example)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_BRIGHTPEARL_BASE_URL = "https://euw1.brightpearlconnect.com"
DEFAULT_BIGCOMMERCE_BASE_URL = "https://api.bigcommerce.com"
DEFAULT_SYNC_START_DATE = "2024-01-01"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the variable and the fix."""


def check_base_url(name: str, url: str) -> str:
    """Accept https anywhere, plain http only on loopback (a token must never cross a network in clear)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url.rstrip("/")
    raise ConfigError(
        f"{name}={url!r} is not allowed: use an https:// URL (plain http:// is accepted only for "
        "127.0.0.1/localhost/::1, e.g. the sandbox)."
    )


def warehouse_path() -> Path:
    raw = os.environ.get("BP_WAREHOUSE_PATH") or str(REPO_ROOT / "warehouse.duckdb")
    return Path(raw).expanduser().resolve()


def sandbox_state_dir() -> Path:
    """Where `make run`/`make dev` keep the sandbox's store: beside the warehouse, one per warehouse (the two
    must agree, so `make reset-warehouse` resets both)."""
    path = warehouse_path()
    return path.with_name(f"{path.name}.sandbox")


def sync_start_date() -> date:
    raw = os.environ.get("BP_SYNC_START_DATE") or DEFAULT_SYNC_START_DATE
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"BP_SYNC_START_DATE={raw!r} is not a date: use YYYY-MM-DD, e.g. 2024-01-01.") from exc


def _number(name: str, default: float, example: str) -> float:
    raw = os.environ.get(name) or str(default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ConfigError(f"{name}={raw!r} is not a non-negative number: use e.g. {name}={example}.")
    return value


def reconcile_every_hours() -> float:
    """How often incremental runs sweep every id when the sweep is not cheap (BP_RECONCILE_EVERY_HOURS)."""
    return _number("BP_RECONCILE_EVERY_HOURS", 24, "24")


def open_notes_days() -> int:
    """Unshipped goods-out notes created this recently are re-searched on every run (BP_OPEN_NOTES_DAYS)."""
    return int(_number("BP_OPEN_NOTES_DAYS", 30, "30"))


def reconcile_max_pages() -> int:
    """Sweeps of at most this many search pages run on every incremental run (BP_RECONCILE_MAX_PAGES)."""
    return int(_number("BP_RECONCILE_MAX_PAGES", 10, "10"))


def using_sandbox() -> bool:
    """No Brightpearl token configured -> the embedded sandbox is the default."""
    return not os.environ.get("BRIGHTPEARL_ACCOUNT_TOKEN")


# --- .env ----------------------------------------------------------------------------------------------------------
def env_file() -> Path | None:
    """The `.env` read by `make run`, `make dev` and the code location: BP_ENV_FILE, else `.env` at the repo root.
    BP_ENV_FILE=none turns it off (the test suite does, so a developer's real credentials never reach a test)."""
    raw = os.environ.get("BP_ENV_FILE")
    if raw and raw.lower() == "none":
        return None
    return Path(raw).expanduser() if raw else REPO_ROOT / ".env"


def load_env_file() -> list[str]:
    """Copy the `.env` variables that are not already set into the environment (set variables win). Returns the
    names taken from the file. A relative BP_WAREHOUSE_PATH in the file is relative to the file's folder, so
    `make dev` (whose Dagster runs elsewhere) and `make run` open the same warehouse."""
    from dotenv import dotenv_values  # python-dotenv (also a dagster dependency)

    path = env_file()
    if path is None or not path.is_file():
        return []
    taken = []
    for name, value in dotenv_values(path).items():
        if value is None or name in os.environ:
            continue
        if name == "BP_WAREHOUSE_PATH" and value and not Path(value).expanduser().is_absolute():
            value = str((path.resolve().parent / value).resolve())
        os.environ[name] = value
        taken.append(name)
    return taken


# --- credential groups ----------------------------------------------------------------------------------------------
# Variables that only work together; each group is all set (a real service) or all unset (the sandbox).
# The base URLs have defaults (Brightpearl's euw1 datacentre, BigCommerce's API host) and are not required.
BRIGHTPEARL_GROUP = ("BRIGHTPEARL_ACCOUNT", "BRIGHTPEARL_APP_REF", "BRIGHTPEARL_ACCOUNT_TOKEN")
STOREFRONT_GROUP = ("BIGCOMMERCE_STORE_HASH", "BIGCOMMERCE_ACCESS_TOKEN")


def check_credential_groups() -> None:
    """One ConfigError naming exactly the missing variables of a half-set group, or a storefront without Brightpearl
    (the sandbox's shipments would be pushed to a real store)."""
    for group, what, how in (
        (BRIGHTPEARL_GROUP, "Brightpearl", "private-app credentials: Brightpearl > App Store > Private apps"),
        (
            STOREFRONT_GROUP,
            "The storefront (BigCommerce)",
            "API account: BigCommerce > Settings > Store-level API accounts",
        ),
    ):
        missing = [name for name in group if not os.environ.get(name)]
        if missing and len(missing) < len(group):
            raise ConfigError(
                f"{what} is half configured: {', '.join(missing)} not set. Set all of {', '.join(group)} ({how}; "
                "see README), or none of them to use the sandbox."
            )
    storefront_set = all(os.environ.get(name) for name in STOREFRONT_GROUP)
    if storefront_set and using_sandbox():
        raise ConfigError(
            f"{', '.join(STOREFRONT_GROUP)} are set but {', '.join(BRIGHTPEARL_GROUP)} are not: the sandbox's orders "
            "would meet a real store. Set the Brightpearl variables too, or unset the BIGCOMMERCE_* ones to use the "
            "sandbox for both."
        )
    base_url = os.environ.get("BRIGHTPEARL_BASE_URL") or DEFAULT_BRIGHTPEARL_BASE_URL
    check_base_url("BRIGHTPEARL_BASE_URL", base_url)
    if storefront_set:
        check_base_url("BIGCOMMERCE_BASE_URL", os.environ.get("BIGCOMMERCE_BASE_URL") or DEFAULT_BIGCOMMERCE_BASE_URL)


# --- sync settings a user tunes (one place for schedules, `make run` and UI launches) --------------------------------
DEFAULT_INCREMENTAL_CRON = "*/15 * * * *"
DEFAULT_RECONCILIATION_CRON = "30 2 * * *"


def overlap_minutes() -> int:
    """Incremental runs re-read this much before the stored watermark (BP_OVERLAP_MINUTES)."""
    return int(_number("BP_OVERLAP_MINUTES", 10, "10"))


def reread_days() -> int:
    """Reconciliation re-reads records touched in the last N days (BP_REREAD_DAYS)."""
    return int(_number("BP_REREAD_DAYS", 3, "3"))


def incremental_cron() -> str:
    return os.environ.get("BP_INCREMENTAL_CRON") or DEFAULT_INCREMENTAL_CRON


def reconciliation_cron() -> str:
    return os.environ.get("BP_RECONCILIATION_CRON") or DEFAULT_RECONCILIATION_CRON


def sync_settings() -> dict[str, float | int]:
    """The tunable SyncConfig values, read from the environment now (schedules call this on every tick)."""
    return {
        "overlap_minutes": overlap_minutes(),
        "reread_days": reread_days(),
        "reconcile_every_hours": reconcile_every_hours(),
        "reconcile_max_pages": reconcile_max_pages(),
        "open_notes_days": open_notes_days(),
    }


# --- library warnings -------------------------------------------------------------------------------------------------
def quiet_library_warnings() -> None:
    """Silence the library warnings every process of `make run` / `make dev` repeats about features this project
    uses on purpose (Dagster marks `backfill_policy`, `pool`, ... as beta/preview). Targeted by category, so any
    other warning still shows."""
    import warnings

    import dagster as dg

    for category in (dg.BetaWarning, dg.PreviewWarning):
        warnings.filterwarnings("ignore", category=category)
