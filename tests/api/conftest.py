from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from isidorus.accounts.services import api_key_create
from isidorus.scrapings.models import Page, Scraping


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    def make(username: str = "alice", **extra: Any) -> Any:
        return get_user_model().objects.create_user(username=username, **extra)

    return make


@pytest.fixture
def owner(make_user: Callable[..., Any]) -> Any:
    return make_user("alice")


@pytest.fixture
def raw_key(owner: Any, redis_clean: Any) -> str:
    _, raw = api_key_create(owner=owner, name="primary")
    return raw


@pytest.fixture
def client_for() -> Callable[[str], APIClient]:
    def make(raw: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw)
        return client

    return make


@pytest.fixture
def api(raw_key: str, client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for(raw_key)


@pytest.fixture
def make_job(owner: Any, aws_resources: Any) -> Callable[..., Scraping]:
    """Jobs of `owner`; the job table exists (reads look up each job's live item there)."""

    def make(**fields: Any) -> Scraping:
        fields.setdefault("owner", owner)
        fields.setdefault("url", "http://example.com/")
        return Scraping.objects.create(**fields)

    return make


@pytest.fixture
def make_page() -> Callable[..., Page]:
    def make(job: Scraping, url: str, **fields: Any) -> Page:
        fields.setdefault("outcome", "fetched")
        return Page.objects.create(scraping=job, url=url, url_hash=url[-40:], **fields)

    return make
