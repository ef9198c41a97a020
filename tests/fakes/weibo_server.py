"""A local fake of the Weibo open API, as a real aiohttp server.

Implements what the ``weibo`` publish target calls, with the platform's
documented field names and error shape (``{"error", "error_code",
"request"}``): ``POST /2/statuses/share.json`` (``access_token``, ``status``
that must carry a link on the app's safe domain and at most 140 characters,
CJK counting 1 and ASCII ½; optional ``pic`` file) answering the new status
(``id``, ``idstr``, ``mid``, ``text``, ``user.id``); and ``POST
/oauth2/access_token`` with ``grant_type=refresh_token``. Token errors are
21332 (invalid_access_token) and 21327 (expired_token); 10023 is the rate
limit, 10009 "system is busy", 20019 a repeated text.

Tests steer it with ``fail``, ``after``, ``drop_answer`` and ``expire_tokens``
as on the WeChat fake; ``calls`` records everything received.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from aiohttp import web

from fakes.platform import Call, FakePlatform


def weibo_length(text: str) -> float:
    return sum(0.5 if ord(c) < 128 else 1 for c in text)


class FakeWeibo(FakePlatform):
    def __init__(self, token: str = "2.00FAKEweiboTOKEN", safe_domain: str = "news.example.edu.cn", uid: int = 1234567890,
                 app_key: str = "3210987654", app_secret: str = "weibo-app-secret", refresh_token: str = "2.00FAKErefresh") -> None:
        super().__init__()
        self.safe_domain = safe_domain
        self.uid = uid
        self.app_key, self.app_secret = app_key, app_secret
        self.tokens[token] = time.time() + 30 * 86400
        self.refresh_tokens = {refresh_token}
        self.posts: list[dict[str, Any]] = []
        self._errors: dict[str, list[tuple[int, str, int]]] = {}
        self._ids = itertools.count(4_900_000_000_000_001)

    def fail(self, path: str, error_code: int, error: str, times: int = 1, status: int = 400) -> None:
        self._errors.setdefault(path, []).extend([(error_code, error, status)] * times)

    def count(self, path: str) -> int:
        return sum(1 for c in self.calls if path in c.path)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/2/statuses/share.json", self.share)
        app.router.add_post("/oauth2/access_token", self.access_token)
        return app

    @staticmethod
    def _error(call: Call, code: int, error: str, status: int = 400) -> web.Response:
        call.answer = {"error": error, "error_code": code, "request": call.path}
        return web.json_response(call.answer, status=status)

    async def _read(self, request: web.Request) -> Call:
        call = Call(request.path, dict(request.query))
        if request.content_type.startswith("multipart/"):
            form: dict[str, Any] = {}
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.filename:  # type: ignore[union-attr]
                    call.files[part.name or ""] = (part.filename, data)  # type: ignore[union-attr]
                else:
                    form[part.name or ""] = data.decode("utf-8")
            call.json = form
        else:
            call.json = dict(await request.post())
        self.calls.append(call)
        return call

    async def access_token(self, request: web.Request) -> web.Response:
        call = await self._read(request)
        form = call.json
        if form.get("grant_type") != "refresh_token":
            return self._error(call, 21328, "unsupported_grant_type")
        if form.get("client_id") != self.app_key or form.get("client_secret") != self.app_secret:
            return self._error(call, 21324, "invalid_client")
        if form.get("refresh_token") not in self.refresh_tokens:
            return self._error(call, 21325, "invalid_grant")
        token = f"2.00REFRESHED{next(self._ids)}"
        self.tokens[token] = time.time() + 86400
        # Refresh tokens rotate: the old one is spent, the answer carries the next.
        self.refresh_tokens.discard(form["refresh_token"])
        new_refresh = f"2.00FAKErefresh{next(self._ids)}"
        self.refresh_tokens.add(new_refresh)
        call.answer = {"access_token": token, "expires_in": 86400, "refresh_token": new_refresh, "uid": str(self.uid)}
        return web.json_response(call.answer)

    async def share(self, request: web.Request) -> web.Response:
        call = await self._read(request)
        form = call.json
        token = form.get("access_token")
        if not token or token not in self.tokens:
            return self._error(call, 21332, "invalid_access_token", 401)
        if self.tokens[token] <= time.time():
            return self._error(call, 21327, "expired_token", 401)
        errors = self._errors.get("statuses/share")
        if errors:
            code, error, status = errors.pop(0)
            return self._error(call, code, error, status)
        text = form.get("status") or ""
        if not text:
            return self._error(call, 10016, "miss required parameter (status), see doc for more info")
        if f"://{self.safe_domain}/" not in text and not text.rstrip().endswith(f"://{self.safe_domain}"):
            return self._error(call, 10017, f"parameter (status)'s value invalid, expect (a link on {self.safe_domain})")
        if weibo_length(text) > 140:
            return self._error(call, 20012, "Text too long, please input text less than 140 characters!")
        if any(p["text"] == text for p in self.posts):
            return self._error(call, 20019, "Repeated weibo text!")
        status_id = next(self._ids)
        post = {"id": status_id, "idstr": str(status_id), "mid": str(status_id), "text": text,
                "created_at": time.strftime("%a %b %d %H:%M:%S +0800 %Y"), "user": {"id": self.uid, "idstr": str(self.uid)},
                "pic": call.files.get("pic", ("", b""))[1]}
        self.posts.append(post)
        answer = {k: v for k, v in post.items() if k != "pic"}
        if post["pic"]:
            answer["original_pic"] = f"https://wx1.sinaimg.cn/large/{status_id}.jpg"
        return self._deliver(request, "statuses/share", call, answer)
