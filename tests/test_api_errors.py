"""Bad input gets the contract's status, error code and a message naming the field; nothing is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import World, build_world
from image_helpers import b64


def _draft_count(world: World) -> int:
    return world.gateway.store.query_one("SELECT count(*) AS n FROM drafts")["n"]


@pytest.mark.parametrize(
    "raw, status, code",
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe\x00garbage", 400, "invalid_encoding"),
        (b"[1, 2]", 422, "invalid_field"),
    ],
)
async def test_malformed_bodies(world: World, raw: bytes, status: int, code: str) -> None:
    resp = await world.client.post("/v1/drafts", data=raw, headers={"Authorization": f"Bearer {world.tokens['op']}"})
    assert resp.status == status
    body = await resp.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    assert _draft_count(world) == 0


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"title": "t", "body": "b"}, "account"),
        ({"account": "acc", "body": "b"}, "title"),
        ({"account": "acc", "title": 5, "body": "b"}, "title"),
        ({"account": "acc", "title": "t", "body": ["b"]}, "body"),
        ({"account": "acc", "title": "t", "body": "b", "body_format": "markdown"}, "body_format"),
        ({"account": "acc", "title": "t", "body": "b", "images": [{"name": "a.png", "data": "***not base64***"}]}, "images[0].data"),
        ({"account": "acc", "title": "t", "body": "b", "images": [{"data": "aGk="}]}, "images[0].name"),
        ({"account": "acc", "title": "t" * 100_000, "body": "b"}, "title"),
        ({"account": "acc", "title": "t", "body": "b", "colour": "red"}, "colour"),
        ({"account": "nope", "title": "t", "body": "b"}, "account"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(world: World, payload: dict[str, Any], field: str) -> None:
    status, body = await world.call("POST", "/v1/drafts", "op", json=payload)
    assert status == 422, body
    assert body["error"]["field"] == field
    assert field in body["error"]["message"]
    assert _draft_count(world) == 0
    status, _ = await world.submit()
    assert status == 201, "the server keeps serving after bad input"


async def test_body_over_the_limit_is_413(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await build_world(aiohttp_client, tmp_path, max_body_bytes=4096)
    status, body = await world.submit(body="字" * 5000)
    assert status == 413 and body["error"]["code"] == "body_too_large"
    assert _draft_count(world) == 0
    status, _ = await world.submit(body="短")
    assert status == 201


async def test_unknown_route_and_method_are_json_errors(world: World) -> None:
    status, body = await world.call("GET", "/v1/nothing-here", "op")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await world.call("DELETE", "/v1/drafts", "op")
    assert status == 405 and body["error"]["code"] == "method_not_allowed"


async def test_bad_query_parameters(world: World) -> None:
    cases = [
        ("/v1/drafts?status=pending", "status"),
        ("/v1/drafts?account=ghost", "account"),
    ]
    for path, field in cases:
        status, body = await world.call("GET", path, "op")
        assert status == 422 and body["error"]["field"] == field, (path, body)


async def test_bad_image_is_422_naming_the_image(world: World) -> None:
    status, body = await world.submit(images=[{"name": "photo.jpg", "data": b64(b"not an image at all")}])
    assert status == 422
    assert body["error"]["field"] == "images[0]" and "photo.jpg" in body["error"]["message"]
    assert _draft_count(world) == 0


async def test_account_fields_validated(world: World) -> None:
    cases = [
        ({"id": "bad id with spaces", "name": "n", "platform": "wechat", "unit": "u", "responsible": "resp"}, "id"),
        ({"id": "a4", "name": "n", "platform": "tiktok", "unit": "u", "responsible": "resp"}, "platform"),
        ({"id": "a4", "name": "n", "platform": "wechat", "unit": "u", "responsible": "resp", "publish": {"target": "nowhere"}},
         "publish.target"),
    ]
    for payload, field in cases:
        status, body = await world.call("POST", "/v1/accounts", "admin", json=payload)
        assert status == 422 and body["error"]["field"] == field, (payload, body)
    status, body = await world.call("POST", "/v1/accounts", "admin", json={
        "id": "a4", "name": "北京大学物理", "platform": "wechat", "unit": "u", "responsible": "resp"})
    assert status == 422 and body["error"]["field"] == "name" and "北京大学" in body["error"]["message"]
    status, _ = await world.call("PATCH", "/v1/accounts/ghost", "admin", json={"review_policy": "all"})
    assert status == 404


@pytest.mark.parametrize(
    "raw, hint",
    [
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested too deeply"),
        (b'{"account": ' + b"9" * 5000 + b"}", "digits"),
    ],
)
async def test_json_the_decoder_refuses_is_400_not_500(world: World, raw: bytes, hint: str) -> None:
    resp = await world.client.post("/v1/drafts", data=raw, headers={"Authorization": f"Bearer {world.tokens['op']}"})
    assert resp.status == 400
    body = await resp.json()
    assert body["error"]["code"] == "invalid_json" and hint in body["error"]["message"]
    status, _ = await world.submit()
    assert status == 201, "the server keeps serving after bad input"


@pytest.mark.parametrize(
    "raw, field",
    [
        # A lone surrogate reached SQLite through an unconstrained list of strings and failed there.
        (b'{"topic": "t", "terms": ["x"], "ends_at": "2099-01-01T00:00:00+00:00", "exempt_accounts": ["acc", "\\ud800"]}',
         "exempt_accounts[1]"),
        (b'{"topic": "t", "terms": ["x"], "ends_at": "2099-01-01T00:00:00+00:00", "\\udfffkey": 1}', "\\udfffkey"),
    ],
)
async def test_lone_surrogates_are_422_naming_the_field(world: World, raw: bytes, field: str) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['admin']}", "Content-Type": "application/json"}
    resp = await world.client.post("/v1/embargoes", data=raw, headers=headers)
    assert resp.status == 422
    body = await resp.json()
    assert body["error"]["field"] == field and "surrogate" in body["error"]["message"]
    status, _ = await world.call("POST", "/v1/embargoes", "admin", json={
        "topic": "t", "terms": ["x"], "ends_at": "2099-01-01T00:00:00+00:00", "exempt_accounts": ["acc"]})
    assert status == 201


async def test_escaped_emoji_is_not_mistaken_for_a_lone_surrogate(world: World) -> None:
    raw = b'{"account": "acc", "title": "\\ud83d\\ude00", "body": "b"}'
    resp = await world.client.post("/v1/drafts", data=raw, headers={"Authorization": f"Bearer {world.tokens['op']}"})
    assert resp.status == 201
    assert (await resp.json())["draft"]["title"] == "😀"


async def test_405_lists_the_allowed_methods(world: World) -> None:
    resp = await world.client.request("TRACE", "/v1/drafts", headers={"Authorization": f"Bearer {world.tokens['op']}"})
    assert resp.status == 405
    assert set(resp.headers["Allow"].split(",")) >= {"GET", "POST"}
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
