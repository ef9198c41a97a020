"""Drafts, revisions, the review queue and sign-off decisions."""

from __future__ import annotations

import re

from aiohttp import web

from gateway import workflow
from gateway.accounts import account_from_row, get_row
from gateway.api.common import caller, forbidden, gateway_of, invalid, json_response, not_found, read_json, route, unknown_account
from gateway.auth import can_read_account
from gateway.drafts import draft_json, list_drafts
from gateway.model import DraftStatus
from gateway.schemas import ID_PATTERN, DecisionIn, DraftIn, RevisionIn

STATUSES = tuple(s.value for s in DraftStatus)


async def submit_draft(request: web.Request) -> web.Response:
    user = caller(request)
    body = await read_json(request, DraftIn)
    draft, created = await workflow.submit(gateway_of(request), user, body, request.headers.get("Idempotency-Key"))
    return json_response({"draft": draft}, status=201)


async def submit_revision(request: web.Request) -> web.Response:
    user = caller(request)
    draft_id = request.match_info["id"]
    body = await read_json(request, RevisionIn)
    draft = await workflow.revise(gateway_of(request), user, draft_id, body)
    return json_response({"draft": draft}, status=201)


async def _readable_draft(request: web.Request) -> dict:
    user = caller(request)
    draft_id = request.match_info["id"]
    store = gateway_of(request).store
    draft = await store.call(draft_json, store, draft_id)
    if draft is None:
        raise not_found("draft", draft_id)
    row = await store.call(get_row, store, draft["account"])
    if row is None or not can_read_account(user, account_from_row(row)):
        raise forbidden(f"{user.id!r} has no role on account {draft['account']!r}")
    return draft


async def get_draft(request: web.Request) -> web.Response:
    return json_response({"draft": await _readable_draft(request)})


async def get_draft_list(request: web.Request) -> web.Response:
    user = caller(request)
    store = gateway_of(request).store
    account_id = request.query.get("account")
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise invalid("status", f"must be one of {', '.join(STATUSES)}")
    rows = await store.call(store.query, "SELECT * FROM accounts")
    readable = [r["id"] for r in rows if can_read_account(user, account_from_row(r))]
    if account_id is not None:
        if not re.match(ID_PATTERN, account_id) or account_id not in {r["id"] for r in rows}:
            raise unknown_account("account", account_id)
        if account_id not in readable:
            raise forbidden(f"{user.id!r} has no role on account {account_id!r}")
        readable = [account_id]
    try:
        limit = min(1000, max(1, int(request.query.get("limit", "200"))))
    except ValueError:
        raise invalid("limit", "must be an integer") from None
    drafts = await store.call(list_drafts, store, accounts=readable, status=status, limit=limit)
    return json_response({"drafts": drafts})


async def reviews(request: web.Request) -> web.Response:
    user = caller(request)
    store = gateway_of(request).store
    rows = await store.call(store.query, "SELECT id FROM accounts WHERE responsible = ?", (user.id,))
    drafts = await store.call(
        list_drafts, store, accounts=[r["id"] for r in rows], status="flagged", limit=1000, oldest_first=True
    )
    return json_response({"drafts": drafts})


async def decide(request: web.Request) -> web.Response:
    user = caller(request)
    draft_id = request.match_info["id"]
    body = await read_json(request, DecisionIn)
    draft = await workflow.decide(gateway_of(request), user, draft_id, body)
    return json_response({"draft": draft})


def setup(app: web.Application) -> None:
    route(app, "POST", "/v1/drafts", submit_draft, summary="Submit a draft; screening finishes inside the request",
          body=DraftIn, status=201, response="DraftEnvelope", errors=(400, 403, 409, 413, 422),
          query={})
    route(app, "GET", "/v1/drafts", get_draft_list, summary="Drafts of the accounts the caller has a role on",
          response="Drafts", query={"account": "account id", "status": "one of " + ", ".join(STATUSES), "limit": "at most 1000"},
          errors=(403, 422))
    route(app, "GET", "/v1/drafts/{id}", get_draft, summary="One draft with findings, decisions and publication",
          response="DraftEnvelope", errors=(403, 404))
    route(app, "POST", "/v1/drafts/{id}/revisions", submit_revision, summary="Submit a new revision (screened afresh)",
          body=RevisionIn, status=201, response="DraftEnvelope", errors=(403, 404, 409, 422))
    route(app, "GET", "/v1/reviews", reviews, summary="Flagged drafts waiting for the caller's sign-off", response="Drafts")
    route(app, "POST", "/v1/drafts/{id}/decision", decide, summary="Approve or reject a flagged draft (responsible person)",
          body=DecisionIn, response="DraftEnvelope", errors=(403, 404, 409, 422))
