"""Route table matching `{service}/{resource}` paths; the template doubles as the request-count key."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..state import Fault, Store
from .envelope import BpError, BpResponse, bad_request
from .formatting import Formatter
from .idsets import IdSetError, count_ids, iter_ids, parse_id_set


@dataclass
class ApiState:
    """Per-app mutable state that is not world data."""

    pending_shifts: dict[str, tuple[str, int]] = field(default_factory=dict)  # endpoint -> (table, row id)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Ctx:
    store: Store
    fmt: Formatter
    method: str
    path: str
    args: tuple[str, ...]
    params: Mapping[str, str]
    body: bytes
    headers: Mapping[str, str]
    fault: Fault | None
    state: ApiState
    endpoint: str

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"")
        except ValueError as exc:
            raise bad_request("You must supply a JSON formatted body with your request", "CMNC-010") from exc


Handler = Callable[[Ctx], BpResponse]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    message_type: str

    def regex(self) -> re.Pattern[str]:
        parts = []
        for seg in self.template.split("/"):
            parts.append(r"([^/]+)" if seg == "{ids}" else r"(\d+)" if seg == "{id}" else re.escape(seg))
        return re.compile("^" + "/".join(parts) + "$")


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._routes = [(r, r.regex()) for r in routes]

    def match(self, method: str, path: str) -> tuple[Route | None, tuple[str, ...], bool]:
        """-> (route, captured segments, path known under another method)."""
        clean = path.strip("/")
        known = False
        for route, pattern in self._routes:
            m = pattern.match(clean)
            if m:
                if route.method == method:
                    return route, m.groups(), True
                known = True
        return None, (), known


def id_list(text: str, limit: int | None, resource: str) -> list[int]:
    """Parse an ID set from the URL; more ids than `limit` is a 400 (sandbox choice, docs/sandbox.md)."""
    try:
        ranges = parse_id_set(text)
    except IdSetError as exc:
        raise bad_request(str(exc)) from exc
    n = count_ids(ranges)
    if limit is not None and n > limit:
        raise BpError(400, "CMNC-400", f"The ID set requests {n} {resource}; at most {limit} are allowed per request")
    return list(iter_ids(ranges))
