"""The WeChat-compatible front door: tools that publish to WeChat can publish through the gateway.

Serves the platform's paths and shapes so a tool only changes its base URL
and token:

- ``GET /cgi-bin/token?grant_type=client_credential&appid=ACCOUNT&secret=API_TOKEN``
  → ``{access_token, expires_in}`` (a tool that fetches its own token keeps doing so);
  every other call takes ``?access_token=`` (that answer, or a plain draftgate API
  token when the caller operates exactly one account).
- ``POST /cgi-bin/media/uploadimg`` and ``/cgi-bin/material/add_material?type=image``
  keep the image for the next ``draft/add`` and answer ``url`` / ``media_id``.
- ``POST /cgi-bin/draft/add`` is a submission, screened like any other: the
  uploaded images become the draft's images (the cover first), the article's
  HTML its body. Answers ``{media_id}`` (the draft id).
- ``POST /cgi-bin/freepublish/submit`` answers ``publish_id`` when the draft
  passed or was approved (the gateway has queued it for the account's target);
  otherwise an error: 53599 while it awaits sign-off, 53503 when screening
  blocked it or its responsible person rejected it.
- ``POST /cgi-bin/freepublish/get`` reports the publication as ``publish_status``
  (1 publishing, 0 published with ``article_id``/``article_url``, 3 failed,
  4 refused by screening).

Answers are always HTTP 200 with WeChat's ``{errcode, errmsg}`` on errors.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets as _random
import time
from typing import Any, Awaitable, Callable

from aiohttp import BodyPartReader, web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ValidationError

from gateway import workflow
from gateway.accounts import account_from_row, get_row, roles_on_accounts
from gateway.api.common import gateway_of, refuse_lone_surrogates
from gateway.auth import User, can_read_account, user_for_token
from gateway.drafts import draft_json
from gateway.errors import ApiError
from gateway.schemas import DraftIn
from gateway.store import Store, utcnow

log = logging.getLogger("draftgate.frontdoor")

AWAITS_SIGNOFF = 53599
NOT_PASSED = 53503
TOKEN_TTL = 7200
_API_ERRCODE = {401: 40001, 403: 48001, 404: 40007, 409: 48004, 413: 45002, 422: 47001}


class WxError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg = errcode, errmsg


def wx(data: dict[str, Any]) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), content_type="application/json", charset="utf-8")


Handler = Callable[[web.Request], Awaitable[dict[str, Any]]]


def wechat_errors(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Every failure becomes WeChat's error shape; a tool never sees the v1 error format."""

    async def wrapped(request: web.Request) -> web.Response:
        try:
            return wx(await handler(request))
        except WxError as e:
            return wx({"errcode": e.errcode, "errmsg": e.errmsg})
        except ApiError as e:
            return wx({"errcode": _API_ERRCODE.get(e.status, -1), "errmsg": e.message})
        except web.HTTPRequestEntityTooLarge:
            return wx({"errcode": 45002, "errmsg": "content size out of limit"})
        except Exception:
            log.exception("front door failed", extra={"path": request.path})
            return wx({"errcode": -1, "errmsg": "system error"})

    return wrapped


# -- who is calling, for which account ---------------------------------------


async def _caller(request: web.Request) -> tuple[User, str | None]:
    """The user behind ``access_token`` and the account it names (``TOKEN~ACCOUNT``), if any."""
    raw = request.query.get("access_token", "")
    if not raw:
        raise WxError(41001, "access_token missing")
    token, _, account = raw.partition("~")
    store = gateway_of(request).store
    user = await store.call(user_for_token, store, token)
    if user is None:
        raise WxError(40001, "invalid credential, access_token is invalid or not latest")
    return user, account or None


def _operated_accounts(store: Store, user: User) -> list[str]:
    return roles_on_accounts(store, user.id, active_only=True).operator


async def _account_for(request: web.Request, user: User, named: str | None) -> str:
    if named:
        return named
    store = gateway_of(request).store
    accounts = await store.call(_operated_accounts, store, user)
    if len(accounts) != 1:
        raise WxError(40013, f"invalid appid: the token's user operates {len(accounts)} accounts; "
                             "get a token from /cgi-bin/token with appid set to the account id")
    return accounts[0]


async def token(request: web.Request) -> dict[str, Any]:
    q = request.query
    if q.get("grant_type") != "client_credential":
        raise WxError(40002, "invalid grant_type")
    store = gateway_of(request).store
    user = await store.call(user_for_token, store, q.get("secret", ""))
    if user is None:
        raise WxError(40125, "invalid appsecret")
    row = await store.call(get_row, store, q.get("appid", ""))
    if row is None or not can_read_account(user, account_from_row(row)):
        raise WxError(40013, "invalid appid")
    return {"access_token": f"{q['secret']}~{row['id']}", "expires_in": TOKEN_TTL}


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        raise WxError(44002, "empty post data")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors; so is an over-long integer
        raise WxError(47001, "data format error") from None
    if not isinstance(data, dict):
        raise WxError(47001, "data format error")
    refuse_lone_surrogates(data)
    return data


# -- media -------------------------------------------------------------------


def _save_media(store: Store, owner: str, kind: str, name: str, data: bytes) -> str:
    media_id = f"dgm{int(time.time()):x}{_random.token_hex(8)}"
    with store.transaction() as conn:
        conn.execute("INSERT INTO platform_frontdoor_media (id, owner, kind, name, data, created_at) VALUES (?,?,?,?,?,?)",
                     (media_id, owner, kind, name, data, utcnow()))
    return media_id


def _media(store: Store, owner: str, media_id: str) -> dict[str, Any] | None:
    return store.query_one("SELECT * FROM platform_frontdoor_media WHERE id = ? AND owner = ?", (media_id, owner))


async def _upload(request: web.Request, kind: str) -> tuple[str, str]:
    user, _ = await _caller(request)
    if not request.content_type.startswith("multipart/"):
        raise WxError(41005, "media data missing")
    try:
        media = await _media_part(request)
    except (ValueError, HttpProcessingError):  # malformed part headers (a NUL in a filename, say) or no boundary
        raise WxError(47001, "data format error: malformed multipart body") from None
    if media is None:
        raise WxError(41005, "media data missing")
    name, data = media
    store = gateway_of(request).store
    media_id = await store.call(_save_media, store, user.id, kind, name, data)
    return media_id, f"{request.url.origin()}/cgi-bin/draftgate/media/{media_id}"


async def _media_part(request: web.Request) -> tuple[str, bytes] | None:
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.name == "media":
            data = await part.read()
            return re.sub(r"[^\w.\-]", "_", part.filename or "image")[-80:], bytes(data)
    return None


async def uploadimg(request: web.Request) -> dict[str, Any]:
    _, url = await _upload(request, "img")
    return {"url": url}


async def add_material(request: web.Request) -> dict[str, Any]:
    if request.query.get("type") != "image":
        raise WxError(40004, "invalid media type: the gateway keeps images only")
    media_id, url = await _upload(request, "material")
    return {"media_id": media_id, "url": url}


# -- drafts and publishing ---------------------------------------------------

_MEDIA_URL = re.compile(r"https?://[^\s\"'<>]*/cgi-bin/draftgate/media/(dgm[0-9a-f]+)")


async def draft_add(request: web.Request) -> dict[str, Any]:
    user, named = await _caller(request)
    body = await _json_body(request)
    articles = body.get("articles")
    if not isinstance(articles, list) or len(articles) != 1 or not isinstance(articles[0], dict):
        raise WxError(47001, "data format error: articles must hold exactly one article (one draft per article)")
    article = articles[0]
    account = await _account_for(request, user, named)
    store = gateway_of(request).store
    images: list[dict[str, Any]] = []
    thumb = article.get("thumb_media_id")
    if thumb:
        cover = await store.call(_media, store, user.id, str(thumb))
        if cover is None:
            raise WxError(40007, "invalid media_id")
        images.append({"name": f"{cover['id']}-{cover['name']}", "data": cover["data"]})
    content = str(article.get("content", ""))
    names: dict[str, str] = {}
    if images:
        names[str(thumb)] = images[0]["name"]
    for media_id in dict.fromkeys(_MEDIA_URL.findall(content)):
        if media_id in names:
            continue
        media = await store.call(_media, store, user.id, media_id)
        if media is None:
            raise WxError(40007, f"invalid media url: {media_id} was not uploaded by this caller")
        names[media_id] = f"{media['id']}-{media['name']}"
        images.append({"name": names[media_id], "data": media["data"]})
    # The body refers to each image by its draft name, which the publish targets resolve.
    content = _MEDIA_URL.sub(lambda m: names[m.group(1)], content)
    try:
        payload = DraftIn.model_validate({
            "account": account, "title": article.get("title"), "body": content, "body_format": "html",
            "images": [{"name": i["name"], "data": base64.b64encode(i["data"]).decode("ascii")} for i in images],
        })
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise WxError(47001, f"data format error: {field}: {first['msg']}") from None
    draft, _ = await workflow.submit(gateway_of(request), user, payload, None)
    return {"media_id": draft["id"], "item": [], "draftgate_status": draft["status"]}


async def _readable(request: web.Request, user: User, draft_id: str) -> dict[str, Any]:
    store = gateway_of(request).store
    draft = await store.call(draft_json, store, draft_id, include_body=False)
    if draft is None:
        raise WxError(40007, "invalid media_id")
    row = await store.call(get_row, store, draft["account"])
    if row is None or not can_read_account(user, account_from_row(row)):
        raise WxError(48001, "api unauthorized: the token's user has no role on this draft's account")
    return draft


def _refusal(draft: dict[str, Any]) -> WxError | None:
    status = draft["status"]
    if status == "flagged":
        return WxError(AWAITS_SIGNOFF, "draft awaits sign-off by the account's responsible person; "
                                       "call freepublish/submit again once it is approved")
    if status in ("blocked", "rejected"):
        reason = "screening blocked it: submit a revised draft" if status == "blocked" else "its responsible person rejected it"
        return WxError(NOT_PASSED, f"draft did not pass the publish check: {reason}")
    return None


async def freepublish_submit(request: web.Request) -> dict[str, Any]:
    user, _ = await _caller(request)
    body = await _json_body(request)
    draft = await _readable(request, user, str(body.get("media_id", "")))
    refusal = _refusal(draft)
    if refusal:
        raise refusal
    gw = gateway_of(request)
    if gw.publish_wakeup is not None:
        gw.publish_wakeup.set()
    return {"errcode": 0, "errmsg": "ok", "publish_id": draft["id"], "msg_data_id": draft["revision"]}


async def freepublish_get(request: web.Request) -> dict[str, Any]:
    user, _ = await _caller(request)
    body = await _json_body(request)
    draft = await _readable(request, user, str(body.get("publish_id", "")))
    refusal = _refusal(draft)
    if refusal and refusal.errcode == AWAITS_SIGNOFF:
        raise refusal
    out: dict[str, Any] = {"publish_id": draft["id"]}
    pub = draft["publication"]
    if refusal:
        return {**out, "publish_status": 4, "fail_idx": [1], "fail_reason": refusal.errmsg}
    if pub["state"] == "published":
        remote = pub.get("remote") or {}
        url = remote.get("article_url") or remote.get("url")
        article_id = remote.get("article_id") or remote.get("status_id") or f"{draft['id']}-r{draft['revision']}"
        return {**out, "publish_status": 0, "article_id": article_id,
                "article_detail": {"count": 1, "item": [{"idx": 1, "article_url": url}]}, "fail_idx": []}
    if pub["state"] == "failed":
        return {**out, "publish_status": 3, "fail_idx": [1], "fail_reason": pub.get("last_error")}
    return {**out, "publish_status": 1}


SECRET_QUERY_KEYS = ("access_token", "secret")


def redacted_target(request: web.BaseRequest) -> str:
    """Path and query with token-bearing parameters masked: WeChat's API carries tokens in the URL."""
    url = request.rel_url
    if not any(k in url.query for k in SECRET_QUERY_KEYS):
        return str(url)
    query = [(k, "***" if k in SECRET_QUERY_KEYS else v) for k, v in url.query.items()]
    return str(url.with_query(query))


class RedactingAccessLogger(AbstractAccessLogger):
    """An access log that never writes the ``access_token``/``secret`` query values.

    aiohttp's default access log writes the full request line; pass this class
    as ``access_log_class`` to ``web.run_app`` when the front door is served.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %s %.3f', request.remote, request.method, redacted_target(request),
                         response.status, response.body_length, time)


def setup(app: web.Application) -> None:
    app.router.add_get("/cgi-bin/token", wechat_errors(token))
    for path, handler in (
        ("media/uploadimg", uploadimg),
        ("material/add_material", add_material),
        ("draft/add", draft_add),
        ("freepublish/submit", freepublish_submit),
        ("freepublish/get", freepublish_get),
    ):
        app.router.add_post(f"/cgi-bin/{path}", wechat_errors(handler))
