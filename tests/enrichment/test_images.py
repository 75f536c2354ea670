"""The image-extractor service: real downloads from a local site, Pillow validation, S3 on
LocalStack, and the vision LLM through the real client libraries against fake servers."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image as PillowImage

from isidorus import job_state
from isidorus.enrichment.common import lease_acquire, lease_release
from isidorus.enrichment.image_store import StoredImage, image_store
from isidorus.enrichment.images import _url_lease, extract_images
from isidorus.integrations.aws import s3_client
from isidorus.scrapings.models import Image, ImageDescription
from tests.enrichment.conftest import use_provider
from tests.enrichment.helpers import (
    add_image,
    add_page,
    bomb_png,
    counters,
    image_bytes,
    new_job,
    open_items,
    status,
    truncated,
)
from tests.support.llm_servers import FakeLLMServer, Reply, down_base_url
from tests.support.site import FixtureSite, Route

pytestmark = pytest.mark.django_db(transaction=True)

RED_PNG = image_bytes("PNG", colour=(200, 30, 30))
BLUE_JPEG = image_bytes("JPEG", colour=(20, 60, 200))


def _image(data: bytes, content_type: str = "image/png", status: int = 200) -> Route:
    return Route(body=data, content_type=content_type, status=status)


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    routes = {
        "/img/red-lighthouse.png": _image(RED_PNG),
        "/img/sea.jpg": _image(BLUE_JPEG, "image/jpeg"),
        "/img/mislabelled.jpg": _image(image_bytes("PNG"), "image/jpeg"),
        "/img/old.bmp": _image(image_bytes("BMP"), "image/bmp"),
        "/img/bomb.png": _image(bomb_png()),
        "/img/cut.png": _image(truncated(image_bytes("PNG", size=(300, 300)))),
        "/img/page.png": _image(b"<html>oops</html>"),
        "/img/gone.png": _image(b"", status=404),
        "/img/vector.svg": _image(b"<svg/>", "image/svg+xml"),
    }
    with FixtureSite(routes) as served:
        yield served


def _run(job_id: str, images: list[int], attempt: int = 0) -> Any:
    return extract_images(
        job_id=job_id, image_ids=images, attempt=attempt, delivery_token=uuid.uuid4().hex
    )


def _job_with_images(site: FixtureSite, *paths: str, **context: str) -> tuple[str, list[int]]:
    job_id = new_job(summarize=False)
    page_id = add_page(job_id, url=site.url("/"))
    images = [add_image(job_id, page_id, url=site.url(path), **context) for path in paths]
    open_items(job_id, images=images)
    return job_id, images


def _s3_object(key: str) -> tuple[bytes, str]:
    response = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)
    return response["Body"].read(), response["ContentType"]


def _s3_keys_of(monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """Keys of every call of the S3 client's `method` that succeeded (the real call still goes
    to LocalStack): a conditional put refused because the object exists wrote nothing."""
    client = s3_client()
    real = getattr(client, method)
    keys: list[str] = []

    def spy(**kwargs: Any) -> Any:
        result = real(**kwargs)
        keys.append(kwargs["Key"])
        return result

    monkeypatch.setattr(client, method, spy)
    return keys


@pytest.fixture
def s3_puts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return _s3_keys_of(monkeypatch, "put_object")


def test_an_image_is_stored_in_s3_by_content_and_described_offline(
    stack: Any, site: FixtureSite
) -> None:
    job_id, [image_id] = _job_with_images(
        site, "/img/red-lighthouse.png", alt="The Bell Rock lighthouse", caption="Bell Rock, 1810"
    )
    _run(job_id, [image_id])
    row = Image.objects.get(pk=image_id)
    sha256 = hashlib.sha256(RED_PNG).hexdigest()
    assert (row.outcome, row.reason) == ("stored", "")
    assert (row.sha256, row.s3_key) == (sha256, f"images/{sha256}.png")
    assert (row.format, row.content_type, row.width, row.height) == ("PNG", "image/png", 64, 48)
    assert row.bytes == len(RED_PNG)
    assert _s3_object(row.s3_key) == (RED_PNG, "image/png")
    assert row.described_by_llm is False
    assert row.description_model == "offline"
    assert row.description.startswith("The Bell Rock lighthouse. Caption: Bell Rock, 1810.")
    assert "mostly red" in row.description
    assert counters(job_id)["images_stored"] == 1
    assert status(job_id) == "COMPLETED"


def test_offline_rows_are_stored_and_described_by_one_update(stack: Any, site: FixtureSite) -> None:
    job_id, ids = _job_with_images(site, "/img/red-lighthouse.png", "/img/sea.jpg")
    with CaptureQueriesContext(connection) as queries:
        _run(job_id, ids)
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "scrapings_image"')]
    assert len(updates) == 1
    rows = Image.objects.filter(pk__in=ids)
    assert {(row.outcome, row.description_model) for row in rows} == {("stored", "offline")}
    assert all(row.description for row in rows)
    assert status(job_id) == "COMPLETED"


def test_a_row_stored_by_an_attempt_that_died_is_described_by_the_next(
    stack: Any, site: FixtureSite
) -> None:
    job_id, [image_id] = _job_with_images(site, "/img/old.bmp", alt="An old bitmap")
    key = _stored_key(site, "/img/old.bmp")
    Image.objects.filter(pk=image_id).update(outcome="stored", s3_key=key)
    _run(job_id, [image_id], attempt=1)
    row = Image.objects.get(pk=image_id)
    assert (row.outcome, row.s3_key, row.description_model) == ("stored", key, "offline")
    assert row.description.startswith("An old bitmap.")
    assert status(job_id) == "COMPLETED"


def _stored_key(site: FixtureSite, path: str) -> str:
    stored = image_store(requests.get(site.url(path), timeout=5).content)
    assert isinstance(stored, StoredImage)
    return stored.s3_key


def test_the_stored_content_type_is_the_real_format_not_the_servers_label(
    stack: Any, site: FixtureSite
) -> None:
    job_id, [image_id] = _job_with_images(site, "/img/mislabelled.jpg")
    _run(job_id, [image_id])
    row = Image.objects.get(pk=image_id)
    assert (row.format, row.content_type) == ("PNG", "image/png")
    assert row.s3_key.endswith(".png")
    assert _s3_object(row.s3_key)[1] == "image/png"


@pytest.mark.parametrize(
    ("path", "outcome", "reason"),
    [
        ("/img/bomb.png", "failed", "decompression_bomb"),
        ("/img/cut.png", "failed", "truncated"),
        ("/img/page.png", "failed", "not_an_image"),
        ("/img/gone.png", "failed", "http_4xx"),
        ("/img/vector.svg", "skipped", "unsupported_type"),
    ],
)
def test_unusable_images_are_refused_with_a_reason_and_never_stored(
    stack: Any, site: FixtureSite, s3_puts: list[str], path: str, outcome: str, reason: str
) -> None:
    job_id, [image_id] = _job_with_images(site, path)
    _run(job_id, [image_id])
    row = Image.objects.get(pk=image_id)
    assert (row.outcome, row.reason, row.s3_key, row.description) == (outcome, reason, "", "")
    assert s3_puts == []
    found = counters(job_id)
    assert found[f"images_{outcome}"] == found[f"images_{outcome}_{reason}"] == 1
    # Enrichment failures complete the job, with errors.
    assert status(job_id) == ("COMPLETED_WITH_ERRORS" if outcome == "failed" else "COMPLETED")


def test_an_oversized_image_is_skipped(stack: Any, site: FixtureSite) -> None:
    stack.IMAGE_MAX_BYTES = 1024
    job_id, [image_id] = _job_with_images(site, "/img/old.bmp")
    _run(job_id, [image_id])
    assert Image.objects.get(pk=image_id).reason == "too_large"


def test_the_same_image_on_two_pages_and_in_two_jobs_is_stored_and_described_once(
    stack: Any, site: FixtureSite, openai_server: FakeLLMServer, s3_puts: list[str]
) -> None:
    use_provider(stack, openai_server, kind="IMAGE_DESCRIBER")
    sha256 = hashlib.sha256(BLUE_JPEG).hexdigest()
    # Other tests store the same picture in the bucket, in whatever order they ran.
    s3_client().delete_object(Bucket=settings.S3_BUCKET, Key=f"images/{sha256}.jpg")
    url = site.url("/img/sea.jpg")
    rows: list[int] = []
    jobs: list[str] = []
    for _ in range(2):
        job_id = new_job(summarize=False)
        first, second = (add_page(job_id, url=site.url(f"/p{n}"), depth=n) for n in (0, 1))
        ids = [add_image(job_id, first, url=url), add_image(job_id, second, url=url)]
        open_items(job_id, images=ids)
        # One message per page, as when the two pages came in different writer batches.
        for image_id in ids:
            _run(job_id, [image_id])
        rows += ids
        jobs.append(job_id)
    assert site.requested_paths().count("/img/sea.jpg") == 2  # once per job
    assert s3_puts == [f"images/{sha256}.jpg"]
    assert len(openai_server.recorded()) == 1
    assert ImageDescription.objects.filter(sha256=sha256).count() == 1
    described = Image.objects.filter(pk__in=rows)
    assert {row.description for row in described} == {
        "A concise factual summary from the fake model."
    }
    assert all(row.described_by_llm and row.outcome == "stored" for row in described)
    # The tokens were spent once, by the first job.
    assert [counters(job).get("image_tokens_in", 0) for job in jobs] == [120, 0]
    assert [counters(job)["images_stored"] for job in jobs] == [2, 2]
    assert [status(job) for job in jobs] == ["COMPLETED", "COMPLETED"]


def test_an_object_already_under_the_key_is_kept_not_rewritten(stack: Any) -> None:
    data = image_bytes("PNG", colour=(10, 200, 90))
    key = f"images/{hashlib.sha256(data).hexdigest()}.png"
    # Different bytes under the content's key: a rewrite would replace them.
    s3_client().put_object(Bucket=settings.S3_BUCKET, Key=key, Body=b"already here")
    stored = image_store(data)
    assert isinstance(stored, StoredImage)
    assert (stored.s3_key, stored.uploaded) == (key, False)
    assert _s3_object(key)[0] == b"already here"
    s3_client().delete_object(Bucket=settings.S3_BUCKET, Key=key)
    again = image_store(data)
    assert isinstance(again, StoredImage)
    assert again.uploaded
    assert _s3_object(key) == (data, "image/png")


def test_a_logo_on_every_page_is_fetched_once_and_read_back_from_s3_at_most_once_offline(
    stack: Any, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _s3_keys_of(monkeypatch, "get_object")
    job_id = new_job(summarize=False)
    url = site.url("/img/red-lighthouse.png")
    pages = [add_page(job_id, url=site.url(f"/p{n}"), depth=1) for n in range(20)]
    ids = [add_image(job_id, page, url=url, alt=f"logo {n}") for n, page in enumerate(pages)]
    open_items(job_id, images=ids)
    for start in range(0, 20, 4):  # five messages, as five writer batches make them
        _run(job_id, ids[start : start + 4])
    assert site.requested_paths().count("/img/red-lighthouse.png") == 1
    assert reads == []  # the offline describer needs only the facts, kept per process
    rows = {row.pk: row for row in Image.objects.filter(pk__in=ids)}
    assert [rows[i].description.split(".")[0] for i in ids] == [f"logo {n}" for n in range(20)]
    assert all("mostly red" in row.description for row in rows.values())
    assert counters(job_id)["images_stored"] == 20
    assert status(job_id) == "COMPLETED"


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
@pytest.mark.parametrize(
    ("path", "mime"),
    [("/img/sea.jpg", "image/jpeg"), ("/img/red-lighthouse.png", "image/png"),
     ("/img/mislabelled.jpg", "image/png"), ("/img/old.bmp", "image/jpeg")],
)  # fmt: skip
def test_the_image_goes_as_an_image_part_with_its_real_mime_type(
    stack: Any, site: FixtureSite, protocol: str, path: str, mime: str
) -> None:
    with FakeLLMServer(protocol) as server:
        use_provider(stack, server, kind="IMAGE_DESCRIBER")
        job_id, [image_id] = _job_with_images(site, path, alt="ignored by the bytes-only prompt")
        _run(job_id, [image_id])
        [sent] = server.sent_images()
        [request] = server.recorded()
    assert sent.mime == mime
    with PillowImage.open(io.BytesIO(sent.data)) as decoded:
        assert PillowImage.MIME[str(decoded.format)] == mime
    if path != "/img/old.bmp":  # BMP is re-encoded; the others go as downloaded
        assert hashlib.sha256(sent.data).hexdigest() == Image.objects.get(pk=image_id).sha256
    assert "ignored by the bytes-only prompt" not in str(request.body)
    row = Image.objects.get(pk=image_id)
    assert row.description_model == f"{protocol}/fake-vision-model"
    assert (row.input_tokens, row.output_tokens) == (120, 30)


def test_a_description_with_page_context_belongs_to_its_row_only(
    stack: Any, site: FixtureSite, openai_server: FakeLLMServer
) -> None:
    use_provider(stack, openai_server, kind="IMAGE_DESCRIBER")
    stack.IMAGE_DESCRIBER_USE_PAGE_CONTEXT = True
    job_id, [image_id] = _job_with_images(site, "/img/sea.jpg", alt="Waves at Bell Rock")
    _run(job_id, [image_id])
    assert "Waves at Bell Rock" in str(openai_server.recorded()[0].body)
    assert Image.objects.get(pk=image_id).described_by_llm
    assert not ImageDescription.objects.filter(sha256=hashlib.sha256(BLUE_JPEG).hexdigest())


def test_a_rate_limited_description_is_retried_and_succeeds(
    stack: Any, site: FixtureSite, anthropic_server: FakeLLMServer
) -> None:
    use_provider(stack, anthropic_server, kind="IMAGE_DESCRIBER")
    anthropic_server.script(Reply(status=429))
    job_id, [image_id] = _job_with_images(site, "/img/sea.jpg")
    first = _run(job_id, [image_id])
    assert [(f.ids, f.attempt) for f in first.follow_ups] == [([image_id], 1)]
    row = Image.objects.get(pk=image_id)
    assert (row.outcome, row.description) == ("stored", "")  # bytes kept in S3 meanwhile
    assert job_state.is_open(job_id, job_state.image_item(image_id))
    _run(job_id, [image_id], attempt=1)
    assert Image.objects.get(pk=image_id).description
    assert site.requested_paths().count("/img/sea.jpg") == 1  # the retry read S3
    assert len(anthropic_server.recorded()) == 2
    assert status(job_id) == "COMPLETED"


def test_a_describer_that_is_down_leaves_the_image_stored_with_a_reason(
    stack: Any, site: FixtureSite
) -> None:
    use_provider(stack, None, kind="IMAGE_DESCRIBER", base_url=down_base_url())
    stack.ENRICHMENT_MAX_ATTEMPTS = 2
    job_id, [image_id] = _job_with_images(site, "/img/sea.jpg")
    assert _run(job_id, [image_id]).follow_ups
    assert _run(job_id, [image_id], attempt=1).follow_ups == []
    row = Image.objects.get(pk=image_id)
    assert (row.outcome, row.reason, row.description) == ("stored", "describe_connection", "")
    found = counters(job_id)
    assert found["image_descriptions_failed"] == found["image_descriptions_failed_connection"] == 1
    assert found["images_stored"] == 1
    assert status(job_id) == "COMPLETED"


def test_a_flaky_image_server_is_retried(stack: Any) -> None:
    replies = iter([Route(status=503, body=b"busy"), _image(RED_PNG)])
    with FixtureSite({"/img/flaky.png": Route(dynamic=lambda _: next(replies))}) as flaky:
        job_id, [image_id] = _job_with_images(flaky, "/img/flaky.png")
        assert _run(job_id, [image_id]).follow_ups[0].attempt == 1
        assert Image.objects.get(pk=image_id).outcome == ""
        _run(job_id, [image_id], attempt=1)
    assert Image.objects.get(pk=image_id).outcome == "stored"


def test_image_tokens_are_totalled_and_the_budget_stops_descriptions(
    stack: Any, site: FixtureSite, openai_server: FakeLLMServer
) -> None:
    use_provider(stack, openai_server, kind="IMAGE_DESCRIBER")
    stack.ENRICHMENT_THREADS = 1
    job_id = new_job(token_budget=200, summarize=False)
    page_id = add_page(job_id, url=site.url("/"))
    ids = [
        add_image(job_id, page_id, url=site.url(path))
        for path in ("/img/sea.jpg", "/img/red-lighthouse.png", "/img/old.bmp")
    ]
    open_items(job_id, images=ids)
    _run(job_id, ids)
    rows = list(Image.objects.filter(pk__in=ids).order_by("pk"))
    assert [row.outcome for row in rows] == ["stored"] * 3
    assert [bool(row.description) for row in rows] == [True, True, False]
    assert rows[2].reason == "token_budget_exhausted"
    found = counters(job_id)
    assert (found["image_tokens_in"], found["image_tokens_out"]) == (240, 60)
    assert found["enrichment_token_budget_exhausted"] == 1
    assert status(job_id) == "COMPLETED"


def test_a_url_another_worker_is_downloading_is_deferred_not_fetched_twice(
    stack: Any, site: FixtureSite
) -> None:
    job_id, [image_id] = _job_with_images(site, "/img/sea.jpg")
    lease = _url_lease(job_id, site.url("/img/sea.jpg"))
    assert lease_acquire(lease, "another-delivery")
    report = _run(job_id, [image_id])
    assert [(f.ids, f.attempt, f.delay_seconds) for f in report.follow_ups] == [([image_id], 0, 1)]
    assert "/img/sea.jpg" not in site.requested_paths()
    lease_release(lease, "another-delivery")
    _run(job_id, [image_id])
    assert Image.objects.get(pk=image_id).outcome == "stored"


def test_an_image_whose_host_stays_busy_is_deferred_without_spending_an_attempt(
    stack: Any, site: FixtureSite, redis_clean: Any, settings: Any
) -> None:
    """A killed worker's request slots stay taken until their lease expires: the image
    waits for them, it does not fail as host_busy (found by the crash loop)."""
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 2  # the task's deadline: 1.4 s from now
    settings.ENRICHMENT_MAX_ATTEMPTS = 1  # a retry that spent an attempt would fail it
    job_id, [image_id] = _job_with_images(site, "/img/sea.jpg")
    slots = f"host:{{{site.origin.split('//')[1]}}}:slots"
    limit = settings.CRAWL_HOST_CONCURRENCY
    redis_clean.zadd(slots, {f"dead-worker-{n}": 4_000_000_000 for n in range(limit)})
    report = _run(job_id, [image_id])
    assert [(f.ids, f.attempt) for f in report.follow_ups] == [([image_id], 0)]
    assert Image.objects.get(pk=image_id).outcome == ""
    assert "/img/sea.jpg" not in site.requested_paths()
    redis_clean.delete(slots)
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 8
    _run(job_id, [image_id])
    assert Image.objects.get(pk=image_id).outcome == "stored"
