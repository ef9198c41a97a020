"""The HTTP API v1: thin handlers over the workflow. One module per area."""

from __future__ import annotations

from aiohttp import web

from gateway.api import accounts, audit, checkers, drafts, system, users
from gateway.api import images as images_api

# Each module exposes setup(app); feature modules add themselves here.
MODULES = [system, users, accounts, drafts, checkers, audit]
MODULES.append(images_api)  # issue 4: the image registry


def setup_routes(app: web.Application) -> None:
    for module in MODULES:
        module.setup(app)
