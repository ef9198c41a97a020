"""``/healthz``, ``/metrics`` and ``/v1/openapi.json``."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import caller, gateway_of, json_response, route
from gateway.metrics import CONTENT_TYPE
from gateway.openapi import build_document


async def healthz(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    await gw.store.call(gw.store.query, "SELECT 1")
    return json_response({"ok": True, "checkers": sorted(gw.checkers), "targets": sorted(gw.publish_targets)})


async def metrics(request: web.Request) -> web.Response:
    caller(request)
    body = await gateway_of(request).store.call(gateway_of(request).metrics.render)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def openapi(request: web.Request) -> web.Response:
    return json_response(build_document(request.app))


def setup(app: web.Application) -> None:
    route(app, "GET", "/healthz", healthz, summary="Liveness and what is loaded", response="Health", auth=False)
    route(app, "GET", "/metrics", metrics, summary="Prometheus metrics (text format)", response="text")
    route(app, "GET", "/v1/openapi.json", openapi, summary="This document", response="object")
