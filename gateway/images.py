"""Decoding submitted images under limits, and their perceptual hashes.

``inspect_image`` is the one gate every submitted image goes through: it
refuses what is too big, not an image, truncated, a decompression bomb or an
animation of too many frames (``ImageError`` with a message fit for a 422),
and otherwise returns an ``ImageInfo`` carrying the hashes of a sample of
frames, so the image-reuse checker never decodes the same bytes twice.

Hashing is built for speed: JPEGs are decoded at 1/8 scale straight to
luminance (Pillow's draft mode: a 64-bit hash never needs full resolution),
everything is reduced once to a 32x32 grey thumbnail, and two 64-bit hashes
are derived from it: a pHash (signs of the low DCT band against their median)
and a dHash (signs of horizontal gradients on an 8x9 grid). Each comes with
its eight dihedral variants (mirror, rotations by 90/180/270, and their
combinations), computed from the one thumbnail: the pHash variants by sign
flips and a transpose of the DCT coefficients, the dHash ones by permuting
two tiny grids. A mirrored or rotated copy of a registered picture then has
one variant equal (up to noise) to the registered hash.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Iterator

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Formats a post may carry. TIFF and the exotic decoders are left out on
# purpose: every extra decoder is attack surface on untrusted bytes.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP", "BMP")  # MPO opens through JPEG

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 64_000_000  # 48-megapixel phone photos fit; 50,000 x 50,000 does not
DEFAULT_MAX_FRAMES = 500
# Decoding frame k of a GIF or WebP animation decodes every frame before it,
# so the frames we sample are bounded by a pixel budget, not only a count.
DEFAULT_FRAME_PIXEL_BUDGET = 40_000_000
DEFAULT_SAMPLE_FRAMES = 3

THUMB = 32  # the grey thumbnail every hash is derived from

# Names of the eight dihedral transforms, in the order variants are returned.
# Variant k of an image's hashes equals the identity hash of ``ORIENTATIONS[k]``
# applied to the image (numpy semantics: rot90 is counter-clockwise).
ORIENTATIONS: tuple[str, ...] = (
    "identity",
    "flip_h",
    "flip_v",
    "rot180",
    "transpose",
    "rot90",
    "rot270",
    "transverse",
)


class ImageError(ValueError):
    """A submitted image that cannot be accepted; ``message`` says why, for a 422."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FrameHashes:
    """Hashes of one frame, ``phash[k]``/``dhash[k]`` under ``orientations[k]``.

    ``crop`` is ``"full"`` for the whole frame, or ``"strip_bottom"`` for the
    frame without its bottom band, where captions and watermarks go.
    """

    frame: int
    phash: tuple[int, ...]
    dhash: tuple[int, ...]
    crop: str = "full"
    orientations: tuple[str, ...] = ORIENTATIONS
    # A tighter pHash limit for these hashes than the status thresholds (the
    # inner crops: many near-aligned tries, each allowed only a small distance).
    radius: int | None = None
    # The one stored variant these hashes are aligned with, if they are
    # meant to be compared with that variant only (the inner crops: "crop_all").
    against: str | None = None


@dataclass(frozen=True)
class ImageInfo:
    """What ``inspect_image`` learnt about one accepted image."""

    format: str
    width: int
    height: int
    mode: str
    frames: int
    sha256: str
    hashes: tuple[FrameHashes, ...]

    @property
    def animated(self) -> bool:
        return self.frames > 1


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


def _open(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open (headers only) and enforce the byte and declared-pixel limits."""
    if not data:
        raise ImageError("image is empty")
    if len(data) > max_bytes:
        raise ImageError(f"image is {len(data)} bytes, over the limit of {max_bytes} bytes")
    try:
        im = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        # Pillow's own guard fires (above twice its global limit) before we see the size.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        declared = f"{int(found.group(1))} pixels" if found else "too many pixels"
        raise ImageError(
            f"image declares {declared}, over the limit of {max_pixels} pixels (decompression bomb protection)"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(
            "not a recognised image (accepted formats: " + ", ".join(f.lower() for f in ALLOWED_FORMATS) + ")"
        ) from None
    except Exception as exc:  # noqa: BLE001 — a broken header can raise nearly anything
        raise ImageError(f"image header is corrupt: {exc}") from None
    width, height = im.size
    if width <= 0 or height <= 0:
        raise ImageError(f"image declares an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageError(
            f"image declares {width}x{height} pixels, over the limit of {max_pixels} pixels "
            "(decompression bomb protection)"
        )
    return im


@contextmanager
def _decoding() -> Iterator[None]:
    """What a decoder raises on bad data (truncated streams, bad chunks, zlib errors, memory) as ImageError."""
    try:
        yield
    except ImageError:
        raise
    except MemoryError:
        raise ImageError("image is too large to decode") from None
    except Exception as exc:  # noqa: BLE001 — a broken stream can raise nearly anything
        raise ImageError(f"image data is corrupt or truncated: {exc}") from None


def _frame_count(im: Image.Image, max_frames: int) -> int:
    try:
        frames = int(getattr(im, "n_frames", 1))
    except Exception as exc:  # noqa: BLE001 — scanning a broken animation raises anything
        raise ImageError(f"animation is corrupt: {exc}") from None
    if frames > max_frames:
        raise ImageError(f"animated image has {frames} frames, over the limit of {max_frames}")
    return frames


def _sample_indices(frames: int, pixels: int, budget: int, samples: int) -> list[int]:
    """Frames to hash: spread over the animation, within the decode budget."""
    reachable = max(1, min(frames, budget // max(1, pixels)))
    if samples <= 1:
        return [0]
    if reachable <= samples:
        return list(range(reachable))
    step = (reachable - 1) / (samples - 1)
    return sorted({round(i * step) for i in range(samples)})


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)


def _to_grey(im: Image.Image) -> Image.Image:
    """Luminance, with transparency flattened onto white (how a page shows it)."""
    if im.mode == "L":
        return im
    if _has_alpha(im):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("L")
    return im.convert("L")


# A caption strip or watermark band along the bottom hides about this much.
STRIP_BOTTOM = 0.12
# The stripped query is looked up upright and mirrored only: captions are
# added after any rotation, so they sit at the bottom of the posted picture.
STRIP_ORIENTATIONS = (0, 1)
# Hashing works on a grey copy at least this large on its longest side:
# enough for a 32x32 thumbnail and for placing crop edges to a fraction of a
# cell. Larger frames are reduced by a whole factor (an exact block average):
# a second, fractional resampling aliases fine textures (measured: a brick
# wall drifted 14 bits between scales).
WORK_SIDE = 96


def _work_array(frame: Image.Image, side: int = WORK_SIDE) -> np.ndarray:
    """The frame as luminance (float32), block-averaged by the largest whole factor keeping ``side`` pixels."""
    grey = _to_grey(frame)
    factor = max(grey.size) // side
    if factor > 1:
        grey = grey.reduce(factor)
    return np.asarray(grey, dtype=np.float32)


def iter_thumbnails(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int = DEFAULT_MAX_FRAMES,
    frame_pixel_budget: int = DEFAULT_FRAME_PIXEL_BUDGET,
    sample_frames: int = DEFAULT_SAMPLE_FRAMES,
) -> tuple[Image.Image, tuple[int, int], int, list[tuple[int, np.ndarray]]]:
    """Decode ``data`` under the limits: the image, its declared size, frame count, grey work arrays."""
    im = _open(data, max_bytes, max_pixels)
    frames = _frame_count(im, max_frames)
    width, height = im.size
    out: list[tuple[int, np.ndarray]] = []
    with _decoding():
        if frames == 1 and im.format in ("JPEG", "MPO"):
            # Draft mode: libjpeg scales in the DCT domain (down to 1/8) and
            # emits luminance only; the work array needs no more than that.
            im.draft("L", (THUMB * 2, THUMB * 2))
        if isinstance(im, ImageFile.ImageFile):  # one decoder call for the whole stream, not 64 KiB slices
            im.decodermaxblock = max(im.decodermaxblock, len(data))
        for index in _sample_indices(frames, width * height, frame_pixel_budget, sample_frames):
            if index:
                im.seek(index)
            im.load()
            out.append((index, _work_array(im)))
    return im, (width, height), frames, out


# ---------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    return np.cos(np.pi * (2 * x + 1) * k / (2 * n)).astype(np.float32)


_DCT8 = _dct_matrix(THUMB)[:8]  # only the 8 lowest frequencies are ever used
_SIGN = np.where(np.arange(8) % 2 == 0, 1.0, -1.0).astype(np.float32)
_FLIP_H = np.broadcast_to(_SIGN[None, :], (8, 8))  # mirror left-right: (-1)^v
_FLIP_V = np.broadcast_to(_SIGN[:, None], (8, 8))  # mirror top-bottom: (-1)^u


def _dihedral(a: np.ndarray) -> list[np.ndarray]:
    """The eight transforms of an array, in ``ORIENTATIONS`` order."""
    t = a.T
    return [a, a[:, ::-1], a[::-1, :], a[::-1, ::-1], t, t[::-1, :], t[:, ::-1], t[::-1, ::-1]]


def _box_matrix(n_out: int, n_in: int = THUMB) -> np.ndarray:
    """Area-average resampling from ``n_in`` to ``n_out`` samples (what a BOX resize does)."""
    scale = n_in / n_out
    m = np.zeros((n_out, n_in), dtype=np.float32)
    for i in range(n_out):
        lo, hi = i * scale, (i + 1) * scale
        for j in range(int(lo), min(n_in, int(np.ceil(hi)))):
            m[i, j] = (min(hi, j + 1) - max(lo, j)) / scale
    return m


_BOX8, _BOX9 = _box_matrix(8), _box_matrix(9)


def _t(a: np.ndarray) -> np.ndarray:
    """Transpose the last two axes of a batch."""
    return np.swapaxes(a, 1, 2)


def _median_last(a: np.ndarray) -> np.ndarray:
    """The median along the last axis (kept as a length-1 axis) of an even-length float32 array.

    NumPy's vectorised sort of 64 floats is several times faster than
    ``np.median``'s partition; the two middle values average to the same float.
    """
    n = a.shape[-1]
    ordered = np.sort(a, axis=-1)
    return (ordered[..., n // 2 - 1 : n // 2] + ordered[..., n // 2 : n // 2 + 1]) / 2


def _pack(bits: np.ndarray) -> np.ndarray:
    """(k, 8, 64) booleans -> (k, 8) uint64, first bit most significant."""
    return np.packbits(bits, axis=2).view(">u8")[..., 0].astype(np.uint64)


def _hash_batch(thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pHash and dHash of k thumbnails under the eight orientations: two (k, 8) uint64 arrays.

    pHash: the DCT-II of a mirrored signal equals the original's with odd
    frequencies negated, and a transpose transposes the coefficients, so the
    eight variants cost sign flips of one 8x8 block instead of eight DCTs.
    dHash: gradient signs on an 8x9 grid; the transposing orientations read
    the 9x8 grid transposed. All in a few NumPy operations per batch.
    """
    k = len(thumbs)
    c = _DCT8 @ thumbs @ _DCT8.T  # (k, 8, 8)
    h, v = c * _FLIP_H, c * _FLIP_V
    hv = h * _FLIP_V
    # Orientation order as _dihedral: flip_v(a.T) has coefficients flip_v(c.T) = (flip_h c).T.
    coeffs = np.stack([c, h, v, hv, _t(c), _t(h), _t(v), _t(hv)], axis=1).reshape(k, 8, 64)
    pbits = coeffs > _median_last(coeffs)

    wide = _BOX8 @ thumbs @ _BOX9.T  # (k, 8, 9)
    tall = _t(_BOX9 @ thumbs @ _BOX8.T)  # (k, 8, 9): the 9x8 grid transposed
    grids = np.stack(
        [wide, wide[:, :, ::-1], wide[:, ::-1, :], wide[:, ::-1, ::-1],
         tall, tall[:, ::-1, :], tall[:, :, ::-1], tall[:, ::-1, ::-1]],
        axis=1,
    )  # (k, 8 orientations, 8, 9)
    dbits = (grids[..., 1:] > grids[..., :-1]).reshape(k, 8, 64)
    return _pack(pbits), _pack(dbits)


@lru_cache(maxsize=4096)
def _span_weights(n_out: int, n_in: int, lo: float, hi: float) -> np.ndarray:
    """(n_out, n_in) area-average weights of the span [lo, hi) (fractions of n_in samples) cut into n_out cells.

    An exact area average (partial pixels weigh by their overlap; Pillow's
    BOX filter weighs whole pixels by their centres, the same for whole-factor
    reductions). A crop and a resize become one small matrix, so many crops of
    one array cost matrix products, not image copies.
    """
    a, b = lo * n_in, max(hi * n_in, lo * n_in + 1e-6)
    edges = a + (b - a) * np.arange(n_out + 1) / n_out
    pixels = np.arange(n_in + 1)
    overlap = np.minimum(edges[1:, None], pixels[None, 1:]) - np.maximum(edges[:-1, None], pixels[None, :-1])
    weights = (np.clip(overlap, 0.0, None) / (edges[1:] - edges[:-1])[:, None]).astype(np.float32)
    weights.setflags(write=False)  # cached and shared: nobody may change it
    return weights


def crop_thumbnails(work: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
    """32x32 thumbnails of ``work`` cut by each (left, top, right, bottom) fraction box: (k, 32, 32)."""
    rows, cols = _box_operators(work.shape[0], work.shape[1], tuple(boxes))
    return rows @ work @ cols


@lru_cache(maxsize=1024)
def _box_operators(
    h: int, w: int, boxes: tuple[tuple[float, float, float, float], ...]
) -> tuple[np.ndarray, np.ndarray]:
    rows = np.stack([_span_weights(THUMB, h, t, 1.0 - b) for _, t, _, b in boxes])
    cols = np.ascontiguousarray(np.swapaxes(np.stack([_span_weights(THUMB, w, left, 1.0 - r) for left, _, r, _ in boxes]), 1, 2))
    return rows, cols


# Inner crops: a draft that crops a registered picture by up to 10% on each
# side still contains the picture's central 80% ("crop_all", stored for every
# registration). Cutting the draft by each of these fractions on each side
# (4^4 = 256 boxes, cell centres of a 4-level grid over 0-11%) puts one box
# within ~1.4% of that central part, whatever the four cuts were; a pHash
# stays within a few bits at such a misalignment (measured: median 2-4).
# Measured on bench/image_eval.py (115 random crops): 4 levels on both axes
# 0.957, 3 on either axis 0.948, 3 on both 0.939.
INNER_LEVELS: tuple[float, ...] = (0.0139, 0.0417, 0.0694, 0.0972)  # left and right cuts
INNER_LEVELS_Y: tuple[float, ...] = INNER_LEVELS  # top and bottom cuts
INNER_BOXES: tuple[tuple[float, float, float, float], ...] = tuple(
    (left, top, right, bottom)
    for left, right in product(INNER_LEVELS, repeat=2)
    for top, bottom in product(INNER_LEVELS_Y, repeat=2)
)
# The inner crops are cut from a copy at least this large (longest side): a
# grid step of 2.8% is still ~1.8 pixels, placed exactly by fractional weights.
INNER_SIDE = 64
# The stored variant the inner boxes are aligned with (see CROP_VARIANTS).
INNER_VARIANT = "crop_all"
# 256 near-aligned tries are 256 chances of a chance match, so each may differ
# by only a few bits; 5 keeps the index probes at one bit per chunk.
INNER_RADIUS = 5


@lru_cache(maxsize=256)
def _inner_operators(h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row and column operators taking a (h, w) array straight to every inner box's 8x8 DCT and dHash grid.

    Applied as a stack of 16 moderate products (one per top/bottom cut pair):
    each runs on the calling thread, where one large product wakes BLAS's
    thread pool, which on a busy machine costs far more than the arithmetic
    (measured 50x), and 256 tiny products cost more in per-call overhead.
    """
    rows = np.stack([_span_weights(THUMB, h, a, 1.0 - b) for a, b in product(INNER_LEVELS_Y, repeat=2)])
    cols = np.stack([_span_weights(THUMB, w, a, 1.0 - b) for a, b in product(INNER_LEVELS, repeat=2)])
    dct_rows = np.ascontiguousarray(_DCT8 @ rows)  # (16 y pairs, 8, h)
    dct_cols = np.ascontiguousarray((_DCT8 @ cols).reshape(-1, w).T)  # (w, 16 x pairs * 8)
    grid_rows = np.ascontiguousarray(_BOX8 @ rows)  # (16 y pairs, 8, h)
    grid_cols = np.ascontiguousarray((_BOX9 @ cols).reshape(-1, w).T)  # (w, 16 x pairs * 9)
    return dct_rows, dct_cols, grid_rows, grid_cols


def inner_hashes(work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upright pHash and dHash of every ``INNER_BOXES`` crop of ``work``: two (256,) uint64 arrays.

    (crop, resize, DCT) is linear and separable, so all 256 crops are two
    batched products per hash: rows first (one per top/bottom cut pair),
    then columns (one per left/right cut pair).
    """
    if max(work.shape) >= 2 * INNER_SIDE and min(work.shape) >= 2:
        # 2x2 block sums (the scale does not matter to either hash): no
        # aliasing, a quarter of the arithmetic, and cheaper than a mean.
        h, w = work.shape[0] // 2 * 2, work.shape[1] // 2 * 2
        work = work[0:h:2, 0:w:2] + work[1:h:2, 0:w:2] + work[0:h:2, 1:w:2] + work[1:h:2, 1:w:2]
    h, w = work.shape
    dct_rows, dct_cols, grid_rows, grid_cols = _inner_operators(h, w)
    ny, nx = len(dct_rows), dct_cols.shape[1] // 8
    # [top/bottom pair, u, left/right pair, v] -> [left/right pair, top/bottom pair, u, v]: the INNER_BOXES order
    c = ((dct_rows @ work) @ dct_cols).reshape(ny, 8, nx, 8).transpose(2, 0, 1, 3).reshape(-1, 64)
    g = ((grid_rows @ work) @ grid_cols).reshape(ny, 8, nx, 9).transpose(2, 0, 1, 3)
    pbits = c > _median_last(c)
    dbits = (g[..., 1:] > g[..., :-1]).reshape(-1, 64)
    return _pack(pbits[None])[0], _pack(dbits[None])[0]


def phash_variants(thumb: np.ndarray) -> tuple[int, ...]:
    """pHash of one thumbnail under each orientation (``ORIENTATIONS`` order)."""
    return tuple(int(x) for x in _hash_batch(thumb[None].astype(np.float32))[0][0])


def dhash_variants(thumb: np.ndarray) -> tuple[int, ...]:
    """dHash of one thumbnail under each orientation (``ORIENTATIONS`` order)."""
    return tuple(int(x) for x in _hash_batch(thumb[None].astype(np.float32))[1][0])


_QUERY_BOXES = [(0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, STRIP_BOTTOM)]
# Turning by 90/180/270 degrees or mirroring loses nothing, so a turned copy
# sits as close to the registration as its re-encoding allows (measured on
# bench/image_eval.py: pHash 0-4 bits for every turned photo).
TURNED_RADIUS = 5


def frame_hashes(index: int, work: np.ndarray) -> list[FrameHashes]:
    """The query hashes of one frame: all orientations, the stripped upright/mirrored, the inner crops."""
    p, d = _hash_batch(crop_thumbnails(work, _QUERY_BOXES))
    full_p, full_d = p[0].tolist(), d[0].tolist()
    keep = STRIP_ORIENTATIONS
    inner_p, inner_d = inner_hashes(work)
    return [
        FrameHashes(index, (full_p[0],), (full_d[0],), "full", ORIENTATIONS[:1]),
        # A turned or mirrored copy is of the whole picture: compared with the
        # stored "full" only (a sixth of the candidates of every variant), and
        # within TURNED_RADIUS (one bit per chunk: a tenth of the probes).
        FrameHashes(index, tuple(full_p[1:]), tuple(full_d[1:]), "full", ORIENTATIONS[1:], TURNED_RADIUS, "full"),
        FrameHashes(
            index,
            tuple(int(p[1][k]) for k in keep),
            tuple(int(d[1][k]) for k in keep),
            "strip_bottom",
            tuple(ORIENTATIONS[k] for k in keep),
        ),
        FrameHashes(
            index, tuple(inner_p.tolist()), tuple(inner_d.tolist()), "inner", ("identity",) * len(inner_p),
            INNER_RADIUS, INNER_VARIANT,
        ),
    ]


# ---------------------------------------------------------------------------
# The gate
# ---------------------------------------------------------------------------

# The workflow inspects each image before screening and the checker hashes it
# during screening: a small cache keyed by content hash spares the second decode.
_CACHE_SIZE = 256
_cache: OrderedDict[str, ImageInfo] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(key: str) -> ImageInfo | None:
    with _cache_lock:
        info = _cache.get(key)
        if info is not None:
            _cache.move_to_end(key)
        return info


def _remember(key: str, info: ImageInfo) -> None:
    with _cache_lock:
        _cache[key] = info
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)


def inspect_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int = DEFAULT_MAX_FRAMES,
    frame_pixel_budget: int = DEFAULT_FRAME_PIXEL_BUDGET,
    sample_frames: int = DEFAULT_SAMPLE_FRAMES,
    cache: bool = True,
    sha256: str | None = None,
) -> ImageInfo:
    """Validate and hash one image; raise ``ImageError`` for anything unacceptable.

    Memory is bounded by ``max_bytes`` and by ``max_pixels`` checked against
    the declared size *before* any pixel is decoded; time by the same and by
    ``max_frames`` / ``frame_pixel_budget`` for animations. CPU-bound: call it
    from a worker thread.

    ``sha256`` is the hex SHA-256 of ``data`` when the caller already has it
    (a draft image's ``ImageInput.sha256``, computed once per submission):
    hashing the bytes again would cost a tenth of a 1024x768 JPEG's check.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError("image data must be bytes")
    data = bytes(data)
    if len(data) > max_bytes:  # before hashing the bytes, not after
        raise ImageError(f"image is {len(data)} bytes, over the limit of {max_bytes} bytes")
    sha = sha256 or hashlib.sha256(data).hexdigest()
    # Frame sampling is part of the key: an info hashed on fewer frames must
    # not stand in for a full check of the same animation.
    key = f"{sha}:{sample_frames}:{frame_pixel_budget}"
    cached = _cached(key) if cache else None
    if cached is not None and cached.width * cached.height <= max_pixels and cached.frames <= max_frames:
        return cached
    im, (width, height), frames, thumbs = iter_thumbnails(
        data,
        max_bytes=max_bytes,
        max_pixels=max_pixels,
        max_frames=max_frames,
        frame_pixel_budget=frame_pixel_budget,
        sample_frames=sample_frames,
    )
    info = ImageInfo(
        format=str(im.format),
        width=width,
        height=height,
        mode=str(im.mode),
        frames=frames,
        sha256=sha,
        hashes=tuple(h for i, work in thumbs for h in frame_hashes(i, work)),
    )
    _remember(key, info)
    return info



# ---------------------------------------------------------------------------
# Registration variants
# ---------------------------------------------------------------------------

# Registered pictures are also hashed as if cropped, because a crop moves every
# low DCT frequency at once and no global 64-bit hash survives 10% gone from a
# side. (left, top, right, bottom) fractions; the query side adds orientations.
CROP_VARIANTS: dict[str, tuple[float, float, float, float]] = {
    "full": (0.0, 0.0, 0.0, 0.0),
    "crop_bottom": (0.0, 0.0, 0.0, STRIP_BOTTOM),  # what a caption band hides
    # The central part every crop of up to 10% a side keeps: the inner crops
    # of a draft are aligned on it.
    "crop_all": (0.10, 0.10, 0.10, 0.10),
    # A cut along one side only is the commonest crop; stored as such it is
    # matched by the full query at the status thresholds (a bottom cut meets
    # "crop_bottom", 2% away).
    "crop_left": (0.10, 0.0, 0.0, 0.0),
    "crop_top": (0.0, 0.10, 0.0, 0.0),
    "crop_right": (0.0, 0.0, 0.10, 0.0),
}


@dataclass(frozen=True)
class VariantHash:
    """One stored hash of a registered image: its crop variant, pHash and dHash."""

    variant: str
    phash: int
    dhash: int


def registration_hashes(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    variants: dict[str, tuple[float, float, float, float]] | None = None,
) -> tuple[ImageInfo, list[VariantHash]]:
    """Validate an image to register and hash its first frame under each crop variant."""
    info = inspect_image(data, max_bytes=max_bytes, max_pixels=max_pixels, sample_frames=1)
    im = _open(data, max_bytes, max_pixels)
    with _decoding():
        if im.format in ("JPEG", "MPO"):
            # Crops need a little more resolution than the bare thumbnail.
            im.draft("L", (THUMB * 4, THUMB * 4))
        im.load()
        grey = _to_grey(im)
    chosen = variants or CROP_VARIANTS
    p, d = _hash_batch(crop_thumbnails(_work_array(grey, THUMB * 4), list(chosen.values())))
    return info, [VariantHash(name, int(p[i][0]), int(d[i][0])) for i, name in enumerate(chosen)]


# ---------------------------------------------------------------------------
# Display copy
# ---------------------------------------------------------------------------

# The console shows a registered picture beside a draft's matching image; a
# bounded copy is enough for a reviewer's eye and keeps a million rows small.
DISPLAY_SIDE = 512
DISPLAY_JPEG_QUALITY = 85


@dataclass(frozen=True)
class DisplayCopy:
    """A small copy of a registered picture for people to look at."""

    mime: str
    width: int
    height: int
    data: bytes


def display_copy(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    side: int = DISPLAY_SIDE,
) -> DisplayCopy:
    """The first frame, longest side at most ``side``: JPEG, or PNG when it has transparency.

    Decoded under the same limits as every other image (and JPEGs in draft
    mode, at the smallest DCT scale still at least ``side``). CPU-bound: call
    it from a worker thread.
    """
    im = _open(data, max_bytes, max_pixels)
    with _decoding():
        if im.format in ("JPEG", "MPO"):
            im.draft("RGB", (side, side))
        im.load()
        # Shown upright, as a browser shows the draft's own copy of the picture.
        frame = ImageOps.exif_transpose(im)
        frame.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if _has_alpha(frame):
            frame = frame.convert("RGBA")
            frame.save(out, "PNG", optimize=True)
            mime = "image/png"
        else:
            frame = frame.convert("L" if frame.mode in ("L", "1", "I", "I;16", "F") else "RGB")
            frame.save(out, "JPEG", quality=DISPLAY_JPEG_QUALITY, optimize=True)
            mime = "image/jpeg"
    return DisplayCopy(mime, frame.width, frame.height, out.getvalue())
