"""The synthetic sites' images: real PNG files, so an enriched crawl downloads, validates,
stores and describes them as it would a real site's (bench/synthetic_site.py serves them).

Stdlib only (both the app venv and the Scrapy venv import the site). Sizes follow what
the pages declare: content images 480x320 (about 95 KB), their `2x` srcset variants
960x640 (about 160 KB), a 160x48 logo, documentation figures 640x400. The `typical`
profile's `.jpg` URLs are PNG files too (Content-Type image/png): the pipeline goes by
the bytes, and decoding either costs about the same.

Every URL gets distinct bytes (the pipeline stores images by content, so shared bytes
would be stored once and cost less than a real site's photos): a few base images of
each size are encoded once per process, and each URL's file is a base with a `tEXt`
chunk naming the URL, so Pillow decodes the same pixels at the same cost.
"""

from __future__ import annotations

import random
import re
import struct
import zlib
from functools import cache

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BASES_PER_SIZE = 8
# Noise that repeats every this many bytes: compresses to roughly photo-sized files.
_TILE_BYTES = 16384
_IMAGE_PATH = re.compile(rb"^/(img|_images)/([A-Za-z0-9]+)(-2x)?\.(jpg|png)$")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def _base_png(width: int, height: int, variant: int) -> tuple[bytes, bytes]:
    """(the PNG up to its pixel data, the rest): a per-variant colour under noise."""
    rng = random.Random(f"{width}x{height}/{variant}")
    stride = width * 3
    colour = bytes(rng.randrange(256) for _ in range(3))
    tint = (colour * (_TILE_BYTES // 3 + 1))[:_TILE_BYTES]
    noise = rng.randbytes(_TILE_BYTES)
    tile = bytes(low & 0x3F | base for low, base in zip(noise, tint, strict=True))
    doubled = tile * (1 + -(-stride // _TILE_BYTES))
    rows = b"".join(b"\x00" + doubled[(y * 7919) % _TILE_BYTES :][:stride] for y in range(height))
    header = _PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return header, _chunk(b"IDAT", zlib.compress(rows, 6)) + _chunk(b"IEND", b"")


def _size(directory: bytes, name: bytes, retina: bool) -> tuple[int, int]:
    if name == b"logo":
        return 160, 48
    if directory == b"_images":
        return 640, 400
    return (960, 640) if retina else (480, 320)


def image_response(path: bytes) -> bytes | None:
    """The full HTTP response for an image path of the synthetic sites, or None."""
    match = _IMAGE_PATH.match(path)
    if match is None:
        return None
    directory, name, retina = match.group(1), match.group(2), match.group(3) is not None
    width, height = _size(directory, name, retina)
    header, pixels = _base_png(width, height, zlib.crc32(path) % _BASES_PER_SIZE)
    body = header + _chunk(b"tEXt", b"Source\x00" + path) + pixels
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: max-age=60\r\n\r\n"
    )
    return head.encode("ascii") + body


def warm_image_bases() -> None:
    """Encode every base image now (before the server forks, so its processes share them)."""
    for width, height in ((160, 48), (640, 400), (480, 320), (960, 640)):
        for variant in range(_BASES_PER_SIZE):
            _base_png(width, height, variant)
