"""Publish target ``weibo``: an approved revision becomes a Weibo post with its first picture.

Uses the documented status-sharing endpoint ``POST /2/statuses/share.json``
(``access_token``, ``status``, optional ``pic``). The status text is the
title and the body's visible text, shortened to Weibo's 140 characters (CJK
count 1, ASCII ½) around the account's ``link``: the platform only accepts
a status that carries a URL on the app's safe domain. ``link`` may use
``{draft_id}`` and ``{revision}``.

Tokens: the admin sets ``access_token`` (and optionally ``expires_at``,
``app_key``, ``app_secret``, ``refresh_token``) with
``PUT /v1/accounts/{id}/credentials``. The token is cached; when it is near
expiry or the platform refuses it (21327 expired, 21332 invalid, 21314–21317,
21301) and a refresh token is set, it is refreshed through
``/oauth2/access_token`` (one refresh at a time); without one, the
publication waits (retried) until an admin sets a new token.

Weibo has no idempotency key, so the job is marked ``sending`` before the
request: if the answer is lost the post is not sent again (the publication
fails and says so). Rate limits and "system busy" are retried with a delay;
other errors fail with Weibo's ``error_code`` and ``error``. Settings
(``[plugins.weibo]``): ``base_url`` (default ``https://api.weibo.com``),
``token_margin`` (s), ``timeout`` (s).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from draftgate_plugins._platform import (
    PUBLISH_ERRORS, HttpSession, NoCredentials, PlatformError, TokenCache, UnknownOutcome, call_with_token,
    credential_key_problem, credentials, error_result, fingerprint, image_ext, load_job, save_job,
)
from gateway.hookspecs import hookimpl
from gateway.model import PublishItem, PublishResult
from gateway.secrets import rotate_credentials
from gateway.services import Gateway

NAME = "weibo"
DEFAULT_BASE_URL = "https://api.weibo.com"
MAX_LENGTH = 140
TOKEN_ERRORS = {21301, 21314, 21315, 21316, 21317, 21327, 21332}
TRANSIENT = {10001: 10.0, 10002: 30.0, 10003: 10.0, 10009: 10.0, 10022: 600.0, 10023: 600.0, 10024: 600.0}


def weibo_length(text: str) -> float:
    """Weibo's count: a CJK (or any non-ASCII) character is 1, an ASCII one ½."""
    return sum(0.5 if ord(c) < 128 else 1 for c in text)


def status_text(title: str, body: str, link: str) -> str:
    """Title and body, shortened with an ellipsis so that, with the link, it fits in 140."""
    text = " ".join(f"【{title.strip()}】{body.strip()}".split())
    budget = MAX_LENGTH - weibo_length(" " + link)
    if weibo_length(text) > budget:
        out, used = [], 0.0
        for ch in text:
            if used + weibo_length(ch) > budget - 1:
                break
            out.append(ch)
            used += weibo_length(ch)
        text = "".join(out).rstrip() + "…"
    return f"{text} {link}"


class WeiboTarget:
    name = NAME

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        settings = gateway.plugin_settings(NAME)
        self.base_url = str(settings.get("base_url", DEFAULT_BASE_URL)).rstrip("/")
        self.http = HttpSession(float(settings.get("timeout", 20.0)))
        self.tokens = TokenCache(gateway.store, NAME, float(settings.get("token_margin", 300.0)))

    # -- tokens ----------------------------------------------------------------

    async def _answer(self, resp: aiohttp.ClientResponse, api: str) -> dict[str, Any]:
        try:
            answer = json.loads(await resp.read())
        except (ValueError, UnicodeDecodeError):
            answer = None
        if isinstance(answer, dict) and answer.get("error_code"):
            code = int(answer["error_code"])
            raise PlatformError(NAME, api, code, str(answer.get("error", "")), token_error=code in TOKEN_ERRORS,
                                retry_after=TRANSIENT.get(code))
        if resp.status != 200 or not isinstance(answer, dict):
            raise PlatformError(NAME, api, resp.status, f"HTTP {resp.status} without a Weibo answer", retry_after=10.0)
        return answer

    async def _refresh(self, account_id: str, creds: dict[str, Any]) -> tuple[str, float]:
        given = creds["access_token"]
        expires_at = float(creds.get("expires_at") or time.time() + 365 * 86400)
        if not self.tokens.refused(given) and expires_at - self.tokens.margin > time.time():
            return given, expires_at
        if not (creds.get("refresh_token") and creds.get("app_key") and creds.get("app_secret")):
            raise NoCredentials(
                f"the Weibo access token of account {account_id!r} expired or was refused and no refresh token is set: "
                f"an admin sets a new one with PUT /v1/accounts/{account_id}/credentials"
            )
        form = {"grant_type": "refresh_token", "client_id": creds["app_key"], "client_secret": creds["app_secret"],
                "refresh_token": creds["refresh_token"]}
        async with self.http.get().post(f"{self.base_url}/oauth2/access_token", data=form) as resp:
            answer = await self._answer(resp, "oauth2/access_token")
        if answer.get("refresh_token") and answer["refresh_token"] != creds["refresh_token"]:
            store = self.gateway.store
            await store.call(rotate_credentials, store, account_id, {"refresh_token": answer["refresh_token"]})
        return str(answer["access_token"]), time.time() + float(answer.get("expires_in", 86400))

    async def _token(self, account_id: str, creds: dict[str, Any], bad: str | None = None) -> str:
        # The admin-set token identifies the credentials; refreshed tokens live in the token cache.
        fp = fingerprint(creds["access_token"], str(creds.get("app_key", "")))
        return await self.tokens.get(account_id, fp, lambda: self._refresh(account_id, creds), bad=bad)

    # -- posting ---------------------------------------------------------------

    async def _share(self, item: PublishItem, creds: dict[str, Any], text: str) -> dict[str, Any]:
        async def send(token: str) -> dict[str, Any]:
            # A fresh form each time: a sent FormData cannot be sent again.
            form = aiohttp.FormData()
            form.add_field("access_token", token)
            form.add_field("status", text)
            if item.content.images:
                pic = item.content.images[0]
                ext, ctype = image_ext(pic.data)
                form.add_field("pic", pic.data, filename=f"pic.{ext}", content_type=ctype)
            async with self.http.get().post(f"{self.base_url}/2/statuses/share.json", data=form) as resp:
                return await self._answer(resp, "statuses/share")

        return await call_with_token(lambda bad: self._token(item.account.id, creds, bad), send)

    async def _run(self, item: PublishItem) -> PublishResult:
        store = self.gateway.store
        job = await store.call(load_job, store, item.idempotency_key)
        if job.stage == "done":
            return PublishResult.ok(job.data.get("remote", {}), "already posted on Weibo")
        if job.stage == "sending":
            raise UnknownOutcome(
                "statuses/share was sent but its answer never arrived; not posting again (it may be online): "
                "check the account's timeline"
            )
        creds = await credentials(store, item.account.id, NAME, ("access_token",))
        link = str(item.target_config.get("link", "")).format(draft_id=item.draft_id, revision=item.revision)
        content = item.content
        text = status_text(content.title, content.visible_body, link)
        job.stage = "sending"
        await store.call(save_job, store, item, NAME, job)
        try:
            answer = await self._share(item, creds, text)
        except (PlatformError, NoCredentials, aiohttp.ClientConnectorError):
            job.stage = "new"  # a definite refusal, or nothing was sent: safe to try again
            await store.call(save_job, store, item, NAME, job)
            raise
        uid = (answer.get("user") or {}).get("idstr") or (answer.get("user") or {}).get("id")
        remote = {"platform": NAME, "status_id": answer.get("idstr") or str(answer.get("id")), "mid": answer.get("mid"),
                  "url": f"https://weibo.com/{uid}/{answer.get('idstr') or answer.get('id')}" if uid else None,
                  "original_pic": answer.get("original_pic")}
        job.stage, job.data["remote"] = "done", remote
        await store.call(save_job, store, item, NAME, job)
        return PublishResult.ok(remote, "posted on Weibo")

    async def publish(self, item: PublishItem) -> PublishResult:
        try:
            return await self._run(item)
        except PUBLISH_ERRORS as e:
            return error_result(NAME, e, "share", lost_stage="share")

    async def close(self) -> None:
        await self.http.close()


@hookimpl
def publish_targets(gateway: Gateway) -> list[WeiboTarget]:
    target = WeiboTarget(gateway)
    gateway.services["weibo_target"] = target
    return [target]


@hookimpl
async def shutdown(gateway: Gateway) -> None:
    target = gateway.services.pop("weibo_target", None)
    if target is not None:
        await target.close()


@hookimpl
def validate_publish_config(target: str, config: dict[str, Any]) -> str | None:
    if target != NAME:
        return None
    problem = credential_key_problem(config, ("app_key", "app_secret", "secret", "access_token", "refresh_token"))
    if problem:
        return problem
    link = config.get("link")
    if not isinstance(link, str) or urlsplit(link).scheme not in ("http", "https") or not urlsplit(link).netloc:
        return "publish.link: Weibo needs an http(s) link on the app's safe domain"
    try:
        link.format(draft_id="d", revision=1)
    except (KeyError, IndexError, ValueError):
        return "publish.link: only {draft_id} and {revision} may be filled in"
    return None
