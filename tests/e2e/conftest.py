from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from isidorus.accounts.services import api_key_create
from tests.e2e.crawling import ENRICHMENT_ON, crawl_owner


@pytest.fixture
def api() -> APIClient:
    """An API client with a key of the owner that `start_crawl` crawls as."""
    _, raw = api_key_create(owner=crawl_owner(), name="e2e")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


@pytest.fixture
def enrichment_on(settings: Any, redis_clean: Any) -> dict[str, str]:
    """Enrichment on, in this process and (through the returned env) in the workers."""
    settings.ISIDORUS_ENRICHMENT_ENABLED = True
    return ENRICHMENT_ON
