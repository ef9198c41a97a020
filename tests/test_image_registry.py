"""gateway.image_registry: durable, audited registrations over a real SQLite file; the in-memory index."""

from __future__ import annotations

from pathlib import Path

import pytest
from image_samples import TRANSFORMS, encode, load_photo, photo_paths

from gateway import audit
from gateway.image_registry import (
    DuplicateImage,
    ImageRegistry,
    RegistryError,
    thresholds_from_settings,
)
from gateway.images import CROP_VARIANTS, ImageError, inspect_image
from gateway.store import Store

pytest.importorskip("skimage")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "reg.db")
    yield s
    s.close()


def test_add_is_durable_audited_and_listed(store: Store, photos: dict[str, bytes]) -> None:
    reg = ImageRegistry(store)
    a = reg.add(photos["astronaut"], label="NASA astronaut", status="unlicensed", actor="admin")
    b = reg.add(photos["coffee"], label="coffee", status="licensed", licensed_to=["acc2", "acc"], actor="admin")
    assert a["id"].startswith("img_") and a["width"] == 512 and a["format"] == "JPEG"
    assert b["licensed_to"] == ["acc", "acc2"]
    assert [r["id"] for r in reg.list()] == [a["id"], b["id"]]
    assert [r["id"] for r in reg.list("licensed")] == [b["id"]]
    rows = store.query("SELECT image_id, variant, phash, dhash FROM registered_image_hashes WHERE image_id = ?", (a["id"],))
    assert {r["variant"] for r in rows} == set(CROP_VARIANTS)
    assert all(len(r["phash"]) == 16 and int(r["phash"], 16) >= 0 for r in rows)
    entries = audit.entries(store, subject=f"image:{a['id']}")
    assert [(e["action"], e["actor"], e["data"]["status"]) for e in entries] == [("image.register", "admin", "unlicensed")]
    assert audit.verify(store)["ok"]

    # a registry built later from the same file finds the picture (index loaded at startup)
    again = ImageRegistry(store)
    hits = again.match(inspect_image(TRANSFORMS["rotate_90"](photos["astronaut"])))
    assert [(h.image["id"], h.image["label"]) for h in hits] == [(a["id"], "NASA astronaut")]


def test_remove_updates_index_in_place_and_is_audited(store: Store, photos: dict[str, bytes]) -> None:
    reg = ImageRegistry(store)
    a = reg.add(photos["chelsea"], label="cat", status="unlicensed", actor="admin")
    query = inspect_image(TRANSFORMS["jpeg_q15"](photos["chelsea"]))
    assert [h.image["id"] for h in reg.match(query)] == [a["id"]]
    assert reg.remove(a["id"], actor="admin2")
    assert reg.match(query) == []
    assert not reg.remove(a["id"])
    assert store.query("SELECT * FROM registered_image_hashes") == []
    assert [e["action"] for e in audit.entries(store, subject=f"image:{a['id']}")] == ["image.register", "image.remove"]
    assert ImageRegistry(store).match(query) == []


def test_duplicates_exact_and_re_encoded_are_refused(store: Store, photos: dict[str, bytes]) -> None:
    reg = ImageRegistry(store)
    first = reg.add(photos["rocket"], label="rocket", status="unlicensed")
    with pytest.raises(DuplicateImage) as exc:
        reg.add(photos["rocket"], label="rocket again", status="licensed")
    assert exc.value.existing["id"] == first["id"]
    with pytest.raises(DuplicateImage):
        reg.add(TRANSFORMS["to_png"](photos["rocket"]), label="rocket png", status="unlicensed")
    # a clearly edited copy is a separate registration (it is not the same picture)
    reg.add(TRANSFORMS["rotate_90"](photos["rocket"]), label="rocket turned", status="unlicensed")
    assert len(reg) == 2


def test_refusals(store: Store, photos: dict[str, bytes]) -> None:
    reg = ImageRegistry(store, {"max_bytes": 10_000})
    with pytest.raises(ImageError, match="over the limit"):
        reg.add(photos["coffee"], label="coffee", status="unlicensed")
    reg = ImageRegistry(store)
    with pytest.raises(RegistryError, match="status"):
        reg.add(photos["coffee"], label="coffee", status="stolen")
    with pytest.raises(RegistryError, match="licensed_to"):
        reg.add(photos["coffee"], label="coffee", status="unlicensed", licensed_to=["acc"])
    with pytest.raises(ImageError):
        reg.add(b"GIF89a" + b"\x00" * 20, label="junk", status="unlicensed")
    assert len(reg) == 0 and store.query("SELECT * FROM registered_images") == []


def test_per_status_thresholds_from_settings(store: Store, photos: dict[str, bytes]) -> None:
    strict = ImageRegistry(store, {"thresholds": {"unlicensed": {"phash": 0, "combined": 0}}})
    assert strict.thresholds["unlicensed"].phash == 0
    assert strict.thresholds["licensed"] == thresholds_from_settings({})["licensed"]
    strict.add(photos["astronaut"], label="a", status="unlicensed")
    strict.add(photos["coffee"], label="c", status="licensed", licensed_to=["acc"])
    brighter_a = inspect_image(TRANSFORMS["brighter_40"](photos["astronaut"]))
    brighter_c = inspect_image(TRANSFORMS["brighter_40"](photos["coffee"]))
    assert strict.match(brighter_a) == []  # zero tolerance for this status
    assert [h.image["label"] for h in strict.match(brighter_c)] == ["c"]
    with pytest.raises(ValueError):
        thresholds_from_settings({"thresholds": {"licensed": {"phash": 40}}})


def test_animated_picture_registers_on_its_first_frame(store: Store, photos: dict[str, bytes]) -> None:
    import io

    from PIL import Image

    frames = [Image.open(io.BytesIO(photos[n])).convert("RGB").resize((200, 200)) for n in ("rocket", "coffee")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    reg = ImageRegistry(store)
    record = reg.add(buf.getvalue(), label="animated", status="unlicensed")
    assert record["format"] == "GIF"
    hits = reg.match(inspect_image(TRANSFORMS["resize_50"](photos["rocket"])))
    assert [h.image["label"] for h in hits] == ["animated"]


# -- the display copy the review console shows -----------------------------------------


def test_registration_keeps_a_bounded_display_copy_of_the_same_picture(store: Store, photos: dict[str, bytes]) -> None:
    import io

    from PIL import Image

    reg = ImageRegistry(store)
    big = encode(load_photo(photo_paths()["coffee"]).resize((1600, 1066)), "JPEG", quality=90)
    record = reg.add(big, label="coffee, large", status="unlicensed")
    data = reg.image_bytes(record["id"])
    assert data is not None and len(data) < len(big)
    shown = Image.open(io.BytesIO(data))
    assert shown.format == "JPEG" and shown.size == (512, 341)  # longest side 512, aspect kept
    # It is the registered picture, not any picture: the copy itself matches the registration.
    assert [h.image["id"] for h in reg.match(inspect_image(data))] == [record["id"]]
    assert reg.picture(record["id"]) == ("image/jpeg", data)

    # a small picture is not enlarged
    small = reg.add(encode(load_photo(photo_paths()["rocket"]).resize((300, 200)), "PNG"), label="rocket", status="unlicensed")
    assert Image.open(io.BytesIO(reg.image_bytes(small["id"]) or b"")).size == (300, 200)


def test_transparent_picture_is_kept_as_png(store: Store, photos: dict[str, bytes]) -> None:
    import io

    from PIL import Image

    logo = Image.open(io.BytesIO(photos["chelsea"])).convert("RGBA")
    logo.putalpha(Image.linear_gradient("L").resize(logo.size))  # varying alpha, as a cut-out logo has
    record = ImageRegistry(store).add(encode(logo, "PNG"), label="emblem", status="school_mark")
    mime, data = ImageRegistry(store).picture(record["id"]) or ("", b"")
    shown = Image.open(io.BytesIO(data))
    assert mime == "image/png" and shown.format == "PNG" and shown.mode == "RGBA"
    assert shown.getchannel("A").getextrema()[0] < 50  # transparency survived


def test_no_display_copy_is_none_and_removal_drops_it(store: Store, photos: dict[str, bytes]) -> None:
    reg = ImageRegistry(store)
    a = reg.add(photos["astronaut"], label="a", status="unlicensed")
    c = reg.add(photos["coffee"], label="c", status="unlicensed")
    assert reg.image_bytes(a["id"]) is not None
    # a registration from before images_0002_pictures has no row: None, and matching still works
    store.execute("DELETE FROM registered_image_pictures WHERE image_id = ?", (c["id"],))
    assert reg.image_bytes(c["id"]) is None and reg.picture(c["id"]) is None
    assert [h.image["id"] for h in reg.match(inspect_image(photos["coffee"]))] == [c["id"]]
    assert reg.image_bytes("img_does_not_exist") is None
    reg.remove(a["id"])
    assert reg.image_bytes(a["id"]) is None
    assert store.query("SELECT image_id FROM registered_image_pictures") == []
