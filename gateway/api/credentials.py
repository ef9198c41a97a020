"""``/v1/accounts/{id}/credentials``: admins set an account's platform credentials.

The values are sealed at once (``gateway.secrets``) and never come back out
of any endpoint: answers say which fields are set, by whom and when. Nothing
here logs a request body.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from gateway import secrets
from gateway.api.common import account_row_or_404, gateway_of, invalid, json_response, not_found, read_json, require_admin, route
from gateway.schemas import Strict

Secret = Annotated[str, Field(min_length=1, max_length=2048)]

# platform -> (required fields, optional fields)
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "wechat": (("app_id", "app_secret"), ()),
    "weibo": (("access_token",), ("app_key", "app_secret", "refresh_token", "expires_at")),
}


class CredentialsIn(Strict):
    """Platform credentials; which fields a platform needs is in ``FIELDS``."""

    app_id: Secret | None = None
    app_secret: Secret | None = None
    access_token: Secret | None = None
    app_key: Secret | None = None
    refresh_token: Secret | None = None
    expires_at: Annotated[int, Field(ge=0, description="unix time the access token expires")] | None = None


def _platform_for(row: dict[str, Any]) -> str:
    target = json.loads(row["publish"]).get("target")
    return target if target in FIELDS else row["platform"]


def _check(platform: str, values: dict[str, Any]) -> None:
    if platform not in FIELDS:
        raise invalid("account", f"platform {platform!r} takes no credentials", code="no_credentials")
    required, optional = FIELDS[platform]
    for key in required:
        if key not in values:
            raise invalid(key, f"is required for {platform}")
    for key in values:
        if key not in required and key not in optional:
            raise invalid(key, f"is not a {platform} credential")


async def put_credentials(request: web.Request) -> web.Response:
    admin = require_admin(request)
    row = await account_row_or_404(request, request.match_info["id"])
    body = await read_json(request, CredentialsIn)
    values = body.model_dump(exclude_none=True)
    platform = _platform_for(row)
    _check(platform, values)
    store = gateway_of(request).store
    shown = await store.call(secrets.set_credentials, store, row["id"], platform, values, admin.id)
    return json_response({"credentials": shown})


async def get_credentials(request: web.Request) -> web.Response:
    require_admin(request)
    row = await account_row_or_404(request, request.match_info["id"])
    store = gateway_of(request).store
    return json_response({"credentials": await store.call(secrets.credentials_status, store, row["id"])})


async def delete_credentials(request: web.Request) -> web.Response:
    admin = require_admin(request)
    row = await account_row_or_404(request, request.match_info["id"])
    store = gateway_of(request).store
    if not await store.call(secrets.delete_credentials, store, row["id"], admin.id):
        raise not_found("credentials of account", row["id"])
    return json_response({"credentials": await store.call(secrets.credentials_status, store, row["id"])})


def setup(app: web.Application) -> None:
    path = "/v1/accounts/{id}/credentials"
    route(app, "PUT", path, put_credentials, summary="Set the account's platform credentials (admin; never returned)",
          body=CredentialsIn, response="object", errors=(403, 404, 422))
    route(app, "GET", path, get_credentials, summary="Which platform credentials are set (admin; no values)",
          response="object", errors=(403, 404))
    route(app, "DELETE", path, delete_credentials, summary="Remove the account's platform credentials (admin)",
          response="object", errors=(403, 404))
