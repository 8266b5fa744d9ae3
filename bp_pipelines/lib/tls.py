"""The TLS context every API client shares."""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once per process: building one loads the CA bundle (~30 ms), and
    every `httpx.Client` without one builds its own, even for a plain-HTTP base URL."""
    return httpx.create_ssl_context()
