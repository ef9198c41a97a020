"""The HTTP API v1: thin handlers over the workflow. One module per area."""

from __future__ import annotations

from aiohttp import web

from gateway.api import accounts, audit, checkers, drafts, system, users
from gateway.api import images as images_api
from gateway import console  # issue 5: the review console (/console/, cookie sessions)
from gateway.api import credentials as credentials_api
from gateway import frontdoor
from gateway.api import blocklists as blocklists_api, embargoes as embargoes_api
from gateway.api import governance as governance_api, people as people_api

# Each module exposes setup(app); feature modules add themselves here.
MODULES = [system, users, accounts, drafts, checkers, audit]
MODULES.append(images_api)  # issue 4: the image registry
MODULES.append(console)
MODULES.append(credentials_api)  # issue 6: platform credentials, sealed
MODULES.append(frontdoor)  # issue 6: the WeChat-compatible front door (/cgi-bin/…)
MODULES += [blocklists_api, embargoes_api]  # issue 3: text checkers' admin data
MODULES += [people_api, governance_api]  # issue 7: people, life cycle, statistics, directives, reports


def setup_routes(app: web.Application) -> None:
    for module in MODULES:
        module.setup(app)
