"""Deleting a job removes its S3 images, except those another job still uses."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.contrib.auth import get_user_model

from isidorus.integrations.aws import s3_client
from isidorus.scrapings.models import Image, Page, Scraping
from isidorus.scrapings.services.lifecycle import scraping_delete

pytestmark = pytest.mark.django_db(transaction=True)
SHARED = "images/" + "a" * 64 + ".png"
ONLY_FIRST = "images/" + "b" * 64 + ".png"


def _job_with_images(username: str, keys: list[str]) -> Scraping:
    owner = get_user_model().objects.create_user(username=username)
    job = Scraping.objects.create(owner=owner, url="http://example.com/")
    page = Page.objects.create(
        scraping=job, url="http://example.com/", url_hash="c" * 40, outcome="fetched"
    )
    for key in keys:
        Image.objects.create(
            scraping=job, page=page, url=f"http://example.com/{key}", s3_key=key, outcome="stored"
        )
    return job


def _exists(key: str) -> bool:
    try:
        s3_client().head_object(Bucket=settings.S3_BUCKET, Key=key)
    except ClientError:
        return False
    return True


def test_a_shared_image_stays_until_no_job_uses_it(aws_resources: Any, redis_clean: Any) -> None:
    for key in (SHARED, ONLY_FIRST):
        s3_client().put_object(
            Bucket=settings.S3_BUCKET, Key=key, Body=b"png", ContentType="image/png"
        )
    first = _job_with_images("first", [SHARED, ONLY_FIRST])
    second = _job_with_images("second", [SHARED])

    scraping_delete(job=first)
    assert (_exists(SHARED), _exists(ONLY_FIRST)) == (True, False)

    scraping_delete(job=second)
    assert _exists(SHARED) is False
