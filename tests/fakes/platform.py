"""What the fake platform servers (``wechat_server``, ``weibo_server``) and their tests share.

- ``Call``: one request a fake received, with the answer it gave.
- ``FakePlatform``: a real aiohttp server on 127.0.0.1 with the steering both
  fakes offer (``after``, ``drop_answer``, ``expire_tokens``), the ``calls``
  record and ``tokens`` (token → expiry), and ``_deliver``, the way a served
  answer leaves: dropped, or after-hooks run and JSON sent as UTF-8.
  Each fake keeps its own request parsing and its own ``fail``.
- ``fake_fixture``: a pytest fixture starting a fake and closing it after the test.
- ``wait_for``: polls a condition the gateway reaches in the background.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    path: str
    query: dict[str, str]
    json: Any = None
    raw: bytes = b""
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    answer: dict[str, Any] = field(default_factory=dict)


class FakePlatform:
    """A fake platform API; subclasses give ``app()`` its routes."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self._after: dict[str, list[Callable[[], None]]] = {}
        self._drop: dict[str, int] = {}
        self.server: TestServer | None = None

    # -- steering --------------------------------------------------------------

    def after(self, path: str, fn: Callable[[], None]) -> None:
        """Run ``fn`` once, after the next successful call of ``path``."""
        self._after.setdefault(path, []).append(fn)

    def drop_answer(self, path: str, times: int = 1) -> None:
        """Serve the next ``times`` calls of ``path`` but cut the connection before answering."""
        self._drop[path] = self._drop.get(path, 0) + times

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = time.time() - 1

    # -- the server ------------------------------------------------------------

    def app(self) -> web.Application:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> str:
        self.server = TestServer(self.app(), host="127.0.0.1")
        await self.server.start_server()
        return self.base_url

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    # -- answering -------------------------------------------------------------

    def _answer(self, call: Call, answer: dict[str, Any]) -> web.Response:
        call.answer = answer
        # ensure_ascii=False: the platforms send UTF-8, not \u escapes.
        return web.Response(text=json.dumps(answer, ensure_ascii=False), content_type="application/json")

    def _deliver(self, request: web.Request, path: str, call: Call, answer: dict[str, Any], *, ok: bool = True) -> web.Response:
        """A served ``path``'s answer: dropped if asked (the work is done, the client never hears), else sent;
        after-hooks run only when ``ok`` (the call succeeded)."""
        if self._drop.get(path):
            self._drop[path] -= 1
            call.answer = {"dropped": answer}
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError  # the handler ends; the client sees the connection go
        if ok:
            for fn in self._after.pop(path, []):
                fn()
        return self._answer(call, answer)


F = TypeVar("F", bound=FakePlatform)


def fake_fixture(make: Callable[[], F]) -> Any:
    """A ``fake`` fixture for a test module: ``fake = fake_fixture(FakeWeChat)``."""

    @pytest.fixture
    async def fake() -> AsyncIterator[F]:
        server = make()
        await server.start()
        yield server
        await server.close()

    return fake


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    """Waits until ``predicate()`` is true; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)
