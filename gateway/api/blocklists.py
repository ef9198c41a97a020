"""``/v1/blocklists``: admins add and remove blocklist terms (effective for the next draft)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from gateway.api.common import ApiError, gateway_of, json_response, not_found, read_json, require_admin, route
from gateway.blocklists import SERVICE, BlocklistStore
from gateway.schemas import Strict
from gateway.text import BlocklistError

TERMS_MAX = 10_000


class TermsIn(Strict):
    """Terms as term lines (``机密 | policy=boundary``) or objects (``{"term": "机密", "policy": "boundary"}``)."""

    terms: Annotated[list[str | dict[str, Any]], Field(min_length=1, max_length=TERMS_MAX)]


def _service(request: web.Request) -> BlocklistStore:
    service = gateway_of(request).services.get(SERVICE)
    if service is None:
        raise ApiError(503, "unavailable", "the blocklist service is not running")
    return service


def _list_name(request: web.Request, service: BlocklistStore) -> str:
    name = request.match_info["list"]
    if name not in service.names():
        raise not_found("blocklist", name)
    return name


def _invalid(exc: BlocklistError) -> ApiError:
    first = exc.problems[0]
    field = first.split(" ", 1)[0] if first.startswith("terms") else "terms"
    return ApiError(422, "invalid_term", first, field=field, problems=exc.problems[:50])


async def _change(request: web.Request, op: str) -> web.Response:
    admin = require_admin(request)
    gw = gateway_of(request)
    service = _service(request)
    name = _list_name(request, service)
    body = await read_json(request, TermsIn)
    change = service.add_terms if op == "add" else service.remove_terms
    try:
        result = await gw.store.call(change, name, body.terms, admin.id, reload=False)
    except BlocklistError as exc:
        raise _invalid(exc) from None
    # The new automaton is built off the database thread; screening keeps
    # using the old one until the reference is swapped, then the next draft
    # sees the change, before this response is sent.
    await gw.run_cpu(service.reload)
    return json_response(result.to_json())


async def add_terms(request: web.Request) -> web.Response:
    return await _change(request, "add")


async def remove_terms(request: web.Request) -> web.Response:
    return await _change(request, "remove")


async def list_blocklists(request: web.Request) -> web.Response:
    require_admin(request)
    service = _service(request)
    lists = [
        {"name": bl.name, "category": bl.category, "severity": bl.severity.value, "policy": bl.policy,
         "terms": len(bl.terms)}
        for bl in service.snapshot.lists.values()
    ]
    return json_response({"blocklists": sorted(lists, key=lambda b: b["name"])})


async def get_blocklist(request: web.Request) -> web.Response:
    require_admin(request)
    service = _service(request)
    return json_response({"blocklist": service.describe(_list_name(request, service))})


def setup(app: web.Application) -> None:
    route(app, "GET", "/v1/blocklists", list_blocklists, summary="Blocklists and their sizes (admin)", errors=(403,))
    route(app, "GET", "/v1/blocklists/{list}", get_blocklist, summary="One blocklist's effective terms (admin)",
          errors=(403, 404))
    route(app, "POST", "/v1/blocklists/{list}/terms", add_terms, body=TermsIn,
          summary="Add terms to a blocklist (admin; effective for the next draft)", errors=(403, 404, 422))
    route(app, "DELETE", "/v1/blocklists/{list}/terms", remove_terms, body=TermsIn,
          summary="Remove terms from a blocklist (admin; effective for the next draft)", errors=(403, 404, 422))
