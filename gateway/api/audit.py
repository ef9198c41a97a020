"""``/v1/audit``: read and verify the hash-chained audit log."""

from __future__ import annotations

from aiohttp import web

from gateway import audit
from gateway.accounts import get_account
from gateway.api.common import caller, forbidden, gateway_of, invalid, json_response, not_found, require_admin, route
from gateway.drafts import get_draft_row


async def list_entries(request: web.Request) -> web.Response:
    user = caller(request)
    store = gateway_of(request).store
    draft_id = request.query.get("draft")
    if draft_id is None:
        require_admin(request)
        try:
            limit = min(10_000, max(1, int(request.query.get("limit", "1000"))))
        except ValueError:
            raise invalid("limit", "must be an integer") from None
        return json_response({"entries": await store.call(audit.entries, store, None, limit)})
    row = await store.call(get_draft_row, store, draft_id)
    if row is None:
        raise not_found("draft", draft_id)
    account = await store.call(get_account, store, row["account"])
    if not (user.admin or (account is not None and account.responsible == user.id)):
        raise forbidden("the audit trail is for admins and the account's responsible person")
    return json_response({"entries": await store.call(audit.entries, store, draft_id)})


async def verify(request: web.Request) -> web.Response:
    require_admin(request)
    store = gateway_of(request).store
    return json_response(await store.call(audit.verify, store))


def setup(app: web.Application) -> None:
    route(app, "GET", "/v1/audit", list_entries, summary="Audit entries (of one draft with ?draft=ID)",
          query={"draft": "draft id", "limit": "at most 10000"}, response="AuditEntries", errors=(403, 404))
    route(app, "GET", "/v1/audit/verify", verify, summary="Re-check the whole hash chain (admin)", response="AuditVerify",
          errors=(403,))
