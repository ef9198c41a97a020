"""Typed application keys, all in one place."""

from __future__ import annotations

from aiohttp import web

from gateway.services import Gateway

GATEWAY = web.AppKey("gateway", Gateway)
OPENAPI_OPERATIONS = web.AppKey("openapi_operations", list)
