"""``/v1/units``, ``/v1/users/{id}/deactivate``, ``/v1/people/…``: people by articles 9 and 10 (admin)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from typing import Annotated

from aiohttp import web
from pydantic import Field

from gateway import people
from gateway.accounts import PeopleError
from gateway.api.common import ApiError, gateway_of, invalid, json_response, not_found, read_json, require_admin, route
from gateway.errors import conflict
from gateway.schemas import COMMENT_MAX, NAME_MAX, Id, Strict

Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]


class UnitIn(Strict):
    id: Id
    name: Name
    first_responsible: Id


class UnitPatch(Strict):
    name: Name | None = None
    first_responsible: Id | None = None


class DeactivateIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=COMMENT_MAX, description="why the person left: graduated, departed, …")]


def query_time(request: web.Request, name: str) -> str | None:
    """An ISO 8601 query parameter with offset, as the UTC text the database stores."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid(name, f"{raw!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise invalid(name, "needs an offset (for example +08:00)")
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


async def create_unit(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_json(request, UnitIn)
    store = gateway_of(request).store
    try:
        unit = await store.call(people.create_unit, store, body.id, body.name, body.first_responsible, admin)
    except PeopleError as e:
        raise invalid(e.field, str(e), code="invalid_person") from None
    except sqlite3.IntegrityError:
        raise ApiError(409, "already_exists", f"id: unit {body.id!r} already exists", field="id") from None
    return json_response({"unit": unit}, status=201)


async def patch_unit(request: web.Request) -> web.Response:
    admin = require_admin(request)
    unit_id = request.match_info["id"]
    store = gateway_of(request).store
    if await store.call(people.get_unit, store, unit_id) is None:
        raise not_found("unit", unit_id)
    body = await read_json(request, UnitPatch)
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise invalid("body", "names no change")
    try:
        unit = await store.call(people.update_unit, store, unit_id, changes, admin)
    except PeopleError as e:
        raise invalid(e.field, str(e), code="invalid_person") from None
    return json_response({"unit": unit})


async def list_units(request: web.Request) -> web.Response:
    require_admin(request)
    store = gateway_of(request).store
    return json_response({"units": await store.call(people.list_units, store)})


async def deactivate(request: web.Request) -> web.Response:
    admin = require_admin(request)
    user_id = request.match_info["id"]
    body = await read_json(request, DeactivateIn)
    store = gateway_of(request).store
    try:
        result = await store.call(people.deactivate_user, store, user_id, body.reason, admin)
    except KeyError:
        raise not_found("user", user_id) from None
    except people.StateError as e:
        raise conflict(e.code, str(e)) from None
    return json_response(result)


async def changes(request: web.Request) -> web.Response:
    require_admin(request)
    since, until = query_time(request, "since"), query_time(request, "until")
    store = gateway_of(request).store
    return json_response({"changes": await store.call(people.people_changes, store, since, until),
                          "report_workdays": people.REPORT_WORKDAYS})


async def orphans(request: web.Request) -> web.Response:
    require_admin(request)
    store = gateway_of(request).store
    return json_response(await store.call(people.orphaned, store))


def setup(app: web.Application) -> None:
    route(app, "POST", "/v1/units", create_unit, summary="Register a unit and its first responsible person (admin)",
          body=UnitIn, status=201, errors=(403, 409, 422))
    route(app, "GET", "/v1/units", list_units, summary="Units with their first responsible person (admin)", errors=(403,))
    route(app, "PATCH", "/v1/units/{id}", patch_unit, summary="Rename a unit or change its first responsible person (admin)",
          body=UnitPatch, errors=(403, 404, 422))
    route(app, "POST", "/v1/users/{id}/deactivate", deactivate,
          summary="A person left: deactivate, revoke every token, flag accounts left without people (admin)",
          body=DeactivateIn, errors=(403, 404, 409, 422))
    route(app, "GET", "/v1/people/changes", changes, summary="Every change of people with its report date (article 10, admin)",
          query={"since": "ISO 8601 time (inclusive)", "until": "ISO 8601 time (exclusive)"}, errors=(403, 422))
    route(app, "GET", "/v1/people/orphans", orphans,
          summary="Accounts without an active responsible person or operator; units without a first responsible (admin)",
          errors=(403,))
