"""Conventions every API module follows: errors, JSON bodies, callers, routes.

- Raise ``ApiError(status, code, message)``; the error middleware turns it (and
  any other exception) into ``{"error": {"code", "message"}}``.
- Read bodies with ``await read_json(request, Model)``: 400 for bytes that are
  not UTF-8 or not JSON, 422 naming the field for anything pydantic refuses.
- ``caller(request)`` is the authenticated user; ``require_admin`` checks the role.
- Add routes with ``route(app, method, path, handler, ...)`` so the OpenAPI
  document at ``/v1/openapi.json`` describes them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Awaitable, Callable, NoReturn, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.appkeys import GATEWAY, OPENAPI_OPERATIONS
from gateway.auth import User
from gateway.accounts import get_row
from gateway.errors import ApiError, conflict, forbidden, invalid, not_found, unknown_account  # noqa: F401 — re-exported for API modules
from gateway.services import Gateway

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

USER_KEY = web.RequestKey("draftgate_user", User)


def field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def validation_error(exc: ValidationError) -> ApiError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = field_path(tuple(first["loc"]))
    if first["type"] == "missing":
        message = f"{field}: is required"
    elif first["type"] == "extra_forbidden":
        message = f"{field}: is not a known field"
    else:
        msg = first["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        message = f"{field}: {msg}"
    details = [{"field": field_path(tuple(e["loc"])), "message": e["msg"]} for e in errors[:20]]
    return ApiError(422, "invalid_field", message, field=field, errors=details)


async def read_body_json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, "invalid_encoding", f"body: not valid UTF-8 at byte {e.start}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ApiError(400, "invalid_json", f"body: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except ValueError as e:
        # An integer past Python's digit limit is well-formed JSON the decoder still refuses.
        raise ApiError(400, "invalid_json", f"body: not valid JSON ({e})") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "body: not valid JSON (nested too deeply)") from None
    if _SURROGATE_ESCAPE.search(text):
        refuse_lone_surrogates(data)
    return data


# Text decoded from UTF-8 holds no surrogates, so a lone one can only come from a \uD800-\uDFFF escape.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def refuse_lone_surrogates(data: Any) -> None:
    """422 naming the first string (value or key) that decodes to a lone surrogate.

    Such a string is not Unicode: SQLite and every UTF-8 encoder refuse it later,
    where the failure would be a 500 instead of an answer naming the field.
    """
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:  # iterative: the document may nest nearly as deep as the decoder allows
        loc, value = stack.pop()
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                if not _is_unicode(key):
                    _lone_surrogate_at((*loc, key))
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, i), item) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, str) and not _is_unicode(value):
            _lone_surrogate_at(loc)


def _lone_surrogate_at(loc: tuple[Any, ...]) -> NoReturn:
    # The name may hold the surrogate itself, which the JSON answer could not encode.
    field = field_path(loc).encode("utf-8", "backslashreplace").decode("utf-8")
    raise ApiError(422, "invalid_field", f"{field}: contains a lone UTF-16 surrogate (not valid Unicode)", field=field)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def read_json(request: web.Request, model: type[M]) -> M:
    data = await read_body_json(request)
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_field", "body: must be a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise validation_error(e) from None


def gateway_of(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def caller(request: web.Request) -> User:
    user = request.get(USER_KEY)
    if user is None:
        raise ApiError(401, "unauthorized", "missing or unknown bearer token")
    return user


def require_admin(request: web.Request) -> User:
    user = caller(request)
    if not user.admin:
        raise forbidden("this action needs the admin role")
    return user


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def route(
    app: web.Application,
    method: str,
    path: str,
    handler: Handler,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    status: int = 200,
    response: str | None = None,
    query: dict[str, str] | None = None,
    tag: str = "draftgate",
    auth: bool = True,
    errors: tuple[int, ...] = (),
) -> None:
    """Add a route and describe it for the OpenAPI document."""
    app.router.add_route(method, path, handler)
    app[OPENAPI_OPERATIONS].append(
        {
            "method": method.lower(),
            "path": path,
            "summary": summary,
            "body": body,
            "status": status,
            "response": response,
            "query": query or {},
            "tag": tag,
            "auth": auth,
            "errors": errors,
        }
    )


async def account_row_or_404(request: web.Request, account_id: str) -> dict[str, Any]:
    """The stored row of the account named in the path; 404 when there is none."""
    store = gateway_of(request).store
    row = await store.call(get_row, store, account_id)
    if row is None:
        raise not_found("account", account_id)
    return row
