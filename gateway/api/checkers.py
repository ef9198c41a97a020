"""``/v1/checkers``: what screening runs (admin)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import gateway_of, json_response, require_admin, route


async def list_checkers(request: web.Request) -> web.Response:
    require_admin(request)
    gw = gateway_of(request)
    disabled = set(gw.config.disabled_plugins)
    checkers = [
        {
            "name": c.name,
            "version": getattr(c, "version", "0"),
            "description": getattr(c, "description", ""),
            "enabled": True,
            "timeout": gw.plugin_settings(c.name).get("timeout") or getattr(c, "timeout", None) or gw.config.checker_timeout,
        }
        for c in gw.checkers.values()
    ]
    checkers += [
        {"name": name, "version": "", "description": "disabled in the configuration", "enabled": False}
        for name in sorted(disabled) if name not in gw.checkers
    ]
    return json_response({"checkers": checkers})


def setup(app: web.Application) -> None:
    route(app, "GET", "/v1/checkers", list_checkers, summary="Loaded checkers (admin)", response="Checkers", errors=(403,))
