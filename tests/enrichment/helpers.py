"""Test helpers of the enrichment tests: real image bytes (Pillow), hostile ones, and jobs
set up the way the writer leaves them (rows in PostgreSQL, job item in DynamoDB, open
items in Redis)."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from PIL import Image as PillowImage

from isidorus import job_state
from isidorus.integrations import job_table
from isidorus.scrapings.models import Image, Page, Scraping

ARTICLE = (
    "The Bell Rock lighthouse stands on a reef in the North Sea. "
    "Robert Stevenson built the lighthouse between 1807 and 1810, and it is the oldest "
    "surviving sea-washed lighthouse in the world. "
    "Visitors often ask about the weather. "
    "Keepers lived in the tower for weeks at a time, tending the lighthouse lamp every night. "
    "The lighthouse lamp was automated in 1988, and the keepers left the rock. "
    "Today a small museum in Arbroath tells the story of the keepers and their families. "
    "The gift shop sells postcards."
)


def image_bytes(
    fmt: str = "PNG",
    *,
    colour: tuple[int, int, int] = (200, 30, 30),
    size: tuple[int, int] = (64, 48),
) -> bytes:
    """A real image, unique per call (a few random pixels), so content-addressed keys are new."""
    image = PillowImage.new("RGB", size, colour)
    noise = os.urandom(6)
    for index in range(3):
        image.putpixel((index, 0), (noise[index], noise[index + 3], 0))
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header claims billions of pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def new_job(
    *,
    token_budget: int | None = None,
    username: str = "enricher",
    summarize: bool = True,
    describe_images: bool = True,
) -> str:
    """A running job. Turn off the enrichment a test does not run: the audit before the
    job's terminal status would otherwise find it missing (and publish it again)."""
    owner, _ = get_user_model().objects.get_or_create(username=username)
    job = Scraping.objects.create(
        owner=owner, url="http://127.0.0.1:9/", token_budget=token_budget,
        summarize=summarize, describe_images=describe_images,
    )  # fmt: skip
    job_id = str(job.pk)
    job_table.job_item_create(
        job_id=job_id, owner_id=owner.pk, url=job.url, depth=1,
        created_at=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    job_table.job_item_mark_running(job_id)
    job_state.activate(job_id)
    return job_id


def add_page(
    job_id: str, *, url: str, title: str = "Page", text: str = ARTICLE, depth: int = 0
) -> int:
    page = Page.objects.create(
        scraping_id=job_id, url=url, url_hash=hashlib.sha1(url.encode()).hexdigest(),
        outcome="fetched", status_code=200, title=title, text=text, depth=depth,
        parent_url="" if depth == 0 else "http://127.0.0.1:9/",
    )  # fmt: skip
    # Counted as the writer's batch would count it, so the job's audit finds them equal.
    job_table.job_item_add_counters_once(job_id, f"page-{page.pk}", {"pages_fetched": 1})
    return int(page.pk)


def add_image(job_id: str, page_id: int, *, url: str, **context: str) -> int:
    return int(Image.objects.create(scraping_id=job_id, page_id=page_id, url=url, **context).pk)


def open_items(job_id: str, *, pages: Sequence[int] = (), images: Sequence[int] = ()) -> None:
    """What the writer's hand-off does before it publishes (open-before-publish)."""
    items: dict[str, dict[str, Any]] = {
        job_state.summary_item(i): {"k": "summary", "id": i} for i in pages
    }
    items.update({job_state.image_item(i): {"k": "image", "id": i} for i in images})
    job_state.open_new(job_id, items)


def counters(job_id: str) -> dict[str, Any]:
    item = job_table.job_item_get(job_id) or {}
    return {k: v for k, v in item.items() if isinstance(v, int) and not isinstance(v, bool)}


def status(job_id: str) -> str:
    return str((job_table.job_item_get(job_id) or {}).get("status"))
