"""Pictures built in the tests: solid-colour images, a decompression bomb, animated GIFs, base64 for JSON bodies."""

from __future__ import annotations

import base64
import io
import struct
import zlib

from PIL import Image


def solid_image(size: tuple[int, int], colour: str | tuple[int, int, int], fmt: str = "PNG") -> bytes:
    """An RGB picture of one colour, encoded as ``fmt``."""
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    """Bytes as the base64 text the JSON API takes for an image."""
    return base64.b64encode(data).decode("ascii")


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A few hundred bytes declaring width x height grey pixels (all zero, highly compressible)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 8, 9)  # only the first rows: the header is the bomb
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")


def animated_gif(frames: int, size: int = 16) -> bytes:
    seq = [Image.new("L", (size, size), color=(i * 37) % 256) for i in range(frames)]
    buf = io.BytesIO()
    seq[0].save(buf, "GIF", save_all=True, append_images=seq[1:], duration=20, loop=0)
    return buf.getvalue()
