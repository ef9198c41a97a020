"""``/v1/users`` and ``/v1/me``: people and their tokens (admin)."""

from __future__ import annotations

import sqlite3

from aiohttp import web

from gateway import auth
from gateway.accounts import roles_on_accounts
from gateway.api.common import (
    ApiError,
    caller,
    gateway_of,
    json_response,
    read_json,
    require_admin,
    route,
)
from gateway.schemas import UserIn


async def create_user(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_json(request, UserIn)
    store = gateway_of(request).store
    try:
        user, token = await store.call(
            auth.create_user, store, id=body.id, name=body.name, kind=body.kind, admin=body.admin, actor=admin.id
        )
    except sqlite3.IntegrityError:
        raise ApiError(409, "already_exists", f"id: user {body.id!r} already exists", field="id") from None
    return json_response({"user": user.to_json(), "token": token}, status=201)


async def list_users(request: web.Request) -> web.Response:
    require_admin(request)
    store = gateway_of(request).store
    rows = await store.call(store.query, "SELECT * FROM users ORDER BY id")
    return json_response({"users": [auth.User.from_row(r).to_json() for r in rows]})


async def me(request: web.Request) -> web.Response:
    user = caller(request)
    store = gateway_of(request).store
    held = await store.call(roles_on_accounts, store, user.id)
    # Account by account (id order), the responsible role before the operator one.
    roles = [{"account": a, "role": "responsible"} for a in held.responsible]
    roles += [{"account": a, "role": "operator"} for a in held.operator]
    roles.sort(key=lambda r: (r["account"], r["role"] != "responsible"))
    return json_response({"user": user.to_json(), "roles": roles})


def setup(app: web.Application) -> None:
    route(app, "POST", "/v1/users", create_user, summary="Create a user and its first token (admin)", body=UserIn,
          status=201, response="UserWithToken", errors=(403, 409, 422))
    route(app, "GET", "/v1/users", list_users, summary="List users (admin)", response="Users", errors=(403,))
    route(app, "GET", "/v1/me", me, summary="The caller and their roles per account", response="Me")
