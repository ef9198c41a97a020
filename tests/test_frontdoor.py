"""The WeChat-compatible front door, driven by a client written the way a WeChat publishing tool is."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

import draftgate_plugins.wechat as wechat_plugin
from conftest import World, build_world, make_config
from fakes.platform import wait_for
from fakes.wechat_server import FakeWeChat
from image_helpers import solid_image


@pytest.fixture
async def world(aiohttp_client: Any, tmp_path: Path) -> World:
    """The shared world (test checker and target) without the shipped checkers: the front door is under test."""
    return await build_world(aiohttp_client, tmp_path, load_entry_points=False)


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class WeChatTool:
    """A minimal publishing tool: it knows only WeChat's API, a base URL, an app id and a secret."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, appid: str, secret: str) -> None:
        self.session, self.base_url, self.appid, self.secret = session, base_url.rstrip("/"), appid, secret
        self.access_token: str | None = None

    @staticmethod
    def _check(data: dict[str, Any]) -> dict[str, Any]:
        if data.get("errcode"):
            raise WeChatApiError(data["errcode"], data.get("errmsg", ""))
        return data

    async def fetch_token(self) -> str:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        async with self.session.get(f"{self.base_url}/cgi-bin/token", params=params) as resp:
            self.access_token = self._check(await resp.json())["access_token"]
        return self.access_token

    async def _post(self, api: str, *, json: Any = None, data: Any = None, params: dict[str, str] | None = None) -> dict[str, Any]:
        if self.access_token is None:
            await self.fetch_token()
        query = {"access_token": self.access_token or "", **(params or {})}
        async with self.session.post(f"{self.base_url}/cgi-bin/{api}", params=query, json=json, data=data) as resp:
            assert resp.status == 200  # WeChat answers errors in the body, never in the status
            return self._check(await resp.json(content_type=None))

    async def upload_image(self, data: bytes, filename: str) -> str:
        form = aiohttp.FormData()
        form.add_field("media", data, filename=filename, content_type="image/png")
        return (await self._post("media/uploadimg", data=form))["url"]

    async def add_cover(self, data: bytes, filename: str) -> str:
        form = aiohttp.FormData()
        form.add_field("media", data, filename=filename, content_type="image/png")
        return (await self._post("material/add_material", data=form, params={"type": "image"}))["media_id"]

    async def add_draft(self, title: str, content: str, thumb_media_id: str) -> str:
        article = {"title": title, "author": "编辑部", "content": content, "thumb_media_id": thumb_media_id,
                   "need_open_comment": 0, "only_fans_can_comment": 0}
        return (await self._post("draft/add", json={"articles": [article]}))["media_id"]

    async def submit(self, media_id: str) -> str:
        return (await self._post("freepublish/submit", json={"media_id": media_id}))["publish_id"]

    async def get(self, publish_id: str) -> dict[str, Any]:
        return await self._post("freepublish/get", json={"publish_id": publish_id})

    async def wait_published(self, publish_id: str, timeout: float = 5.0) -> dict[str, Any]:
        for _ in range(int(timeout / 0.05)):
            job = await self.get(publish_id)
            if job["publish_status"] != 1:
                return job
            await asyncio.sleep(0.05)
        raise AssertionError("publish job did not finish")


def png(color: tuple[int, int, int]) -> bytes:
    return solid_image((40, 40), color)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def tool_for(world: World, session: aiohttp.ClientSession, who: str = "op", account: str = "acc") -> WeChatTool:
    return WeChatTool(session, str(world.client.make_url("/")), account, world.tokens[who])


async def publish_article(tool: WeChatTool, body_text: str = "欢迎新同学") -> str:
    cover = await tool.add_cover(png((200, 10, 10)), "cover.png")
    inline = await tool.upload_image(png((10, 200, 10)), "inline.png")
    return await tool.add_draft("迎新晚会", f'<p>{body_text}</p><p><img src="{inline}"/></p>', cover)


async def test_a_wechat_tool_publishes_through_the_gateway(world: World, session: aiohttp.ClientSession) -> None:
    tool = tool_for(world, session)
    media_id = await publish_article(tool)
    _, body = await world.call("GET", f"/v1/drafts/{media_id}", "admin")
    draft = body["draft"]
    assert draft["status"] == "passed" and draft["title"] == "迎新晚会"
    assert [i["index"] for i in draft["images"]] == [0, 1] and draft["images"][0]["name"].endswith("cover.png")
    assert draft["images"][1]["name"] in draft["body"] and "/cgi-bin/draftgate/media/" not in draft["body"]
    publish_id = await tool.submit(media_id)
    job = await tool.wait_published(publish_id)
    assert job["publish_status"] == 0 and job["article_id"] and job["fail_idx"] == []
    delivered = world.plugin.target.delivered[f"draftgate-{media_id}-r1"]
    assert delivered.content.images[0].data == png((200, 10, 10))


async def test_flagged_draft_awaits_sign_off_then_publishes(world: World, session: aiohttp.ClientSession) -> None:
    tool = tool_for(world, session)
    media_id = await publish_article(tool, "请 REVIEWME 一下")
    with pytest.raises(WeChatApiError) as err:
        await tool.submit(media_id)
    assert err.value.errcode == 53599 and "sign-off" in err.value.errmsg
    with pytest.raises(WeChatApiError) as err:
        await tool.get(media_id)
    assert err.value.errcode == 53599
    status, _ = await world.call("POST", f"/v1/drafts/{media_id}/decision", "resp", json={"decision": "approve"})
    assert status == 200
    job = await tool.wait_published(await tool.submit(media_id))
    assert job["publish_status"] == 0


async def test_blocked_or_rejected_drafts_are_refused_in_wechat_terms(world: World, session: aiohttp.ClientSession) -> None:
    tool = tool_for(world, session)
    blocked = await publish_article(tool, "含 BLOCKME")
    with pytest.raises(WeChatApiError) as err:
        await tool.submit(blocked)
    assert err.value.errcode == 53503 and "blocked" in err.value.errmsg
    job = await tool.get(blocked)
    assert job["publish_status"] == 4 and job["fail_idx"] == [1]
    assert world.plugin.target.calls == []


async def test_tokens_accounts_and_media_are_checked(world: World, session: aiohttp.ClientSession) -> None:
    base = str(world.client.make_url("/")).rstrip("/")
    async with session.post(f"{base}/cgi-bin/draft/add", json={"articles": []}) as resp:
        assert (await resp.json())["errcode"] == 41001
    async with session.post(f"{base}/cgi-bin/draft/add", params={"access_token": "dg_nope"}, json={"articles": []}) as resp:
        assert (await resp.json())["errcode"] == 40001
    with pytest.raises(WeChatApiError) as err:
        await tool_for(world, session, "op", account="acc2").fetch_token()  # op has no role on acc2
    assert err.value.errcode == 40013
    with pytest.raises(WeChatApiError) as err:
        await WeChatTool(session, base, "acc", "dg_wrong").fetch_token()
    assert err.value.errcode == 40125
    # One caller cannot use another caller's uploads; a plain API token works when it names one account.
    cover = await tool_for(world, session, "op").add_cover(png((1, 1, 1)), "c.png")
    other = tool_for(world, session, "op2", account="acc2")
    other.access_token = world.tokens["op2"]
    with pytest.raises(WeChatApiError) as err:
        await other.add_draft("标题", "<p>正文</p>", cover)
    assert err.value.errcode == 40007
    with pytest.raises(WeChatApiError) as err:
        await tool_for(world, session, "op2", account="acc2").get(await publish_article(tool_for(world, session)))
    assert err.value.errcode == 48001
    with pytest.raises(WeChatApiError) as err:
        await tool_for(world, session).add_draft("", "<p>正文</p>", cover)
    assert err.value.errcode == 47001 and "title" in err.value.errmsg


async def test_front_door_to_the_real_wechat_target(aiohttp_client: Any, tmp_path: Path, session: aiohttp.ClientSession) -> None:
    fake = FakeWeChat()
    await fake.start()
    try:
        world = await build_world(aiohttp_client, tmp_path, plugin_settings={"wechat": {"base_url": fake.base_url, "poll_interval": 0.02}},
                                  extra_plugins=(wechat_plugin,), load_entry_points=False)
        await world.call("PATCH", "/v1/accounts/acc", "admin", json={"publish": {"target": "wechat"}})
        await world.call("PUT", "/v1/accounts/acc/credentials", "admin", json={"app_id": fake.app_id, "app_secret": fake.app_secret})
        tool = tool_for(world, session)
        job = await tool.wait_published(await tool.submit(await publish_article(tool)))
        assert job["publish_status"] == 0
        url = job["article_detail"]["item"][0]["article_url"]
        assert url.startswith("https://mp.weixin.qq.com/s/ART_")
        (call,) = [c for c in fake.calls if c.path.endswith("draft/add")]
        article = call.json["articles"][0]
        assert article["_external_images"] == [] and "/cgi-bin/draftgate/media/" not in article["content"]
        (material,) = [c for c in fake.calls if c.path.endswith("add_material")]
        assert material.files["media"][1] == png((200, 10, 10))
    finally:
        await fake.close()


async def test_access_log_masks_tokens_in_the_query(aiohttp_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from aiohttp.test_utils import TestServer

    from gateway.app import create_app
    from gateway.frontdoor import RedactingAccessLogger

    caplog.set_level(logging.INFO, logger="test.access")
    app = await create_app(make_config(tmp_path, load_entry_points=False))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(access_log_class=RedactingAccessLogger, access_log=logging.getLogger("test.access"))
    client = await aiohttp_client(server)
    await client.get("/cgi-bin/token", params={"grant_type": "client_credential", "appid": "acc", "secret": "dg_SECRETVALUE"})
    await client.post("/cgi-bin/freepublish/get", params={"access_token": "dg_TOKENVALUE~acc"}, json={})
    # the access log line is written after the answer went out
    await wait_for(lambda: caplog.text.count("/cgi-bin/") >= 2, timeout=1.0)
    assert "/cgi-bin/token?grant_type=client_credential&appid=acc&secret=***" in caplog.text
    assert "access_token=***" in caplog.text
    assert "SECRETVALUE" not in caplog.text and "TOKENVALUE" not in caplog.text


async def test_malformed_bodies_get_wechat_errors_not_system_errors(world: World, session: aiohttp.ClientSession,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    base = str(world.client.make_url("/")).rstrip("/")
    token = {"access_token": world.tokens["op"]}
    for raw in (b'{"a":' * 5000 + b"1" + b"}" * 5000, b'{"publish_id": ' + b"9" * 5000 + b"}", b'{"publish_id": "\\ud800"}'):
        async with session.post(f"{base}/cgi-bin/freepublish/get", params=token, data=raw) as resp:
            assert (await resp.json())["errcode"] == 47001
    nul_filename = b'--B\r\nContent-Disposition: form-data; name="media"; filename="\x00.png"\r\n\r\nxx\r\n--B--\r\n'
    async with session.post(f"{base}/cgi-bin/media/uploadimg", params=token, data=nul_filename,
                            headers={"Content-Type": "multipart/form-data; boundary=B"}) as resp:
        assert (await resp.json())["errcode"] == 47001
    assert "front door failed" not in caplog.text
    assert await publish_article(tool_for(world, session)), "the front door keeps serving"
