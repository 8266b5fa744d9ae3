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


def reconcile_max_pages() -> int:
    """Sweeps of at most this many search pages run on every incremental run (BP_RECONCILE_MAX_PAGES)."""
    return int(_number("BP_RECONCILE_MAX_PAGES", 10, "10"))


def using_sandbox() -> bool:
    """No Brightpearl token configured -> the embedded sandbox is the default."""
    return not os.environ.get("BRIGHTPEARL_ACCOUNT_TOKEN")
