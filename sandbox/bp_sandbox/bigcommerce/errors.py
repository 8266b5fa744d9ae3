"""Error bodies: V2 is a JSON array of {status, message[, details]}, V3 an object {status, title, type, errors}."""

from __future__ import annotations

from typing import Any, Literal

from starlette.responses import JSONResponse, Response

Version = Literal["v2", "v3"]
STATUS_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"


class ApiError(Exception):
    """Raised by handlers; the gateway renders it in the style of the API version being served."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        problem: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}
        self.details = details
        self.problem = problem  # inventory 422s use application/problem+json

    def render(self, version: Version) -> Response:
        if version == "v2":
            return v2_error(self.status, self.message, self.details)
        return v3_error(self.status, self.message, self.errors, problem=self.problem)


def v2_error(status: int, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    item: dict[str, Any] = {"status": status, "message": message}
    if details is not None:
        item["details"] = details
    return JSONResponse([item], status_code=status)


def v3_error(status: int, title: str, errors: dict[str, Any] | None = None, *, problem: bool = False) -> JSONResponse:
    body = {"status": status, "title": title, "type": STATUS_TYPE, "errors": errors or {}}
    media = "application/problem+json" if problem else "application/json"
    return JSONResponse(body, status_code=status, media_type=media)


# -- the messages BigCommerce is known to use (reference §1) ------------------------------------
def not_found() -> ApiError:
    return ApiError(404, "The requested resource was not found.")


def read_only(field: str) -> ApiError:
    return ApiError(
        400, f"The field '{field}' cannot be written to. Please remove it from your request before trying again."
    )


def not_supported(field: str) -> ApiError:
    return ApiError(400, f"The field '{field}' is not supported by this resource.")


def invalid_field(field: str) -> ApiError:
    """Sandbox wording (unconfirmed) for a known field with an unusable value."""
    return ApiError(400, f"The field '{field}' is invalid.")


def required_missing(fields: list[str]) -> ApiError:
    return ApiError(400, f"Required fields missing [{', '.join(fields)}]")


def limit_too_large(max_limit: int) -> ApiError:
    return ApiError(413, "The specified limit exceeds the maximum allowed.", details={"max_limit": max_limit})


def batch_too_large(max_items: int) -> ApiError:
    return ApiError(413, f"The request payload is too large. The maximum items allowed in the array is {max_items}.")
