"""The ``weibo`` publish target end to end: the real gateway app posting to a local fake Weibo API."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import World, build_world
import draftgate_plugins.weibo as weibo_plugin
from draftgate_plugins.weibo import WeiboTarget, status_text, weibo_length
from fakes.platform import fake_fixture, wait_for
from fakes.weibo_server import FakeWeibo
from gateway.publish import build_item
from gateway.secrets import load_credentials

LINK = "https://news.example.edu.cn/posts/{draft_id}"


def png(color: tuple[int, int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


fake = fake_fixture(FakeWeibo)


def token_of(fake: FakeWeibo) -> str:
    return next(iter(fake.tokens))


async def weibo_world(aiohttp_client: Any, tmp_path: Path, fake: FakeWeibo, *, creds: dict[str, Any] | None = None,
                      link: str = LINK) -> World:
    world = await build_world(aiohttp_client, tmp_path, accounts=False,
                              plugin_settings={"weibo": {"base_url": fake.base_url, "timeout": 2.0}},
                              extra_plugins=(weibo_plugin,), load_entry_points=False)
    status, out = await world.call("POST", "/v1/accounts", "admin", json={
        "id": "wb", "name": "化学学院微博", "platform": "weibo", "unit": "化学学院", "responsible": "resp",
        "operators": ["op"], "publish": {"target": "weibo", "link": link},
    })
    assert status == 201, out
    body = creds if creds is not None else {"access_token": token_of(fake)}
    status, out = await world.call("PUT", "/v1/accounts/wb/credentials", "admin", json=body)
    assert status == 200, out
    return world


async def submit(world: World, **extra: Any) -> str:
    extra.setdefault("title", "化学讲座")
    extra.setdefault("body", "本周五下午在化学楼举行讲座，欢迎参加。")
    status, body = await world.submit(account="wb", **extra)
    assert status == 201 and body["draft"]["status"] == "passed", body
    return body["draft"]["id"]


async def test_post_with_first_picture_and_link_is_recorded(aiohttp_client: Any, tmp_path: Path, fake: FakeWeibo) -> None:
    world = await weibo_world(aiohttp_client, tmp_path, fake)
    first, second = png((200, 0, 0)), png((0, 0, 200))
    draft_id = await submit(world, body="<p>本周五<b>讲座</b></p>", body_format="html",
                            images=[{"name": "a.png", "data": first}, {"name": "b.png", "data": second}])
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["attempts"] == 1, pub
    (post,) = fake.posts
    assert post["text"] == f"【化学讲座】本周五讲座 https://news.example.edu.cn/posts/{draft_id}"
    assert post["pic"] == base64.b64decode(first)
    assert pub["remote"]["status_id"] == post["idstr"]
    assert pub["remote"]["url"] == f"https://weibo.com/{fake.uid}/{post['idstr']}"
    assert fake.count("oauth2/access_token") == 0


def test_long_text_is_shortened_to_fit_with_the_link() -> None:
    link = "https://news.example.edu.cn/posts/d1"
    text = status_text("标题", "很长的正文" * 60, link)
    assert weibo_length(text) <= 140 and text.endswith("… " + link)
    assert status_text("短", "文", link) == f"【短】文 {link}"


async def test_expired_token_is_refreshed_once_and_the_rotated_refresh_token_kept(
    aiohttp_client: Any, tmp_path: Path, fake: FakeWeibo
) -> None:
    old_refresh = next(iter(fake.refresh_tokens))
    world = await weibo_world(aiohttp_client, tmp_path, fake, creds={
        "access_token": token_of(fake), "app_key": fake.app_key, "app_secret": fake.app_secret, "refresh_token": old_refresh})
    fake.expire_tokens()
    draft_id = await submit(world)
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["attempts"] == 1, pub
    assert fake.count("oauth2/access_token") == 1 and fake.count("statuses/share") == 2
    assert [c.answer["error_code"] for c in fake.calls if "error_code" in c.answer] == [21327]
    store = world.gateway.store
    creds = await store.call(load_credentials, store, "wb")
    assert creds["refresh_token"] in fake.refresh_tokens and creds["refresh_token"] != old_refresh


async def test_concurrent_refreshes_are_one(aiohttp_client: Any, tmp_path: Path, fake: FakeWeibo) -> None:
    creds = {"access_token": token_of(fake), "app_key": fake.app_key, "app_secret": fake.app_secret,
             "refresh_token": next(iter(fake.refresh_tokens))}
    world = await weibo_world(aiohttp_client, tmp_path, fake, creds=creds)
    target: WeiboTarget = world.gateway.publish_targets["weibo"]  # type: ignore[assignment]
    tokens = await asyncio.gather(*(target._token("wb", creds, bad=creds["access_token"]) for _ in range(10)))
    assert len(set(tokens)) == 1 and tokens[0] != creds["access_token"]
    assert fake.count("oauth2/access_token") == 1


async def test_expired_token_without_refresh_waits_for_an_admin(aiohttp_client: Any, tmp_path: Path, fake: FakeWeibo) -> None:
    world = await weibo_world(aiohttp_client, tmp_path, fake)
    fake.expire_tokens()
    draft_id = await submit(world)
    await wait_for(lambda: world.gateway.store.query_one(
        "SELECT attempts FROM publications WHERE draft_id = ?", (draft_id,))["attempts"] >= 1)
    _, body = await world.call("GET", f"/v1/drafts/{draft_id}", "admin")
    pub = body["draft"]["publication"]
    assert pub["state"] == "queued" and "an admin sets a new one" in pub["last_error"], pub
    fake.tokens["2.00NEWtoken"] = 4_000_000_000
    await world.call("PUT", "/v1/accounts/wb/credentials", "admin", json={"access_token": "2.00NEWtoken"})
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and len(fake.posts) == 1


@pytest.mark.parametrize(("code", "error"), [(10023, "User requests out of rate limit!"), (10009, "Too many pending tasks, system is busy")])
async def test_rate_limit_and_busy_are_retried(aiohttp_client: Any, tmp_path: Path, fake: FakeWeibo, code: int, error: str) -> None:
    world = await weibo_world(aiohttp_client, tmp_path, fake)
    fake.fail("statuses/share", code, error, status=403)
    draft_id = await submit(world)
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["attempts"] == 2, pub
    assert len(fake.posts) == 1 and fake.count("statuses/share") == 2


async def test_permanent_errors_fail_with_weibos_code(aiohttp_client: Any, tmp_path: Path, fake: FakeWeibo) -> None:
    world = await weibo_world(aiohttp_client, tmp_path, fake, link="https://elsewhere.example.com/x")
    draft_id = await submit(world)
    pub = await world.wait_publication(draft_id, "failed")
    assert pub["state"] == "failed" and pub["attempts"] == 1
    assert pub["remote"]["errcode"] == 10017 and "10017" in pub["last_error"] and "news.example.edu.cn" in pub["last_error"]
    assert fake.posts == []


async def test_a_lost_answer_is_never_posted_again_and_a_post_never_twice(aiohttp_client: Any, tmp_path: Path, fake: FakeWeibo) -> None:
    world = await weibo_world(aiohttp_client, tmp_path, fake)
    fake.drop_answer("statuses/share")
    lost = await submit(world)
    pub = await world.wait_publication(lost, "failed")
    assert "not posting again" in pub["last_error"] and len(fake.posts) == 1
    ok = await submit(world, title="另一条")
    pub = await world.wait_publication(ok)
    store = world.gateway.store
    row = await store.call(store.query_one, "SELECT * FROM publications WHERE draft_id = ?", (ok,))
    again = await world.gateway.publish_targets["weibo"].publish(await store.call(build_item, store, row))
    assert again.state == "published" and again.remote["status_id"] == pub["remote"]["status_id"]
    assert len(fake.posts) == 2 and fake.count("statuses/share") == 2


async def test_weibo_publish_config_needs_a_link(aiohttp_client: Any, tmp_path: Path, fake: FakeWeibo) -> None:
    world = await weibo_world(aiohttp_client, tmp_path, fake)
    for publish, field in (({"target": "weibo"}, "publish.link"), ({"target": "weibo", "link": LINK, "access_token": "t"}, "publish.access_token"),
                           ({"target": "weibo", "link": "https://x.cn/{nope}"}, "publish.link")):
        status, out = await world.call("PATCH", "/v1/accounts/wb", "admin", json={"publish": publish})
        assert status == 422 and out["error"]["field"] == field, out
