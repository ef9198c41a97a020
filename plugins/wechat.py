"""Publish target ``wechat``: an approved revision becomes a WeChat official-account article.

Follows the platform's documented flow, each step recorded in
``platform_jobs`` so a retry or a restart resumes instead of repeating:

1. ``GET /cgi-bin/token`` with the account's app id and secret (sealed in
   ``platform_credentials``); the token is cached and refreshed before it
   expires and whenever a call answers 40001/40014/42001.
2. ``POST /cgi-bin/media/uploadimg`` for every body image; ``<img src>`` in
   the body is rewritten to the returned URL (images are referred to by their
   file name, ``cid:NAME`` or ``image:N``; unreferenced ones are appended).
3. ``POST /cgi-bin/material/add_material?type=image`` for the cover (image
   ``cover_index``, default 0) as permanent material → ``thumb_media_id``.
4. ``POST /cgi-bin/draft/add`` → ``media_id``.
5. ``POST /cgi-bin/freepublish/submit`` → ``publish_id``, persisted before
   anything else happens, so a restart polls instead of submitting again.
6. ``POST /cgi-bin/freepublish/get`` until ``publish_status`` leaves 1; 0
   records ``article_id`` and ``article_url`` in the publication's ``remote``.

Rate limits and "system busy" are retried with a delay; other platform errors
fail the publication with the platform's code and message. Settings
(``[plugins.wechat]``): ``base_url`` (default ``https://api.weixin.qq.com``),
``poll_interval`` (s), ``polls_per_attempt``, ``token_margin`` (s), ``timeout`` (s),
``stable_token`` (use ``POST /cgi-bin/stable_token``, which leaves other
services' tokens for the same app valid).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from draftgate_plugins._platform import (
    PUBLISH_ERRORS, HttpSession, Job, PlatformError, TokenCache, UnknownOutcome, call_with_token, credential_key_problem,
    credentials, error_result, fingerprint, image_ext, load_job, save_job,
)
from gateway.hookspecs import hookimpl
from gateway.model import Content, ImageInput, PublishItem, PublishResult
from gateway.services import Gateway

NAME = "wechat"
DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_ERRORS = {40001, 40014, 42001}
# errcode -> seconds to wait before the next try; anything else is permanent.
TRANSIENT = {-1: 5.0, 45009: 3600.0, 45011: 60.0, 45035: 60.0}
PUBLISH_STATUS = {
    0: "published", 1: "publishing", 2: "original-content check failed", 3: "publishing failed",
    4: "rejected by the platform's audit", 5: "deleted after publishing", 6: "banned after publishing",
}
_IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def image_for_src(src: str, images: tuple[ImageInput, ...]) -> ImageInput | None:
    """Which draft image an ``<img src>`` refers to: ``image:N``, ``cid:NAME`` or the file name."""
    src = html.unescape(src).strip()
    m = re.fullmatch(r"image:(\d+)", src)
    if m:
        index = int(m.group(1))
        return images[index] if index < len(images) else None
    name = src[4:] if src.startswith("cid:") else src
    for image in images:
        if image.name == name:
            return image
    return None


def referenced_images(content: Content) -> list[ImageInput]:
    if content.body_format != "html":
        return []
    found = {}
    for m in _IMG_SRC.finditer(content.body):
        image = image_for_src(m.group(3), content.images)
        if image is not None:
            found[image.index] = image
    return list(found.values())


def text_to_html(text: str) -> str:
    """A plain-text body as WeChat HTML: a paragraph per blank-line block, line breaks kept."""
    blocks = [b for b in re.split(r"\r?\n\s*\r?\n", text) if b.strip()]
    return "".join("<p>" + html.escape(b).replace("\r\n", "<br/>").replace("\n", "<br/>") + "</p>" for b in blocks)


def article_html(content: Content, urls: dict[int, str], cover_index: int) -> str:
    """The article body with image references rewritten to the platform's URLs."""
    if content.body_format == "html":
        def swap(m: re.Match[str]) -> str:
            image = image_for_src(m.group(3), content.images)
            if image is None or image.index not in urls:
                return m.group(0)
            return f"{m.group(1)}{m.group(2)}{html.escape(urls[image.index], quote=True)}{m.group(2)}"

        body = _IMG_SRC.sub(swap, content.body)
    else:
        body = text_to_html(content.body)
    shown = {i.index for i in referenced_images(content)}
    for image in content.images:
        if image.index not in shown and image.index != cover_index and image.index in urls:
            body += f'<p><img src="{html.escape(urls[image.index], quote=True)}"/></p>'
    return body


class WeChatTarget:
    name = NAME

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        settings = gateway.plugin_settings(NAME)
        self.base_url = str(settings.get("base_url", DEFAULT_BASE_URL)).rstrip("/")
        self.poll_interval = float(settings.get("poll_interval", 3.0))
        self.polls_per_attempt = int(settings.get("polls_per_attempt", 5))
        self.stable_token = bool(settings.get("stable_token", False))
        self.http = HttpSession(float(settings.get("timeout", 20.0)))
        self.tokens = TokenCache(gateway.store, NAME, float(settings.get("token_margin", 300.0)))

    # -- platform calls --------------------------------------------------------

    async def _fetch_token(self, creds: dict[str, Any]) -> tuple[str, float]:
        if self.stable_token:
            # The stable token does not invalidate tokens other services hold for the same app.
            body = {"grant_type": "client_credential", "appid": creds["app_id"], "secret": creds["app_secret"],
                    "force_refresh": False}
            async with self.http.get().post(f"{self.base_url}/cgi-bin/stable_token", json=body) as resp:
                answer = await self._json(resp, "stable_token")
            self._raise_for(answer, "stable_token")
        else:
            params = {"grant_type": "client_credential", "appid": creds["app_id"], "secret": creds["app_secret"]}
            async with self.http.get().get(f"{self.base_url}/cgi-bin/token", params=params) as resp:
                answer = await self._json(resp, "token")
            self._raise_for(answer, "token")
        return str(answer["access_token"]), time.time() + float(answer.get("expires_in", 7200))

    async def _token(self, account_id: str, creds: dict[str, Any], bad: str | None = None) -> str:
        fp = fingerprint(creds["app_id"], creds["app_secret"])
        return await self.tokens.get(account_id, fp, lambda: self._fetch_token(creds), bad=bad)

    async def _json(self, resp: aiohttp.ClientResponse, api: str) -> dict[str, Any]:
        if resp.status != 200:
            raise PlatformError(NAME, api, resp.status, f"HTTP {resp.status}", retry_after=10.0)
        try:
            answer = json.loads(await resp.read())
        except (ValueError, UnicodeDecodeError):
            raise PlatformError(NAME, api, -2, "answer is not JSON", retry_after=10.0) from None
        if not isinstance(answer, dict):
            raise PlatformError(NAME, api, -2, "answer is not a JSON object", retry_after=10.0)
        return answer

    def _raise_for(self, answer: dict[str, Any], api: str) -> None:
        code = answer.get("errcode", 0)
        if code in (0, None):
            return
        code = int(code)
        raise PlatformError(NAME, api, code, str(answer.get("errmsg", "")), token_error=code in TOKEN_ERRORS,
                            retry_after=TRANSIENT.get(code))

    async def _call(self, api: str, account_id: str, creds: dict[str, Any], *, json_body: Any = None,
                    form: dict[str, Any] | None = None, params: dict[str, str] | None = None) -> dict[str, Any]:
        """One authenticated POST; a refused token is refreshed (once per call) and the call repeated."""
        async def send(token: str) -> dict[str, Any]:
            query = {"access_token": token, **(params or {})}
            if form is not None:
                data: Any = aiohttp.FormData()
                for name, (filename, payload, ctype) in form.items():
                    data.add_field(name, payload, filename=filename, content_type=ctype)
                kwargs: dict[str, Any] = {"data": data}
            else:
                kwargs = {"data": json.dumps(json_body, ensure_ascii=False).encode("utf-8"),
                          "headers": {"Content-Type": "application/json; charset=utf-8"}}
            async with self.http.get().post(f"{self.base_url}/cgi-bin/{api}", params=query, **kwargs) as resp:
                answer = await self._json(resp, api)
            self._raise_for(answer, api)
            return answer

        return await call_with_token(lambda bad: self._token(account_id, creds, bad), send)

    # -- the steps -------------------------------------------------------------

    async def _save(self, item: PublishItem, job: Job, stage: str | None = None) -> None:
        if stage:
            job.stage = stage
        store = self.gateway.store
        await store.call(save_job, store, item, NAME, job)

    async def _upload(self, item: PublishItem, job: Job, creds: dict[str, Any], cover_index: int) -> None:
        content = item.content
        urls: dict[str, str] = job.data.setdefault("image_urls", {})
        referenced = {i.index for i in referenced_images(content)}
        for image in content.images:
            body_image = image.index in referenced or image.index != cover_index
            if body_image and str(image.index) not in urls:
                ext, ctype = image_ext(image.data)
                answer = await self._call("media/uploadimg", item.account.id, creds,
                                          form={"media": (f"image{image.index}.{ext}", image.data, ctype)})
                urls[str(image.index)] = str(answer["url"])
                await self._save(item, job)
        if "thumb_media_id" not in job.data:
            cover = content.images[cover_index]
            ext, ctype = image_ext(cover.data)
            answer = await self._call("material/add_material", item.account.id, creds, params={"type": "image"},
                                      form={"media": (f"cover.{ext}", cover.data, ctype)})
            job.data["thumb_media_id"] = str(answer["media_id"])
            await self._save(item, job)

    def _article(self, item: PublishItem, job: Job, cover_index: int) -> dict[str, Any]:
        cfg = item.target_config
        urls = {int(k): v for k, v in job.data.get("image_urls", {}).items()}
        article: dict[str, Any] = {
            "title": item.content.title,
            "content": article_html(item.content, urls, cover_index),
            "thumb_media_id": job.data["thumb_media_id"],
            "need_open_comment": int(bool(cfg.get("need_open_comment", False))),
            "only_fans_can_comment": int(bool(cfg.get("only_fans_can_comment", False))),
        }
        for key in ("author", "digest", "content_source_url"):
            if cfg.get(key):
                article[key] = cfg[key]
        return article

    async def _poll(self, item: PublishItem, job: Job, creds: dict[str, Any]) -> PublishResult:
        publish_id = job.data["publish_id"]
        status = 1
        for n in range(self.polls_per_attempt):
            if n:
                await asyncio.sleep(self.poll_interval)
            answer = await self._call("freepublish/get", item.account.id, creds, json_body={"publish_id": publish_id})
            status = int(answer.get("publish_status", 1))
            if status == 1:
                continue
            remote: dict[str, Any] = {"platform": NAME, "publish_id": publish_id, "media_id": job.data.get("media_id"),
                                      "publish_status": status, "status_text": PUBLISH_STATUS.get(status, "unknown")}
            if status in (0, 5, 6):
                # 5 and 6 mean it went out and was removed afterwards: it was published, never send it again.
                items = (answer.get("article_detail") or {}).get("item") or []
                remote["article_id"] = answer.get("article_id")
                remote["article_url"] = items[0].get("article_url") if items else None
                job.data["remote"] = remote
                await self._save(item, job, "done")
                return PublishResult.ok(remote, f"published on WeChat ({PUBLISH_STATUS.get(status)})")
            remote["fail_idx"] = answer.get("fail_idx", [])
            job.data["remote"] = remote
            await self._save(item, job, "failed")
            return PublishResult.fail(f"wechat freepublish/get: publish_status {status}: {PUBLISH_STATUS.get(status, 'unknown')}",
                                      **remote)
        return PublishResult.retry(
            f"wechat publish job {publish_id} is still publishing", self.poll_interval,
            platform=NAME, publish_id=publish_id, media_id=job.data.get("media_id"), publish_status=status,
        )

    async def _run(self, item: PublishItem, job: Job) -> PublishResult:
        started = time.monotonic()
        if job.stage == "done":
            return PublishResult.ok(job.data.get("remote", {}), "already published on WeChat")
        if job.stage == "failed":
            return PublishResult.fail("the WeChat publish job already ended without publishing", **job.data.get("remote", {}))
        if job.stage == "submitting":
            raise UnknownOutcome(
                "freepublish/submit was sent but its answer never arrived; not submitting again (it may have been "
                "published): check the account's published articles"
            )
        creds = await credentials(self.gateway.store, item.account.id, NAME, ("app_id", "app_secret"))
        if job.stage == "submitted":
            return await self._poll(item, job, creds)
        cover_index = int(item.target_config.get("cover_index", 0))
        if cover_index >= len(item.content.images) and "thumb_media_id" not in job.data:
            return PublishResult.fail(
                f"a WeChat article needs a cover image: the revision has {len(item.content.images)} image(s), "
                f"the account's cover_index is {cover_index}", platform=NAME, stage="cover",
            )
        if job.stage == "new":
            await self._upload(item, job, creds, cover_index)
            answer = await self._call("draft/add", item.account.id, creds,
                                      json_body={"articles": [self._article(item, job, cover_index)]})
            job.data["media_id"] = str(answer["media_id"])
            await self._save(item, job, "drafted")
        if time.monotonic() - started > self.gateway.config.publish_timeout / 2:
            # The queue cancels an attempt at publish_timeout; a submit cut off mid-flight could never be
            # repeated safely, so it gets a fresh attempt of its own.
            return PublishResult.retry("wechat draft created; submitting it on the next attempt", 0.0,
                                       platform=NAME, media_id=job.data["media_id"])
        # Mark the submit before sending it: if the answer is lost we must not send it again.
        await self._save(item, job, "submitting")
        try:
            answer = await self._call("freepublish/submit", item.account.id, creds, json_body={"media_id": job.data["media_id"]})
        except (PlatformError, aiohttp.ClientConnectorError):
            await self._save(item, job, "drafted")  # a definite refusal, or nothing was sent: safe to try again
            raise
        job.data["publish_id"] = str(answer["publish_id"])
        await self._save(item, job, "submitted")
        return await self._poll(item, job, creds)

    async def publish(self, item: PublishItem) -> PublishResult:
        store = self.gateway.store
        job = await store.call(load_job, store, item.idempotency_key)
        try:
            return await self._run(item, job)
        except PUBLISH_ERRORS as e:
            # job.stage is where the attempt stopped: the steps save it as they go.
            return error_result(NAME, e, job.stage, lost_stage="submit", media_id=job.data.get("media_id"))

    async def close(self) -> None:
        await self.http.close()


@hookimpl
def publish_targets(gateway: Gateway) -> list[WeChatTarget]:
    target = WeChatTarget(gateway)
    gateway.services["wechat_target"] = target
    return [target]


@hookimpl
async def shutdown(gateway: Gateway) -> None:
    target = gateway.services.pop("wechat_target", None)
    if target is not None:
        await target.close()


@hookimpl
def validate_publish_config(target: str, config: dict[str, Any]) -> str | None:
    if target != NAME:
        return None
    problem = credential_key_problem(config, ("app_id", "app_secret", "secret", "access_token"))
    if problem:
        return problem
    if "cover_index" in config and (not isinstance(config["cover_index"], int) or config["cover_index"] < 0):
        return "publish.cover_index: must be a non-negative integer"
    for key in ("author", "digest"):
        if key in config and not isinstance(config[key], str):
            return f"publish.{key}: must be a string"
    url = config.get("content_source_url")
    if url is not None and (not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https")):
        return "publish.content_source_url: must be an http(s) url"
    return None
