"""``/v1/checkers``: what screening runs (admin)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import gateway_of, json_response, require_admin, route
from gateway.screening import checker_listing


async def list_checkers(request: web.Request) -> web.Response:
    require_admin(request)
    return json_response({"checkers": checker_listing(gateway_of(request))})


def setup(app: web.Application) -> None:
    route(app, "GET", "/v1/checkers", list_checkers, summary="Loaded checkers (admin)", response="Checkers", errors=(403,))
