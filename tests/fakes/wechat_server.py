"""A local fake of the WeChat official-account API, as a real aiohttp server.

It implements the endpoints the ``wechat`` publish target calls, with the
platform's documented paths, field names and error codes: ``/cgi-bin/token``
(``access_token``/``expires_in``; 40013 bad appid, 40125 bad secret) and
``/cgi-bin/stable_token``,
``media/uploadimg`` (``url``), ``material/add_material?type=image``
(``media_id``/``url``), ``draft/add`` (``articles`` → ``media_id``),
``freepublish/submit`` (``media_id`` → ``publish_id``) and
``freepublish/get`` (``publish_status`` 1 while publishing, then the final
status with ``article_id`` and ``article_detail.item[].article_url``). Every
call checks the token: 41001 missing, 40001 unknown, 42001 expired.

Tests steer it: ``fail(path, errcode, errmsg, times)`` queues platform errors,
``after(path, fn)`` runs ``fn`` after a path was served (e.g. expire every
token mid-publish), ``polls_until_done`` and ``final_status`` shape the
publish job. Everything received is kept in ``calls`` for assertions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from typing import Any, Callable, Mapping

from aiohttp import web

from fakes.platform import Call, FakePlatform

__all__ = ["IMG_HOST", "TOKEN_ERRORS", "Call", "FakeWeChat"]

TOKEN_ERRORS = {
    41001: "access_token missing",
    40001: "invalid credential, access_token is invalid or not latest",
    42001: "access_token expired",
}
IMG_HOST = "http://mmbiz.qpic.cn/fake"


class FakeWeChat(FakePlatform):
    def __init__(self, app_id: str = "wx0123456789abcdef", app_secret: str = "fake-app-secret", token_ttl: int = 7200) -> None:
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.token_ttl = token_ttl
        self.materials: dict[str, bytes] = {}
        self.drafts: dict[str, dict[str, Any]] = {}
        self.publishes: dict[str, dict[str, Any]] = {}
        self.polls_until_done = 0
        self.final_status = 0
        self._errors: dict[str, list[tuple[int, str]]] = {}
        self.delay: dict[str, float] = {}  # path -> seconds the platform takes to answer
        self._ids = itertools.count(1)
        self.stable: str | None = None

    # -- steering --------------------------------------------------------------

    def fail(self, path: str, errcode: int, errmsg: str, times: int = 1) -> None:
        """The next ``times`` calls of ``path`` (after the token check) answer this error."""
        self._errors.setdefault(path, []).extend([(errcode, errmsg)] * times)

    def paths(self) -> list[str]:
        return [c.path.rsplit("/cgi-bin/", 1)[-1] for c in self.calls]

    def count(self, path: str) -> int:
        return self.paths().count(path)

    # -- the platform ----------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_post("/cgi-bin/stable_token", self.stable_token)
        for path, handler in (
            ("media/uploadimg", self.uploadimg),
            ("material/add_material", self.add_material),
            ("draft/add", self.draft_add),
            ("freepublish/submit", self.freepublish_submit),
            ("freepublish/get", self.freepublish_get),
        ):
            app.router.add_post(f"/cgi-bin/{path}", self._guarded(path, handler))
        return app

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def _credentials_error(self, given: Mapping[str, Any]) -> dict[str, Any] | None:
        """What both token endpoints answer to a wrong grant type, app id or secret."""
        if given.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if given.get("appid") != self.app_id:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if given.get("secret") != self.app_secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return None

    async def token(self, request: web.Request) -> web.Response:
        call = Call(request.path, dict(request.query))
        self.calls.append(call)
        refused = self._credentials_error(request.query)
        if refused:
            return self._answer(call, refused)
        errors = self._errors.get("token")
        if errors:
            code, msg = errors.pop(0)
            return self._answer(call, {"errcode": code, "errmsg": msg})
        token = f"TOKEN-{next(self._ids)}-{int(time.time() * 1000)}"
        self.tokens[token] = time.time() + self.token_ttl
        return self._answer(call, {"access_token": token, "expires_in": self.token_ttl})

    async def stable_token(self, request: web.Request) -> web.Response:
        """The stable token: the same token until it expires (or ``force_refresh``); other tokens stay valid."""
        call = Call(request.path, dict(request.query), raw=await request.read())
        call.json = json.loads(call.raw or b"{}")
        self.calls.append(call)
        body = call.json
        refused = self._credentials_error(body)
        if refused:
            return self._answer(call, refused)
        current = self.stable if self.stable and self.tokens.get(self.stable, 0) > time.time() else None
        if current is None or body.get("force_refresh"):
            current = self.stable = f"STABLE-{next(self._ids)}"
            self.tokens[current] = time.time() + self.token_ttl
        return self._answer(call, {"access_token": current, "expires_in": int(self.tokens[current] - time.time())})

    def _guarded(self, path: str, handler: Callable[[web.Request, Call], Any]) -> Callable[[web.Request], Any]:
        async def guarded(request: web.Request) -> web.Response:
            call = Call(request.path, dict(request.query))
            if request.content_type.startswith("multipart/"):
                reader = await request.multipart()
                async for part in reader:
                    call.files[part.name or ""] = (part.filename or "", await part.read())  # type: ignore[union-attr]
            else:
                call.raw = await request.read()
                try:
                    call.json = json.loads(call.raw.decode("utf-8")) if call.raw else None
                except (UnicodeDecodeError, json.JSONDecodeError):
                    call.json = None
            self.calls.append(call)
            token = request.query.get("access_token")
            if not token:
                return self._answer(call, {"errcode": 41001, "errmsg": TOKEN_ERRORS[41001]})
            if token not in self.tokens:
                return self._answer(call, {"errcode": 40001, "errmsg": TOKEN_ERRORS[40001]})
            if self.tokens[token] <= time.time():
                return self._answer(call, {"errcode": 42001, "errmsg": TOKEN_ERRORS[42001]})
            errors = self._errors.get(path)
            if errors:
                code, msg = errors.pop(0)
                return self._answer(call, {"errcode": code, "errmsg": msg})
            if call.json is None and not call.files:
                return self._answer(call, {"errcode": 44002, "errmsg": "empty post data"})
            await asyncio.sleep(self.delay.get(path, 0.0))
            answer = await handler(request, call)
            return self._deliver(request, path, call, answer, ok="errcode" not in answer or answer["errcode"] == 0)

        return guarded

    @staticmethod
    def _image_ok(data: bytes) -> bool:
        return data.startswith(b"\x89PNG") or data.startswith(b"\xff\xd8")

    async def uploadimg(self, request: web.Request, call: Call) -> dict[str, Any]:
        if "media" not in call.files:
            return {"errcode": 41005, "errmsg": "media data missing"}
        name, data = call.files["media"]
        if not self._image_ok(data):
            return {"errcode": 40005, "errmsg": "invalid file type"}
        if len(data) > 1024 * 1024:
            return {"errcode": 40009, "errmsg": "invalid image size"}
        return {"url": f"{IMG_HOST}/{self._id('img')}/0"}

    async def add_material(self, request: web.Request, call: Call) -> dict[str, Any]:
        if request.query.get("type") != "image":
            return {"errcode": 40004, "errmsg": "invalid media type"}
        if "media" not in call.files:
            return {"errcode": 41005, "errmsg": "media data missing"}
        _, data = call.files["media"]
        if not self._image_ok(data):
            return {"errcode": 40005, "errmsg": "invalid file type"}
        media_id = self._id("MAT")
        self.materials[media_id] = data
        return {"media_id": media_id, "url": f"{IMG_HOST}/{media_id}/0"}

    async def draft_add(self, request: web.Request, call: Call) -> dict[str, Any]:
        articles = (call.json or {}).get("articles")
        if not isinstance(articles, list) or not articles:
            return {"errcode": 47001, "errmsg": "data format error"}
        for art in articles:
            if not art.get("title") or not art.get("content"):
                return {"errcode": 47001, "errmsg": "data format error: title and content are required"}
            if len(art["title"]) > 64:
                return {"errcode": 45003, "errmsg": "title size out of limit"}
            if art.get("thumb_media_id") not in self.materials:
                return {"errcode": 40007, "errmsg": "invalid media_id"}
            # The platform drops images that are not on its own CDN; record them so tests can assert there are none.
            art["_external_images"] = [s for s in re.findall(r'<img[^>]*\ssrc="([^"]*)"', art["content"]) if not s.startswith(IMG_HOST)]
        media_id = self._id("DRAFT")
        self.drafts[media_id] = {"articles": articles}
        return {"media_id": media_id}

    async def freepublish_submit(self, request: web.Request, call: Call) -> dict[str, Any]:
        media_id = (call.json or {}).get("media_id")
        if media_id not in self.drafts:
            return {"errcode": 40007, "errmsg": "invalid media_id"}
        publish_id = str(2247483000 + next(self._ids))
        self.publishes[publish_id] = {"media_id": media_id, "polls": 0}
        return {"errcode": 0, "errmsg": "ok", "publish_id": publish_id, "msg_data_id": int(publish_id) + 1}

    async def freepublish_get(self, request: web.Request, call: Call) -> dict[str, Any]:
        publish_id = (call.json or {}).get("publish_id")
        job = self.publishes.get(publish_id)
        if job is None:
            return {"errcode": 40007, "errmsg": "invalid publish_id"}
        job["polls"] += 1
        if job["polls"] <= self.polls_until_done:
            return {"publish_id": publish_id, "publish_status": 1}
        if self.final_status == 0:
            article_id = f"ART_{publish_id}"
            return {
                "publish_id": publish_id,
                "publish_status": 0,
                "article_id": article_id,
                "article_detail": {"count": 1, "item": [{"idx": 1, "article_url": f"https://mp.weixin.qq.com/s/{article_id}"}]},
                "fail_idx": [],
            }
        return {"publish_id": publish_id, "publish_status": self.final_status, "fail_idx": [1]}
