"""/v1/images and image screening over HTTP, on a real app and a real SQLite file."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import World
from image_helpers import animated_gif, b64, bomb_png
from image_samples import TRANSFORMS, encode, load_photo, photo_paths

from gateway import audit

pytest.importorskip("skimage")


async def register(world: World, data: bytes, **fields: Any) -> tuple[int, Any]:
    return await world.call("POST", "/v1/images", "admin", json={"data": b64(data), **fields})


async def test_register_list_get_delete(world: World, photos: dict[str, bytes]) -> None:
    status, body = await register(world, photos["astronaut"], label="astronaut", status="unlicensed")
    assert status == 201, body
    image = body["image"]
    assert image["status"] == "unlicensed" and image["label"] == "astronaut" and image["created_by"] == "admin"
    status, body = await register(world, photos["coffee"], label="coffee", status="licensed", licensed_to=["acc"])
    assert status == 201, body

    status, body = await world.call("GET", "/v1/images", "admin")
    assert status == 200 and [i["label"] for i in body["images"]] == ["astronaut", "coffee"]
    status, body = await world.call("GET", "/v1/images?status=licensed", "admin")
    assert [i["licensed_to"] for i in body["images"]] == [["acc"]]
    status, body = await world.call("GET", f"/v1/images/{image['id']}", "admin")
    assert status == 200 and body["image"]["id"] == image["id"]

    status, body = await world.call("DELETE", f"/v1/images/{image['id']}", "admin")
    assert status == 200 and body["removed"]
    status, body = await world.call("DELETE", f"/v1/images/{image['id']}", "admin")
    assert status == 404 and body["error"]["code"] == "not_found"
    entries = audit.entries(world.gateway.store, subject=f"image:{image['id']}")
    assert [(e["action"], e["actor"]) for e in entries] == [("image.register", "admin"), ("image.remove", "admin")]
    status, body = await world.call("GET", "/v1/audit/verify", "admin")
    assert status == 200 and body["ok"]


async def test_picture_is_the_display_copy_for_admins_only(world: World, photos: dict[str, bytes]) -> None:
    import io

    from PIL import Image

    big = encode(load_photo(photo_paths()["astronaut"]).resize((1200, 1200)), "JPEG", quality=90)
    status, body = await register(world, big, label="astronaut", status="unlicensed")
    assert status == 201, body
    image_id = body["image"]["id"]
    resp = await world.client.get(f"/v1/images/{image_id}/picture", headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert resp.status == 200 and resp.content_type == "image/jpeg"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    data = await resp.read()
    assert Image.open(io.BytesIO(data)).size == (512, 512)
    assert data == world.gateway.services["images"].image_bytes(image_id)
    status, _ = await world.call("GET", f"/v1/images/{image_id}/picture", "resp")
    assert status == 403
    status, body = await world.call("GET", "/v1/images/img_nope/picture", "admin")
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_only_admins_and_valid_bodies(world: World, photos: dict[str, bytes]) -> None:
    data = b64(photos["rocket"])
    status, body = await world.call("POST", "/v1/images", "op", json={"data": data, "label": "r", "status": "unlicensed"})
    assert status == 403
    status, body = await world.call("GET", "/v1/images", "resp")
    assert status == 403
    status, body = await world.call("POST", "/v1/images", None, json={"data": data, "label": "r", "status": "unlicensed"})
    assert status == 401

    cases = [
        ({"data": "not base64!!", "label": "r", "status": "unlicensed"}, "data"),
        ({"data": data, "label": "r", "status": "stolen"}, "status"),
        ({"data": data, "status": "unlicensed"}, "label"),
        ({"data": data, "label": "r", "status": "unlicensed", "licensed_to": ["acc"]}, "licensed_to"),
        ({"data": b64(b"hello, not a picture"), "label": "r", "status": "unlicensed"}, "data"),
        ({"data": b64(bomb_png()), "label": "r", "status": "unlicensed"}, "data"),
    ]
    for payload, field in cases:
        status, body = await world.call("POST", "/v1/images", "admin", json=payload)
        assert status == 422, (payload.keys(), body)
        assert body["error"]["message"].startswith(field), body
    status, body = await world.call("GET", "/v1/images?status=nope", "admin")
    assert status == 422


async def test_duplicate_is_409(world: World, photos: dict[str, bytes]) -> None:
    status, first = await register(world, photos["rocket"], label="rocket", status="unlicensed")
    assert status == 201
    status, body = await register(world, TRANSFORMS["to_png"](photos["rocket"]), label="again", status="unlicensed")
    assert status == 409 and body["error"]["code"] == "duplicate_image"
    assert body["error"]["image"]["id"] == first["image"]["id"]


async def test_drafts_are_screened_against_the_registry(world: World, photos: dict[str, bytes]) -> None:
    _, a = await register(world, photos["astronaut"], label="astronaut", status="unlicensed")
    _, c = await register(world, photos["coffee"], label="coffee", status="licensed", licensed_to=["acc"])
    names = [c_["name"] for c_ in (await world.call("GET", "/v1/checkers", "admin"))[1]["checkers"]]
    assert "image_reuse" in names

    copy = TRANSFORMS["rotate_270"](photos["astronaut"])
    status, body = await world.submit(images=[{"name": "ok.jpg", "data": b64(photos["rocket"])},
                                              {"name": "cover.jpg", "data": b64(copy)}])
    assert status == 201, body
    draft = body["draft"]
    assert draft["status"] == "blocked"
    (finding,) = [f for f in draft["findings"] if f["checker"] == "image_reuse"]
    ev = finding["evidence"]
    assert (ev["index"], ev["image_id"], ev["label"], ev["status"]) == (1, a["image"]["id"], "astronaut", "unlicensed")
    assert isinstance(ev["distance"], int)

    licensed = [{"name": "c.jpg", "data": b64(TRANSFORMS["jpeg_q15"](photos["coffee"]))}]
    status, body = await world.submit(images=licensed)
    assert body["draft"]["status"] == "passed", body
    status, body = await world.submit("op2", "acc2", images=licensed)
    assert body["draft"]["status"] == "flagged"
    (finding,) = [f for f in body["draft"]["findings"] if f["checker"] == "image_reuse"]
    assert finding["evidence"]["image_id"] == c["image"]["id"] and "acc" in finding["message"]

    # removal takes effect for the next draft, without a restart
    await world.call("DELETE", f"/v1/images/{a['image']['id']}", "admin")
    status, body = await world.submit(images=[{"name": "cover.jpg", "data": b64(copy)}])
    assert body["draft"]["status"] == "passed"


@pytest.mark.parametrize(
    "make,expect",
    [
        (lambda p: bomb_png(), "decompression bomb"),
        (lambda p: p["coffee"][: len(p["coffee"]) // 3], "truncated"),
        (lambda p: b"<html>not an image</html>", "not a recognised image"),
        (lambda p: animated_gif(600), "frames"),
    ],
)
async def test_bad_draft_images_get_422_naming_the_image(world: World, photos: dict[str, bytes], make: Any, expect: str) -> None:
    images = [{"name": "fine.jpg", "data": b64(photos["rocket"])}, {"name": "evil.png", "data": b64(make(photos))}]
    status, body = await world.submit(images=images)
    assert status == 422, body
    message = body["error"]["message"]
    assert message.startswith("images[1]") and "evil.png" in message and expect in message, message
    status, body = await world.call("GET", "/healthz")
    assert status == 200  # still serving
