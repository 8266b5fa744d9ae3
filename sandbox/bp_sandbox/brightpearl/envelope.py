"""Response envelopes: `{"response": ...}` or `{"errors": [{"code", "message"}]}`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

THROTTLE_MESSAGE = "You have sent too many requests. Please wait before sending another request"
# Sandbox choice (the exact text for a bad private-app token is unconfirmed): the older documented form.
NOT_AUTHENTICATED = "Not authenticated. You must provide a valid authentication token."


@dataclass
class BpResponse:
    status: int
    body: Any  # JSON-serialisable document (already enveloped)
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class BpError(Exception):
    """An API error with the documented envelope; raised by handlers, rendered by the dispatcher."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> BpResponse:
        return BpResponse(self.status, {"errors": [{"code": self.code, "message": self.message}]})


def ok(payload: Any, **siblings: Any) -> BpResponse:
    return BpResponse(200, {"response": payload, **siblings})


def bad_request(message: str, code: str = "CMNC-400") -> BpError:
    return BpError(400, code, message)


def not_found(message: str, code: str = "CMNC-404") -> BpError:
    return BpError(404, code, message)
