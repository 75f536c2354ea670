"""Getting an image's bytes into S3: download (the pages' guarded fetch), validate, store.

Downloads go through the same fetch as pages: the SSRF guard at connect, manual redirects,
size and time limits, robots.txt when the job respects it, and the per-host politeness
slots. Objects are content-addressed (`images/<sha256>.<ext>`) and written only when
absent (a conditional put), so the same bytes are stored once across jobs and a retry
rewrites nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from isidorus.enrichment.common import Deferred
from isidorus.enrichment.imaging import (
    IMAGE_CONTENT_TYPES,
    ImageFacts,
    ImageRejected,
    inspect_image,
)
from isidorus.integrations.aws import s3_client
from isidorus.integrations.http_fetch import FetchLimits, fetch
from isidorus.job_state.politeness import HostBusy, host_slot
from isidorus.scrapings.jobs import JobConfig
from isidorus.scrapings.robots_cache import robots_rules

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredImage:
    facts: ImageFacts
    sha256: str
    s3_key: str
    size: int
    data: bytes
    uploaded: bool  # False: the object was already there (same bytes, earlier job)


@dataclass(frozen=True)
class ImageFailure:
    outcome: str  # failed | skipped
    reason: str
    retryable: bool = False
    retry_after: float | None = None


def s3_key_for(sha256: str, ext: str) -> str:
    return f"images/{sha256}.{ext}"


def image_download(job: JobConfig, url: str, deadline: float) -> bytes | ImageFailure | Deferred:
    if job.respect_robots and not robots_rules(job.id, url).allows(url):
        return ImageFailure("skipped", "robots_disallowed")
    left = max(0.5, deadline - time.monotonic())
    limits = FetchLimits(
        connect_timeout=min(settings.CRAWL_CONNECT_TIMEOUT, left),
        read_timeout=min(settings.CRAWL_READ_TIMEOUT, left),
        total_seconds=min(settings.IMAGE_FETCH_TIMEOUT, left),
        max_bytes=settings.IMAGE_MAX_BYTES,
        user_agent=settings.CRAWL_USER_AGENT,
    )
    try:
        with host_slot(
            urlsplit(url).netloc,
            limit=settings.CRAWL_HOST_CONCURRENCY,
            delay=settings.CRAWL_HOST_DELAY,
            lease_seconds=limits.total_seconds + 5,
            wait_until=deadline,
        ):
            result = fetch(url, limits=limits, accept=IMAGE_CONTENT_TYPES)
    except HostBusy:
        # The host's request slots are all taken (by other fetches, or held until their
        # lease expires by a worker that was killed): not the image's failure, so it runs
        # again later without spending an attempt.
        return Deferred("host_busy")
    if result.outcome == "fetched":
        return result.body
    return ImageFailure(result.outcome, result.reason, result.retryable, result.retry_after)


def image_store(data: bytes) -> StoredImage | ImageFailure:
    """Validate the bytes and put them in S3 unless that object already exists."""
    try:
        facts = inspect_image(data, max_pixels=settings.IMAGE_MAX_PIXELS)
    except ImageRejected as rejected:
        return ImageFailure("failed", rejected.reason)
    sha256 = hashlib.sha256(data).hexdigest()
    key = s3_key_for(sha256, facts.ext)
    try:
        uploaded = _put_unless_present(key, data, facts.mime)
    except (BotoCoreError, ClientError):
        logger.exception("storing image %s in S3 failed", key)
        return ImageFailure("failed", "storage", retryable=True)
    return _remember(StoredImage(facts, sha256, key, len(data), data, uploaded=uploaded))


def _put_unless_present(key: str, data: bytes, mime: str) -> bool:
    """Put the object unless the key exists; whether it was put.

    One conditional request (`If-None-Match: *`), not a HEAD then a PUT: in LocalStack
    that is 4.1 ms of its CPU and 2.2 of ours an image against 6.5-7.2 and 3.3-3.7.
    """
    try:
        s3_client().put_object(
            Bucket=settings.S3_BUCKET,
            Key=key,
            Body=data,
            ContentType=mime,
            # Content-addressed: the object under a key never changes.
            CacheControl="public, max-age=31536000, immutable",
            IfNoneMatch="*",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] in ("PreconditionFailed", "412"):
            return False
        raise
    return True


def image_load(s3_key: str, *, with_bytes: bool = True) -> StoredImage | ImageFailure:
    """Bytes stored earlier (by this row's first attempt, or a row with the same URL).

    Without `with_bytes` (the offline describer needs only the facts), an object this
    process has seen comes from memory, with empty `data`: a logo on every page of a site
    is read from S3 and decoded once per process, not once per page."""
    if not with_bytes and (known := _known_facts.get(s3_key)) is not None:
        return known
    try:
        data = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=s3_key)["Body"].read()
    except (BotoCoreError, ClientError):
        logger.exception("reading image %s from S3 failed", s3_key)
        return ImageFailure("failed", "storage", retryable=True)
    try:
        facts = inspect_image(data, max_pixels=settings.IMAGE_MAX_PIXELS)
    except ImageRejected as rejected:
        return ImageFailure("failed", rejected.reason)
    sha256 = hashlib.sha256(data).hexdigest()
    return _remember(StoredImage(facts, sha256, s3_key, len(data), data, uploaded=False))


# Objects are content-addressed (their key holds their sha256), so a key's facts never
# change and can be kept for as long as the process lives (bounded).
_KNOWN_FACTS_MAX = 2048
_known_facts: dict[str, StoredImage] = {}


def _remember(stored: StoredImage) -> StoredImage:
    if len(_known_facts) >= _KNOWN_FACTS_MAX:
        _known_facts.pop(next(iter(_known_facts)))
    _known_facts[stored.s3_key] = replace(stored, data=b"", uploaded=False)
    return stored
