"""``/v1/accounts``: register and change official accounts (admin)."""

from __future__ import annotations

import sqlite3
from typing import Any

from aiohttp import web

from gateway import accounts
from gateway.api.common import (
    ApiError,
    account_row_or_404,
    caller,
    gateway_of,
    invalid,
    json_response,
    read_json,
    require_admin,
    route,
)
from gateway.auth import can_read_account
from gateway.schemas import AccountIn, AccountPatch, PublishIn
from gateway.services import Gateway


def _check_publish(gateway: Gateway, publish: PublishIn) -> dict[str, Any]:
    config = publish.model_dump(exclude_none=True)
    target = config["target"]
    if target not in gateway.publish_targets:
        raise invalid("publish.target", f"unknown target {target!r}; loaded: {sorted(gateway.publish_targets)}")
    for message in gateway.pm.hook.validate_publish_config(target=target, config=config):
        if message:
            field, _, text = message.partition(": ")
            raise invalid(field if text else "publish", text or message)
    return config


def _check_name(name: str, permits: dict[str, Any]) -> None:
    problem = accounts.school_mark_problem(name, permits)
    if problem:
        raise invalid(problem[0], problem[1], code="school_mark")


async def create_account(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_json(request, AccountIn)
    gw = gateway_of(request)
    values = body.model_dump(exclude_none=True)
    values["permits"] = body.permits.model_dump(exclude_none=True)
    _check_name(body.name, values["permits"])
    values["publish"] = _check_publish(gw, body.publish)
    store = gw.store
    try:
        await store.call(accounts.check_people, store, body.responsible, body.operators)
    except accounts.PeopleError as e:
        raise invalid(e.field, str(e), code="invalid_person") from None
    try:
        shown = await store.call(accounts.insert_account, store, values, admin)
    except sqlite3.IntegrityError:
        raise ApiError(409, "already_exists", f"id: account {body.id!r} already exists", field="id") from None
    return json_response({"account": shown}, status=201)


async def patch_account(request: web.Request) -> web.Response:
    admin = require_admin(request)
    account_id = request.match_info["id"]
    gw = gateway_of(request)
    store = gw.store
    row = await account_row_or_404(request, account_id)
    body = await read_json(request, AccountPatch)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    reason = changes.pop("reason", None)
    current = accounts.account_json(row)
    if "permits" in changes:
        changes["permits"] = body.permits.model_dump(exclude_none=True) if body.permits else {}
    permits = changes.get("permits", current["permits"])
    if "name" in changes or "permits" in changes:
        _check_name(changes.get("name", current["name"]), permits)
    if body.publish is not None:
        changes["publish"] = _check_publish(gw, body.publish)
    if "responsible" in changes or "operators" in changes:
        try:
            await store.call(
                accounts.check_people, store, changes.get("responsible", current["responsible"]),
                changes.get("operators", current["operators"]),
            )
        except accounts.PeopleError as e:
            raise invalid(e.field, str(e), code="invalid_person") from None
    if not changes:
        raise invalid("body", "names no change")
    shown = await store.call(accounts.update_account, store, account_id, changes, admin, reason)
    return json_response({"account": shown})


async def get_account(request: web.Request) -> web.Response:
    user = caller(request)
    account_id = request.match_info["id"]
    row = await account_row_or_404(request, account_id)
    if not can_read_account(user, accounts.account_from_row(row)):
        raise ApiError(403, "forbidden", f"{user.id!r} has no role on account {account_id!r}")
    return json_response({"account": accounts.account_json(row)})


async def list_accounts(request: web.Request) -> web.Response:
    user = caller(request)
    store = gateway_of(request).store
    rows = await store.call(store.query, "SELECT * FROM accounts ORDER BY id")
    visible = [accounts.account_json(r) for r in rows if can_read_account(user, accounts.account_from_row(r))]
    return json_response({"accounts": visible})


def setup(app: web.Application) -> None:
    route(app, "POST", "/v1/accounts", create_account, summary="Register an account (admin)", body=AccountIn,
          status=201, response="AccountEnvelope", errors=(403, 409, 422))
    route(app, "GET", "/v1/accounts", list_accounts, summary="Accounts the caller has a role on", response="Accounts")
    route(app, "GET", "/v1/accounts/{id}", get_account, summary="One account", response="AccountEnvelope", errors=(403, 404))
    route(app, "PATCH", "/v1/accounts/{id}", patch_account, summary="Change people, permits, policy, target or status (admin)",
          body=AccountPatch, response="AccountEnvelope", errors=(403, 404, 422))
