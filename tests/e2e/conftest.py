from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.crawling import ENRICHMENT_ON


@pytest.fixture
def enrichment_on(settings: Any, redis_clean: Any) -> dict[str, str]:
    """Enrichment on, in this process and (through the returned env) in the workers."""
    settings.ISIDORUS_ENRICHMENT_ENABLED = True
    return ENRICHMENT_ON
