from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.llm_servers import FakeLLMServer


@pytest.fixture
def stack(aws_resources: Any, redis_clean: Any, settings: Any) -> Any:
    """The local stack, clean Redis, and fast retries; returns pytest-django's settings."""
    settings.ISIDORUS_ENRICHMENT_ENABLED = True
    settings.ENRICHMENT_RETRY_BASE_SECONDS = 0.5
    return settings


@pytest.fixture
def openai_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer("openai") as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer("anthropic") as server:
        yield server


def use_provider(
    settings: Any, server: FakeLLMServer | None, *, kind: str, base_url: str = ""
) -> None:
    """Point SUMMARY or IMAGE_DESCRIBER at a fake server (or at base_url, e.g. one that is down)."""
    protocol = server.protocol if server is not None else "openai"
    setattr(settings, f"{kind}_PROVIDER", protocol)
    prefix = protocol.upper()
    setattr(settings, f"{prefix}_API_KEY", "test-key")
    setattr(settings, f"{prefix}_BASE_URL", base_url or (server.base_url if server else ""))
    setattr(settings, f"{prefix}_SUMMARY_MODEL", "fake-summary-model")
    setattr(settings, f"{prefix}_VISION_MODEL", "fake-vision-model")
    setattr(settings, f"{prefix}_TIMEOUT_SECONDS", 3.0)
