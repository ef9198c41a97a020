"""The ``wechat`` publish target end to end: the real gateway app publishing to a local fake WeChat API."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import World, build_world, make_config
import draftgate_plugins.wechat as wechat_plugin
from draftgate_plugins._platform import transport_result
from draftgate_plugins.wechat import WeChatTarget, article_html, text_to_html
from fakes.platform import fake_fixture, wait_for
from fakes.wechat_server import IMG_HOST, FakeWeChat
from gateway.app import create_app
from gateway.appkeys import GATEWAY
from gateway.model import Content, ImageInput
from gateway.publish import build_item


def image_bytes(color: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), color).save(out, format=fmt)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def settings(fake: FakeWeChat, **extra: Any) -> dict[str, Any]:
    return {"wechat": {"base_url": fake.base_url, "poll_interval": 0.02, "polls_per_attempt": 3, "timeout": 2.0, **extra}}


fake = fake_fixture(FakeWeChat)


async def wechat_world(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat, *, credentials: bool = True,
                       publish: dict[str, Any] | None = None, publish_timeout: float = 30.0, **extra: Any) -> World:
    # Only the target under test and the test plugin: publishing is what is tested here, not the shipped checkers.
    world = await build_world(aiohttp_client, tmp_path, accounts=False, plugin_settings=settings(fake, **extra),
                              extra_plugins=(wechat_plugin,), load_entry_points=False, publish_timeout=publish_timeout)
    status, out = await world.call("POST", "/v1/accounts", "admin", json={
        "id": "mp", "name": "物理学院公众号", "platform": "wechat", "unit": "物理学院", "responsible": "resp",
        "operators": ["op"], "publish": publish or {"target": "wechat", "author": "物理学院"},
    })
    assert status == 201, out
    if credentials:
        status, out = await world.call("PUT", "/v1/accounts/mp/credentials", "admin",
                                       json={"app_id": fake.app_id, "app_secret": fake.app_secret})
        assert status == 200, out
    return world


async def submit(world: World, title: str = "迎新晚会通知", **extra: Any) -> str:
    status, body = await world.submit(account="mp", title=title, **extra)
    assert status == 201 and body["draft"]["status"] == "passed", body
    return body["draft"]["id"]


async def test_article_is_published_with_images_cover_and_recorded_url(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    cover, inline = image_bytes((200, 30, 30)), image_bytes((30, 200, 30), "JPEG")
    body = '<p>欢迎新同学！</p><img src="inline.jpg" alt="x"><p>地点：礼堂</p><img src=\'cid:cover.png\'/>'
    draft_id = await submit(world, body=body, body_format="html",
                            images=[{"name": "cover.png", "data": b64(cover)}, {"name": "inline.jpg", "data": b64(inline)}])
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["attempts"] == 1, pub
    remote = pub["remote"]
    assert remote["article_id"].startswith("ART_") and remote["article_url"] == f"https://mp.weixin.qq.com/s/{remote['article_id']}"
    assert remote["publish_status"] == 0 and remote["publish_id"] in fake.publishes

    assert fake.count("token") == 1 and fake.count("freepublish/submit") == 1
    uploads = [c for c in fake.calls if c.path.endswith("media/uploadimg")]
    assert sorted(c.files["media"][1] for c in uploads) == sorted([cover, inline])
    (material,) = [c for c in fake.calls if c.path.endswith("material/add_material")]
    assert material.query["type"] == "image" and material.files["media"][1] == cover
    (draft_call,) = [c for c in fake.calls if c.path.endswith("draft/add")]
    article = draft_call.json["articles"][0]
    assert article["title"] == "迎新晚会通知" and article["author"] == "物理学院"
    assert "迎新晚会通知".encode() in draft_call.raw  # UTF-8 on the wire, not \\u escapes the platform would show
    assert article["thumb_media_id"] == material.answer["media_id"]
    assert article["_external_images"] == [] and article["content"].count(f'src="{IMG_HOST}/') + article["content"].count(f"src='{IMG_HOST}/") == 2
    assert "inline.jpg" not in article["content"] and "cid:" not in article["content"]
    assert all(c.query.get("access_token") == fake.calls[0].answer["access_token"] for c in fake.calls[1:])


async def test_token_expired_mid_publish_is_refreshed_and_the_step_repeated(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    fake.after("media/uploadimg", fake.expire_tokens)
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((1, 2, 3)))},
                                                        {"name": "d.png", "data": b64(image_bytes((9, 8, 7)))}])
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["attempts"] == 1, pub
    assert fake.count("token") == 2
    refused = [c for c in fake.calls if c.answer.get("errcode") == 42001]
    assert [c.path for c in refused] == ["/cgi-bin/material/add_material"]
    assert fake.count("media/uploadimg") == 1 and fake.count("material/add_material") == 2


async def test_concurrent_callers_share_one_token_refresh(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    target: WeChatTarget = world.gateway.publish_targets["wechat"]  # type: ignore[assignment]
    creds = {"app_id": fake.app_id, "app_secret": fake.app_secret}
    tokens = await asyncio.gather(*(target._token("mp", creds) for _ in range(20)))
    assert len(set(tokens)) == 1 and fake.count("token") == 1
    fake.expire_tokens()
    fresh = await asyncio.gather(*(target._token("mp", creds, bad=tokens[0]) for _ in range(20)))
    assert len(set(fresh)) == 1 and fresh[0] != tokens[0] and fake.count("token") == 2


async def test_token_is_refreshed_before_it_expires_and_survives_a_restart(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    fake.token_ttl = 3600
    world = await wechat_world(aiohttp_client, tmp_path, fake, token_margin=3598.0)
    target: WeChatTarget = world.gateway.publish_targets["wechat"]  # type: ignore[assignment]
    creds = {"app_id": fake.app_id, "app_secret": fake.app_secret}
    first = await target._token("mp", creds)
    assert await target._token("mp", creds) == first
    await asyncio.sleep(2.2)  # now inside the margin: refreshed although the platform would still accept it
    assert await target._token("mp", creds) != first and fake.count("token") == 2
    # A new gateway process reuses the sealed token from the database instead of asking again.
    fake.token_ttl = 7200
    await world.client.close()
    app = await create_app(make_config(tmp_path, plugin_settings=settings(fake), load_entry_points=False),
                           extra_plugins=[world.plugin, wechat_plugin])
    client = await aiohttp_client(app)
    target2: WeChatTarget = client.app[GATEWAY].publish_targets["wechat"]  # type: ignore[assignment]
    assert await target2._token("mp", creds) == fake.calls[-1].answer["access_token"] and fake.count("token") == 2


async def test_stable_token_mode_publishes_and_refreshes_after_expiry(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake, stable_token=True)
    fake.after("material/add_material", fake.expire_tokens)
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((12, 12, 12)))}])
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published", pub
    assert fake.count("token") == 0 and fake.count("stable_token") == 2 and fake.count("draft/add") == 2
    assert all(c.json["force_refresh"] is False for c in fake.calls if c.path.endswith("stable_token"))


@pytest.mark.parametrize(("api", "errcode", "errmsg"), [
    ("draft/add", 45009, "reach max api daily quota limit"),
    ("freepublish/submit", -1, "system error"),
    ("material/add_material", 45011, "api minute-quota reach limit"),
])
async def test_rate_limit_and_system_busy_are_retried_without_repeating_done_steps(
    aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat, api: str, errcode: int, errmsg: str
) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    fake.fail(api, errcode, errmsg)
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((5, 5, 5)))}])
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["attempts"] == 2, pub
    assert fake.count(api) == 2
    assert fake.count("draft/add") == (2 if api == "draft/add" else 1)
    assert len(fake.drafts) == 1 and len(fake.publishes) == 1
    _, audit = await world.call("GET", f"/v1/audit?draft={draft_id}", "admin")
    failed = [e for e in audit["entries"] if e["action"] == "publication.attempt_failed"]
    assert failed and str(errcode) in failed[0]["data"]["message"]


async def test_permanent_error_fails_with_the_platforms_code_and_message(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    draft_id = await submit(world, title="很长的标题" * 14, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((7, 7, 7)))}])
    pub = await world.wait_publication(draft_id, "failed")
    assert pub["state"] == "failed" and pub["attempts"] == 1, pub
    assert "45003" in pub["last_error"] and "title size out of limit" in pub["last_error"]
    assert pub["remote"]["errcode"] == 45003 and pub["remote"]["api"] == "draft/add"
    assert fake.count("freepublish/submit") == 0


async def test_platform_audit_rejection_fails_the_publication(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    fake.final_status = 4
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((8, 8, 8)))}])
    pub = await world.wait_publication(draft_id, "failed")
    assert pub["state"] == "failed" and pub["remote"]["publish_status"] == 4
    assert "rejected by the platform's audit" in pub["last_error"]


async def test_bad_app_secret_fails_with_the_platforms_code(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake, credentials=False)
    await world.call("PUT", "/v1/accounts/mp/credentials", "admin", json={"app_id": fake.app_id, "app_secret": "wrong"})
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((4, 4, 4)))}])
    pub = await world.wait_publication(draft_id, "failed")
    assert pub["remote"]["errcode"] == 40125 and "invalid appsecret" in pub["last_error"]
    assert "wrong" not in str(pub)


async def test_without_credentials_it_waits_and_publishes_once_an_admin_sets_them(
    aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat
) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake, credentials=False)
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((6, 6, 6)))}])
    await wait_for(lambda: fake.calls == [] and world.gateway.store.query_one(
        "SELECT attempts FROM publications WHERE draft_id = ?", (draft_id,))["attempts"] >= 1)
    _, body = await world.call("GET", f"/v1/drafts/{draft_id}", "admin")
    assert body["draft"]["publication"]["state"] == "queued"
    assert "PUT /v1/accounts/mp/credentials" in body["draft"]["publication"]["last_error"]
    await world.call("PUT", "/v1/accounts/mp/credentials", "admin", json={"app_id": fake.app_id, "app_secret": fake.app_secret})
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published"


async def test_restart_between_submit_and_job_end_polls_instead_of_resubmitting(
    aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat
) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    fake.polls_until_done = 10_000  # the platform keeps publishing while the first gateway runs
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((3, 3, 3)))}])
    await wait_for(lambda: fake.count("freepublish/get") >= 4)
    await world.client.close()  # the gateway stops mid-job
    polls_before = fake.count("freepublish/get")
    assert fake.count("freepublish/submit") == 1
    fake.polls_until_done = 0
    app = await create_app(make_config(tmp_path, plugin_settings=settings(fake), load_entry_points=False),
                           extra_plugins=[world.plugin, wechat_plugin])
    client = await aiohttp_client(app)
    world2 = World(client, app, world.plugin, world.tokens)
    pub = await world2.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["remote"]["article_id"], pub
    assert fake.count("freepublish/submit") == 1 and fake.count("draft/add") == 1
    assert fake.count("freepublish/get") > polls_before


async def test_a_lost_submit_answer_is_never_submitted_again(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    fake.drop_answer("freepublish/submit")
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((2, 2, 2)))}])
    pub = await world.wait_publication(draft_id, "failed")
    assert pub["state"] == "failed" and "not submitting again" in pub["last_error"], pub
    assert fake.count("freepublish/submit") == 1 and len(fake.publishes) == 1


async def test_a_published_revision_is_never_published_twice(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((1, 1, 1)))}])
    pub = await world.wait_publication(draft_id)
    store = world.gateway.store
    row = await store.call(store.query_one, "SELECT * FROM publications WHERE draft_id = ?", (draft_id,))
    item = await store.call(build_item, store, row)
    again = await world.gateway.publish_targets["wechat"].publish(item)  # e.g. a delivery repeated after a crash
    assert again.state == "published" and again.remote["article_id"] == pub["remote"]["article_id"]
    assert fake.count("freepublish/submit") == 1 and fake.count("draft/add") == 1 and len(fake.publishes) == 1


async def test_a_slow_attempt_leaves_the_submit_to_a_fresh_attempt(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    # The queue cancels an attempt at publish_timeout; a submit cut off there could never be repeated.
    world = await wechat_world(aiohttp_client, tmp_path, fake, publish_timeout=1.0)
    fake.delay["draft/add"] = 0.6
    draft_id = await submit(world, body="正文", images=[{"name": "c.png", "data": b64(image_bytes((9, 9, 9)))}])
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["attempts"] == 2, pub
    assert fake.count("draft/add") == 1 and fake.count("freepublish/submit") == 1


async def test_publish_config_is_validated(aiohttp_client: Any, tmp_path: Path, fake: FakeWeChat) -> None:
    world = await wechat_world(aiohttp_client, tmp_path, fake)
    for publish, field in (({"target": "wechat", "app_secret": "x"}, "publish.app_secret"),
                           ({"target": "wechat", "cover_index": -1}, "publish.cover_index"),
                           ({"target": "wechat", "content_source_url": "ftp://x"}, "publish.content_source_url")):
        status, out = await world.call("PATCH", "/v1/accounts/mp", "admin", json={"publish": publish})
        assert status == 422 and out["error"]["field"] == field, out


def test_text_bodies_become_paragraphs_and_unreferenced_images_are_appended() -> None:
    assert text_to_html("第一段\n第二行\n\n<b>第二段</b>") == "<p>第一段<br/>第二行</p><p>&lt;b&gt;第二段&lt;/b&gt;</p>"
    images = (ImageInput(0, "cover.png", b"0"), ImageInput(1, "a.png", b"1"), ImageInput(2, "b.png", b"2"))
    content = Content("t", '<p>x</p><img src="image:2">', "html", images)
    out = article_html(content, {0: "U0", 1: "U1", 2: "U2"}, cover_index=0)
    assert out == '<p>x</p><img src="U2"><p><img src="U1"/></p>'


def test_network_errors_never_carry_tokens_into_last_error() -> None:
    exc = ValueError("bad answer from https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3CRET"
                     " and https://api.weixin.qq.com/cgi-bin/draft/add?access_token=TOK123")
    result = transport_result("wechat", "draft", exc)
    assert result.state == "retry" and "secret=***" in result.message and "access_token=***" in result.message
    assert "S3CRET" not in result.message and "TOK123" not in result.message
