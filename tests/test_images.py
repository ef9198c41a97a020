"""gateway.images: the decoding gate (limits, bad images) and the hashes, on real photos."""

from __future__ import annotations

import io
import resource
import time

import numpy as np
import pytest
from image_helpers import animated_gif, bomb_png, solid_image
from image_samples import TRANSFORMS, encode, load_photo, photo_paths
from PIL import Image

from gateway import images
from gateway.image_index import ImageMatcher
from gateway.image_registry import DEFAULT_THRESHOLDS
from gateway.images import ImageError, inspect_image, registration_hashes

pytest.importorskip("skimage")

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera")
LIMIT = DEFAULT_THRESHOLDS["unlicensed"]


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    paths = photo_paths()
    return {name: encode(load_photo(paths[name]), "JPEG", quality=92) for name in PHOTOS}


@pytest.fixture(scope="module")
def matcher(photos: dict[str, bytes]) -> ImageMatcher:
    m = ImageMatcher(LIMIT.phash)
    for name, data in photos.items():
        _, hashes = registration_hashes(data)
        m.add(name, [(h.variant, h.phash, h.dhash) for h in hashes])
    return m


def matched(matcher: ImageMatcher, data: bytes) -> set[str]:
    return {m.image_id for m in matcher.match(inspect_image(data).hashes, LIMIT)}


# -- matching survives what operators do --------------------------------------------


# Every edit the issue lists must match on these photos; the random crop (each
# side cut by its own 0-10%, up to 20% of a dimension) is a harder extra.
LISTED = sorted(t for t in TRANSFORMS if not t.startswith("crop_random"))


@pytest.mark.parametrize("transform", LISTED)
def test_transformed_copy_matches_its_original_only(transform: str, photos: dict[str, bytes], matcher: ImageMatcher) -> None:
    for name, data in photos.items():
        copy = TRANSFORMS[transform](data)
        assert copy != data
        found = matched(matcher, copy)
        assert found == {name}, f"{transform} of {name} matched {found}"


def test_random_crops_match_and_never_wrongly(photos: dict[str, bytes], matcher: ImageMatcher) -> None:
    draws = [t for t in TRANSFORMS if t.startswith("crop_random")]
    found = 0
    for name, data in photos.items():
        for draw in draws:
            got = matched(matcher, TRANSFORMS[draw](data))
            assert got <= {name}, (draw, name, got)
            found += got == {name}
    # every side cut by its own 0-10%: the inner crops reach nearly all (measured 25/25 here)
    assert found >= len(photos) * len(draws) - 2, found


def test_inner_crop_hashes_are_the_hashes_of_the_cropped_thumbnails() -> None:
    rng = np.random.default_rng(5)
    work = rng.integers(0, 256, (72, 96)).astype(np.float32)
    p, d = images.inner_hashes(work)
    assert len(p) == len(images.INNER_BOXES) == 256
    # the same boxes cut one at a time, through the plain thumbnail path
    thumbs = images.crop_thumbnails(work, list(images.INNER_BOXES))
    want_p, want_d = images._hash_batch(thumbs)
    assert np.array_equal(p, want_p[:, 0]) and np.array_equal(d, want_d[:, 0])
    # The weights are an area average: a whole-factor reduction is exactly Pillow's BOX resize,
    grey = Image.fromarray(rng.integers(0, 256, (64, 96)).astype(np.uint8))
    pillow = np.asarray(grey.resize((32, 32), Image.Resampling.BOX), dtype=np.float32)
    ours = images.crop_thumbnails(np.asarray(grey, dtype=np.float32), [(0.0, 0.0, 0.0, 0.0)])[0]
    assert np.abs(pillow - ours).max() <= 1.0  # Pillow rounds to 8 bits after each of its two passes
    # and a fractional box keeps the mean brightness of what it covers.
    flat = np.full((50, 70), 200.0, dtype=np.float32)
    assert np.allclose(images.crop_thumbnails(flat, list(images.INNER_BOXES[:5])), 200.0)


def test_inner_boxes_reach_the_central_part_of_any_crop_up_to_ten_percent() -> None:
    """Whatever a draft cut from each side (0-10%), one inner box is within 1.5% of the stored central 80%."""
    central = images.CROP_VARIANTS["crop_all"]
    rng = np.random.default_rng(9)
    boxes = np.array(images.INNER_BOXES)
    for cut in rng.uniform(0.0, 0.10, (500, 4)):
        # the inner box that would land exactly on the central part, in the draft's own fractions
        width, height = 1 - cut[0] - cut[2], 1 - cut[1] - cut[3]
        scale = np.array([width, height, width, height])
        ideal = (np.array(central) - cut) / scale
        assert np.abs(boxes - ideal).max(axis=1).min() <= 0.015 / min(width, height), cut


def test_random_crop_matches_through_an_inner_crop(photos: dict[str, bytes], matcher: ImageMatcher) -> None:
    data = photos["coffee"]
    im = Image.open(io.BytesIO(data))
    w, h = im.size
    cropped = encode(im.crop((round(w * 0.03), round(h * 0.09), w - round(w * 0.07), h - round(h * 0.01))), "JPEG")
    (m,) = matcher.match(inspect_image(cropped).hashes, LIMIT)
    assert (m.image_id, m.query_crop, m.variant) == ("coffee", "inner", "crop_all")
    assert m.phash_distance <= images.INNER_RADIUS


def test_distinct_photos_do_not_match(photos: dict[str, bytes], matcher: ImageMatcher) -> None:
    for name, data in photos.items():
        assert matched(matcher, data) == {name}
    # and photos that were never registered match nothing
    paths = photo_paths()
    for other in ("moon", "coins", "page", "motorcycle_left", "hubble_deep_field"):
        assert matched(matcher, encode(load_photo(paths[other]), "PNG")) == set(), other


def test_orientation_variants_are_the_hashes_of_the_turned_thumbnail() -> None:
    rng = np.random.default_rng(7)
    thumb = rng.integers(0, 256, (32, 32)).astype(np.float32)
    p = images.phash_variants(thumb)
    d = images.dhash_variants(thumb)
    for k, turned in enumerate(images._dihedral(thumb)):
        turned = np.ascontiguousarray(turned)
        assert images.phash_variants(turned)[0] == p[k], images.ORIENTATIONS[k]
        assert images.dhash_variants(turned)[0] == d[k], images.ORIENTATIONS[k]
    assert len(set(p)) == 8  # a random picture looks different every way round


def test_rotated_photo_reports_the_orientation(photos: dict[str, bytes], matcher: ImageMatcher) -> None:
    turned = encode(Image.open(io.BytesIO(photos["chelsea"])).transpose(Image.Transpose.ROTATE_90), "PNG")
    (m,) = matcher.match(inspect_image(turned).hashes, LIMIT)
    assert m.image_id == "chelsea"
    assert m.orientation in ("rot90", "rot270")
    assert m.phash_distance <= LIMIT.phash


def test_jpeg_is_decoded_at_reduced_scale_but_reports_its_real_size(photos: dict[str, bytes]) -> None:
    big = encode(load_photo(photo_paths()["astronaut"]).resize((2048, 1536)), "JPEG", quality=85)
    info = inspect_image(big)
    assert (info.width, info.height, info.format) == (2048, 1536, "JPEG")
    im = Image.open(io.BytesIO(big))
    im.draft("L", (64, 64))
    assert im.size == (256, 192)  # what the gate decodes: 1/8 of the pixels per side


def test_inspection_is_cached_by_content(photos: dict[str, bytes]) -> None:
    data = photos["rocket"]
    assert inspect_image(data) is inspect_image(data)


# -- bad images: a clean ImageError, bounded time and memory -------------------------


def _bounded(data: bytes, **limits: int) -> str:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(ImageError) as exc:
        inspect_image(data, **{"max_bytes": 20 * 1024 * 1024, "max_pixels": 64_000_000, **limits})
    assert time.perf_counter() - started < 2.0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 200
    return exc.value.message


def test_decompression_bomb_is_refused_before_decoding() -> None:
    data = bomb_png()
    assert len(data) < 5000
    message = _bounded(data)
    assert "2500000000 pixels" in message and "decompression bomb" in message


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_bomb_below_pillows_own_limit_is_still_ours_to_refuse() -> None:
    # 10,000 x 9,000 is under Pillow's error threshold but over a tighter configured limit
    message = _bounded(bomb_png(10_000, 9_000), max_pixels=50_000_000)
    assert "10000x9000" in message


def test_truncated_jpeg(photos: dict[str, bytes]) -> None:
    data = photos["coffee"]
    message = _bounded(data[: len(data) // 2])
    assert "truncated" in message or "corrupt" in message


def test_not_an_image() -> None:
    assert "not a recognised image" in _bounded(b"%PDF-1.7\n" + b"x" * 1000)
    assert "empty" in _bounded(b"")


def test_corrupt_png_data() -> None:
    good = solid_image((64, 64), "red")
    idat = good.index(b"IDAT") + 8  # keep the header intact, ruin the compressed pixels
    broken = good[:idat] + bytes(b ^ 0x5A for b in good[idat:-16]) + good[-16:]
    message = _bounded(broken)
    assert "corrupt" in message


def test_over_the_size_limit(photos: dict[str, bytes]) -> None:
    data = photos["astronaut"]
    message = _bounded(data, max_bytes=len(data) - 1)
    assert f"{len(data)} bytes" in message and "limit" in message


def test_animation_of_too_many_frames() -> None:
    data = animated_gif(images.DEFAULT_MAX_FRAMES + 100)
    message = _bounded(data)
    assert f"{images.DEFAULT_MAX_FRAMES + 100} frames" in message


def test_animation_is_checked_on_a_sample_of_frames(photos: dict[str, bytes], matcher: ImageMatcher) -> None:
    photo = Image.open(io.BytesIO(photos["astronaut"])).convert("RGB").resize((256, 256))
    # distinct frames (Pillow merges identical consecutive ones when saving)
    blank = [Image.new("RGB", (256, 256), (40 + 8 * i, 90, 200 - 5 * i)) for i in range(20)]
    frames = blank[:10] + [photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)] + blank[10:]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)
    first_only = inspect_image(buf.getvalue(), sample_frames=1)  # as registration hashes it
    assert {h.frame for h in first_only.hashes} == {0}
    info = inspect_image(buf.getvalue())  # not served the one-frame result from the cache
    assert info.frames == 22 and info.animated
    sampled = sorted({h.frame for h in info.hashes})
    assert sampled == [0, 10, 21]
    assert {m.image_id for m in matcher.match(info.hashes, LIMIT)} == {"astronaut"}


def test_frame_budget_bounds_decoding() -> None:
    data = animated_gif(400, size=200)  # 400 frames of 40,000 pixels = 16 M pixel decodes
    started = time.perf_counter()
    info = inspect_image(data, frame_pixel_budget=2_000_000)
    assert time.perf_counter() - started < 2.0
    assert max(h.frame for h in info.hashes) < 2_000_000 // 40_000
