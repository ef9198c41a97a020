"""Shared fixtures: a real gateway app on 127.0.0.1 over a real SQLite file.

``world`` is the everyday fixture: an app with test plugins, people with
tokens, and two accounts. Test plugins (``TermChecker``, ``FlakyTarget``)
are ordinary pluggy plugins registered through ``extra_plugins``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import auth
from gateway.app import create_app
from gateway.appkeys import GATEWAY
from gateway.config import Config
from gateway.hookspecs import hookimpl
from gateway.metrics import Metrics
from gateway.model import Account, Content, Draft, Finding, ImageInput, PublishItem, PublishResult, Severity
from gateway.plugins import make_plugin_manager
from gateway.services import Gateway
from gateway.store import Store

# bench/image_samples.py (real photos and the edits operators make) is shared by the
# image tests, the evaluation and the benchmark.
BENCH = str(Path(__file__).resolve().parents[1] / "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)


class TermChecker:
    """A test checker: REVIEWME → review, BLOCKME → block, CRASHME raises, SLOWME sleeps."""

    name = "terms"
    version = "1.0"
    description = "test checker keyed on marker words"

    def __init__(self, sleep: float = 5.0) -> None:
        self.sleep = sleep
        self.seen: list[str] = []

    def check(self, draft: Draft) -> list[Finding]:
        text = draft.screened_text
        self.seen.append(draft.id)
        if "CRASHME" in text:
            raise RuntimeError("boom")
        if "SLOWME" in text:
            time.sleep(self.sleep)
        out = []
        for term, sev in (("REVIEWME", Severity.REVIEW), ("BLOCKME", Severity.BLOCK), ("NOTEME", Severity.INFO)):
            start = text.find(term)
            if start >= 0:
                out.append(Finding.text_match("terms", term.lower(), sev, f"found {term}", term=term, start=start,
                                              end=start + len(term), text=text))
        return out


class FlakyTarget:
    """A publish target that answers ``retry`` ``failures`` times, then succeeds; records deliveries."""

    name = "flaky"

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[str] = []
        self.delivered: dict[str, PublishItem] = {}

    async def publish(self, item: PublishItem) -> PublishResult:
        self.calls.append(item.idempotency_key)
        if len(self.calls) <= self.failures:
            return PublishResult.retry(f"upstream busy (call {len(self.calls)})")
        if item.idempotency_key in self.delivered:
            return PublishResult.ok({"duplicate": True})
        self.delivered[item.idempotency_key] = item
        return PublishResult.ok({"post": f"p-{len(self.delivered)}"})


class MarkerPlugin:
    """Registers the test checker and target (the same way any plugin does)."""

    name = "test_plugin"

    def __init__(self, checker: TermChecker | None = None, target: FlakyTarget | None = None) -> None:
        self.checker = checker or TermChecker()
        self.target = target or FlakyTarget()

    @hookimpl
    def register_checkers(self, gateway: Gateway) -> list[Any]:
        return [self.checker]

    @hookimpl
    def publish_targets(self, gateway: Gateway) -> list[Any]:
        return [self.target]


# -- drafts for checker unit tests ---------------------------------------------------

PLAIN_ACCOUNT = Account("acc", "物理学院", "wechat", "物理学院", "resp")


def make_draft(account: Account, title: str, body: str, body_format: str = "text",
               images: tuple[ImageInput, ...] = ()) -> Draft:
    """Revision 1 of draft ``d1`` by ``op``, as a checker receives it (offsets count the title too)."""
    return Draft("d1", 1, account, Content(title, body, body_format, images), "op", "2026-01-01T00:00:00+00:00")


def with_check_digit(body: str) -> str:
    """A 17-digit resident identity number completed with its ISO 7064 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


class RecordingWebhook:
    """A local HTTP endpoint standing in for an institution's own webhook receiver (serve ``app()``, POST ``/hook``).

    Answers 503 to the first ``fail_first`` requests, then 200; records every request's headers and body.
    """

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.accepted: dict[str, bytes] = {}

    def app(self) -> web.Application:
        receiver = web.Application()
        receiver.router.add_post("/hook", self.handle)
        return receiver

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        if len(self.requests) <= self.fail_first:
            return web.Response(status=503, text="try later")
        self.accepted.setdefault(request.headers["Idempotency-Key"], body)
        return web.Response(status=200, text="ok")


def make_config(tmp_path: Path, **overrides: Any) -> Config:
    base = dict(
        db_path=str(tmp_path / "gateway.db"),
        checker_timeout=1.0,
        publish_retry_base=0.05,
        publish_retry_cap=0.2,
        publish_poll_interval=0.05,
    )
    base.update(overrides)
    return Config().with_overrides(**base)


@dataclass
class World:
    client: TestClient
    app: web.Application
    plugin: MarkerPlugin
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def gateway(self) -> Gateway:
        return self.app[GATEWAY]

    async def call(
        self, method: str, path: str, who: str | None = None, json: Any = None, data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        hdrs = dict(headers or {})
        if who is not None:
            hdrs["Authorization"] = f"Bearer {self.tokens.get(who, who)}"
        resp = await self.client.request(method, path, json=json, data=data, headers=hdrs)
        try:
            body = await resp.json()
        except Exception:  # noqa: BLE001 — non-JSON bodies (metrics) come back as text
            body = await resp.text()
        return resp.status, body

    async def submit(self, who: str = "op", account: str = "acc", title: str = "标题", body: str = "正文", **extra: Any) -> tuple[int, Any]:
        return await self.call("POST", "/v1/drafts", who, json={"account": account, "title": title, "body": body, **extra})

    async def wait_publication(self, draft_id: str, state: str = "published", timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status, body = await self.call("GET", f"/v1/drafts/{draft_id}", "admin")
            assert status == 200, body
            pub = body["draft"]["publication"]
            if pub["state"] == state or time.monotonic() > deadline:
                return pub
            await asyncio.sleep(0.03)


PEOPLE = [
    ("admin", "管理员", "staff", True),
    ("resp", "张老师", "staff", False),
    ("op", "李同学", "student", False),
    ("op2", "王同学", "student", False),
    ("resp2", "赵老师", "staff", False),
]


async def build_world(aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path, *,
                      plugin: MarkerPlugin | None = None, accounts: bool = True,
                      extra_plugins: tuple[Any, ...] = (), **config: Any) -> World:
    plugin = plugin or MarkerPlugin()
    cfg = make_config(tmp_path, **config)
    app = await create_app(cfg, extra_plugins=[plugin, *extra_plugins])
    client = await aiohttp_client(app)
    world = World(client, app, plugin)
    store = app[GATEWAY].store
    for uid, name, kind, admin in PEOPLE:
        _, world.tokens[uid] = auth.create_user(store, id=uid, name=name, kind=kind, admin=admin, actor="test")
    if accounts:
        for body in (
            {"id": "acc", "name": "物理学院学生会", "platform": "wechat", "unit": "物理学院", "responsible": "resp",
             "operators": ["op", "resp"], "publish": {"target": "flaky"}},
            {"id": "acc2", "name": "化学学院", "platform": "weibo", "unit": "化学学院", "responsible": "resp2",
             "operators": ["op2"], "publish": {"target": "flaky"}},
        ):
            status, out = await world.call("POST", "/v1/accounts", "admin", json=body)
            assert status == 201, out
    return world


def bare_gateway(directory: Path) -> Iterator[Gateway]:
    """A bare ``Gateway`` over a fresh SQLite file in ``directory``, no app and no plugins."""
    store = Store(directory / "db.sqlite")
    gw = Gateway(Config(db_path=str(directory / "db.sqlite")), store, make_plugin_manager(load_entry_points=False), Metrics())
    yield gw
    gw.close()
    store.close()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """A bare ``Gateway`` for plugin unit tests; one per test, so a test may change its blocklists."""
    yield from bare_gateway(tmp_path)


@pytest.fixture(scope="module")
def module_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One bare ``Gateway`` per test module, for tests that only read it (never add or remove terms)."""
    yield from bare_gateway(tmp_path_factory.mktemp("gateway"))


@pytest.fixture
async def world(aiohttp_client: Any, tmp_path: Path) -> World:
    return await build_world(aiohttp_client, tmp_path)


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    """Real sample photos as JPEG (quality 90), by name; modules needing other encodings define their own."""
    from image_samples import encode, load_photo, photo_paths

    paths = photo_paths()
    return {n: encode(load_photo(paths[n]), "JPEG", quality=90) for n in ("astronaut", "coffee", "chelsea", "rocket", "moon")}
