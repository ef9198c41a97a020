"""``/v1/embargoes``: admins declare topics only the publicity department may announce (art. 14)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from gateway.api.common import ApiError, gateway_of, json_response, not_found, read_json, require_admin, route
from gateway.embargoes import MAX_ALTERNATIVES, SERVICE, EmbargoStore, check_exempt_accounts
from gateway.schemas import Strict


class EmbargoIn(Strict):
    topic: Annotated[str, Field(min_length=1, max_length=200)]
    # A string is one alternative; "校长+任命" or ["校长", "任命"] must co-occur in one sentence.
    terms: Annotated[list[str | list[str]], Field(min_length=1, max_length=MAX_ALTERNATIVES)]
    starts_at: str | None = None
    ends_at: str
    exempt_accounts: list[str] = []


def _service(request: web.Request) -> EmbargoStore:
    service = gateway_of(request).services.get(SERVICE)
    if service is None:
        raise ApiError(503, "unavailable", "the embargo service is not running")
    return service


async def create_embargo(request: web.Request) -> web.Response:
    admin = require_admin(request)
    gw = gateway_of(request)
    service = _service(request)
    body = await read_json(request, EmbargoIn)
    try:
        # Before the service validates the rest, as the console does; its ValueError names the field.
        await gw.store.call(check_exempt_accounts, gw.store, body.exempt_accounts)
        embargo = await gw.store.call(
            service.create, body.topic, body.terms, body.ends_at, starts_at=body.starts_at,
            exempt_accounts=body.exempt_accounts, actor=admin.id,
        )
    except ValueError as exc:
        message = str(exc)
        raise ApiError(422, "invalid_field", message, field=message.split(":", 1)[0]) from None
    return json_response({"embargo": embargo.to_json()}, status=201)


async def list_embargoes(request: web.Request) -> web.Response:
    require_admin(request)
    include_past = request.query.get("all", "") in ("1", "true", "yes")
    return json_response({"embargoes": [e.to_json() for e in _service(request).list(include_past)]})


async def lift_embargo(request: web.Request) -> web.Response:
    admin = require_admin(request)
    gw = gateway_of(request)
    service = _service(request)
    embargo_id = request.match_info["id"]
    try:
        embargo = await gw.store.call(service.lift, embargo_id, admin.id)
    except KeyError:
        raise not_found("embargo", embargo_id) from None
    return json_response({"embargo": embargo.to_json()})


def setup(app: web.Application) -> None:
    route(app, "POST", "/v1/embargoes", create_embargo, body=EmbargoIn, status=201,
          summary="Declare an embargoed topic (admin)", errors=(403, 422))
    route(app, "GET", "/v1/embargoes", list_embargoes, query={"all": "1 to include past embargoes"},
          summary="Embargoes in force or to come (admin)", errors=(403,))
    route(app, "DELETE", "/v1/embargoes/{id}", lift_embargo, summary="Lift an embargo now (admin)",
          errors=(403, 404))
