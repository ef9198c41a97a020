"""Real photographs from installable packages, and the edits operators make to them.

Shared by the image tests, the evaluation and the benchmark so all three
measure the same thing. Photos come from scikit-image's bundled sample data
(the ``test`` extra) and, when installed, scikit-learn's and matplotlib's
bundled sample images; nothing is downloaded. Each transformation takes and
returns encoded bytes, so every copy goes through a real encoder and decoder.
"""

from __future__ import annotations

import importlib.util
import io
import random
import zlib
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

# scikit-image sample files that are photographs (synthetic figures, binary
# silhouettes and one half of a stereo pair are left out: the right view of
# the motorcycle *is* the left view, shifted, and would rightly match it).
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "microaneurysms.png",
    "moon.png",
    "motorcycle_left.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")
MATPLOTLIB_PHOTOS = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def photo_paths() -> dict[str, Path]:
    """Every bundled real photo we can find, by a short name."""
    found: dict[str, Path] = {}
    skimage = _package_dir("skimage")
    if skimage:
        for f in SKIMAGE_PHOTOS:
            if (skimage / "data" / f).exists():
                found[f.rsplit(".", 1)[0]] = skimage / "data" / f
    sklearn = _package_dir("sklearn")
    if sklearn:
        for f in SKLEARN_PHOTOS:
            if (sklearn / "datasets" / "images" / f).exists():
                found[f.rsplit(".", 1)[0]] = sklearn / "datasets" / "images" / f
    mpl = _package_dir("matplotlib")
    if mpl:
        for f in MATPLOTLIB_PHOTOS:
            if (mpl / "mpl-data" / "sample_data" / f).exists():
                found[f.rsplit(".", 1)[0]] = mpl / "mpl-data" / "sample_data" / f
    return found


def load_photo(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    return im.convert("RGB")


def encode(im: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG" and im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im.convert("RGB")


# -- transformations: bytes -> bytes ------------------------------------------------


def _edit(fn: Callable[[Image.Image], Image.Image], fmt: str = "JPEG", **kw: object) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        return encode(fn(decode(data)), fmt, **kw)

    return apply


def _resize(factor: float) -> Callable[[Image.Image], Image.Image]:
    def fn(im: Image.Image) -> Image.Image:
        w, h = im.size
        return im.resize((max(8, round(w * factor)), max(8, round(h * factor))), Image.Resampling.LANCZOS)

    return fn


def _crop(left: float = 0.0, top: float = 0.0, right: float = 0.0, bottom: float = 0.0) -> Callable[[Image.Image], Image.Image]:
    def fn(im: Image.Image) -> Image.Image:
        w, h = im.size
        return im.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))

    return fn


def _band(where: str, fraction: float, opaque: bool) -> Callable[[Image.Image], Image.Image]:
    """A caption strip (opaque, bottom) or a watermark band (translucent, across the middle)."""

    def fn(im: Image.Image) -> Image.Image:
        w, h = im.size
        band_h = max(6, round(h * fraction))
        y0 = h - band_h if where == "bottom" else (h - band_h) // 2
        base = im.convert("RGBA")
        layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        fill = (20, 20, 20, 255) if opaque else (255, 255, 255, 110)
        draw.rectangle((0, y0, w, y0 + band_h), fill=fill)
        text = "Official account · do not reuse · 2026" if opaque else "© PKU NEWS  © PKU NEWS  © PKU NEWS"
        for x in range(4, w, max(40, w // 3)):
            draw.text((x, y0 + band_h // 3), text, fill=(255, 255, 255, 230))
        return Image.alpha_composite(base, layer).convert("RGB")

    return fn


def _random_crop(draw: int = 0) -> Callable[[bytes], bytes]:
    """Each side cut by its own amount in 0-10%, from a seed fixed per picture and draw.

    Not aligned with any stored crop variant: keeps the evaluation honest.
    Several draws per picture, since one draw over a few dozen photos says
    little about a 4-dimensional space of crops.
    """

    def apply(data: bytes) -> bytes:
        im = decode(data)
        rng = random.Random(zlib.crc32(data) + 7919 * draw)
        return encode(_crop(*(rng.uniform(0.0, 0.10) for _ in range(4)))(im), "JPEG")

    return apply


RANDOM_CROP_DRAWS = 5


def _gif(data: bytes) -> bytes:
    return encode(decode(data).convert("P", palette=Image.Palette.ADAPTIVE, colors=256), "GIF")


TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "resize_50": _edit(_resize(0.5)),
    "resize_25": _edit(_resize(0.25)),
    "upscale_150": _edit(_resize(1.5)),
    "jpeg_q15": _edit(lambda im: im, quality=15),
    "to_png": _edit(lambda im: im, "PNG"),
    "to_webp": _edit(lambda im: im, "WEBP", quality=60),
    "to_gif": _gif,
    "grayscale": _edit(lambda im: ImageOps.grayscale(im).convert("RGB")),
    "brighter_40": _edit(lambda im: ImageEnhance.Brightness(im).enhance(1.4)),
    "darker_40": _edit(lambda im: ImageEnhance.Brightness(im).enhance(0.6)),
    "contrast_up_50": _edit(lambda im: ImageEnhance.Contrast(im).enhance(1.5)),
    "contrast_down_40": _edit(lambda im: ImageEnhance.Contrast(im).enhance(0.6)),
    "caption_band": _edit(_band("bottom", 0.12, True)),
    "watermark_band": _edit(_band("middle", 0.12, False)),
    "crop_left_10": _edit(_crop(left=0.10)),
    "crop_right_10": _edit(_crop(right=0.10)),
    "crop_top_10": _edit(_crop(top=0.10)),
    "crop_bottom_10": _edit(_crop(bottom=0.10)),
    "crop_all_5": _edit(_crop(0.05, 0.05, 0.05, 0.05)),
    "crop_all_10": _edit(_crop(0.10, 0.10, 0.10, 0.10)),
    "crop_random_upto10": _random_crop(0),
    **{f"crop_random_upto10_{k}": _random_crop(k) for k in range(1, RANDOM_CROP_DRAWS)},
    "mirror": _edit(ImageOps.mirror),
    "rotate_90": _edit(lambda im: im.transpose(Image.Transpose.ROTATE_90)),
    "rotate_180": _edit(lambda im: im.transpose(Image.Transpose.ROTATE_180)),
    "rotate_270": _edit(lambda im: im.transpose(Image.Transpose.ROTATE_270)),
    "mirror_rotate_90": _edit(lambda im: ImageOps.mirror(im).transpose(Image.Transpose.ROTATE_90)),
    "resize_jpeg_gray_band": _edit(
        lambda im: _band("bottom", 0.10, True)(ImageOps.grayscale(_resize(0.6)(im)).convert("RGB")), quality=40
    ),
}
