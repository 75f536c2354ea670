from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.enrichment.helpers import image_bytes
from tests.support.batches import PAGES, drain_enrichment_queues
from tests.support.site import FixtureSite, Route, html


@pytest.fixture
def images_site() -> Iterator[FixtureSite]:
    routes = {
        f"/img/{i}.png": Route(body=image_bytes(), content_type="image/png") for i in range(PAGES)
    }
    routes["/"] = Route(body=html("Home", "<p>home</p>"))
    with FixtureSite(routes) as site:
        yield site


@pytest.fixture
def enriched(aws_resources: Any, redis_clean: Any, settings: Any) -> Any:
    settings.ISIDORUS_ENRICHMENT_ENABLED = True
    settings.SUMMARY_PROVIDER = "none"
    settings.IMAGE_DESCRIBER_PROVIDER = "none"
    drain_enrichment_queues()
    yield settings
    drain_enrichment_queues()
