"""A stored image's bytes through the API (the bucket stays private): the owner reads
them, another owner and an image not stored get 404, and the answer runs nothing if
opened directly. Real LocalStack S3."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from PIL import Image as PillowImage
from rest_framework.test import APIClient

from isidorus.integrations.aws import s3_client
from isidorus.scrapings.models import Image, Page, Scraping


def _png() -> bytes:
    out = io.BytesIO()
    PillowImage.new("RGB", (4, 3), "red").save(out, format="PNG")
    return out.getvalue()


def test_the_owner_reads_a_stored_image_and_nobody_else_does(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    make_user: Callable[..., Any],
    client_for: Callable[[str], APIClient],
    aws_resources: Any,
) -> None:
    from isidorus.accounts.services import api_key_create

    job = make_job()
    page = make_page(job, "http://example.com/")
    key = f"images/test-{uuid.uuid4().hex}.png"
    s3_client().put_object(Bucket=settings.S3_BUCKET, Key=key, Body=_png())
    Image.objects.create(
        scraping=job, page=page, url="http://example.com/a.png", s3_key=key, format="PNG"
    )
    unstored = Image.objects.create(scraping=job, page=page, url="http://example.com/b.png")
    gone = Image.objects.create(
        scraping=job, page=page, url="http://example.com/c.png", s3_key="images/none.png"
    )

    listed = api.get(f"/api/v1/scrapings/{job.pk}/images/").json()["results"]
    content_url = listed[0]["content_url"]
    response = api.get(content_url)
    assert response.status_code == 200
    assert response.content == _png()
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"].startswith("private")

    for image in (unstored, gone):
        path = f"/api/v1/scrapings/{job.pk}/images/{image.pk}/content/"
        assert api.get(path).json()["error"]["code"] == "not_found"
    _, bob_key = api_key_create(owner=make_user("bob"), name="bob")
    assert client_for(bob_key).get(content_url).status_code == 404
    assert APIClient().get(content_url).status_code in (401, 403)
