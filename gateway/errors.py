"""Errors the core raises for callers; the API's error middleware renders them as JSON."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update(self.details)
        return {"error": body}


def invalid(field: str, message: str, code: str = "invalid_field") -> ApiError:
    """A 422 naming ``field``."""
    return ApiError(422, code, f"{field}: {message}", field=field)


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident!r} does not exist")


def conflict(code: str, message: str) -> ApiError:
    return ApiError(409, code, message)


def unknown_account(field: str, account_id: str) -> ApiError:
    """A 422: an account named in a body (not in the path, where it is a 404) does not exist."""
    return invalid(field, f"account {account_id!r} does not exist", code="unknown_account")
