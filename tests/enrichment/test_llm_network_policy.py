"""LLM endpoints go through the network policy: a private one only once it is listed in
ISIDORUS_LLM_ALLOWED_NETWORKS (issue 16). Redirects from an LLM endpoint to an internal
address are tried in tests/integration/test_ssrf_namespace.py."""

from __future__ import annotations

import pytest
from django.test import override_settings

from isidorus.enrichment.providers.anthropic_api import AnthropicModel
from isidorus.enrichment.providers.base import LanguageModel, ProviderError
from isidorus.enrichment.providers.openai_api import OpenAIChatModel
from isidorus.integrations.network_policy import address_allowed
from tests.support.llm_servers import FakeLLMServer, down_base_url


def _model(server: FakeLLMServer) -> LanguageModel:
    if server.protocol == "anthropic":
        return AnthropicModel(model="m", api_key="k", base_url=server.base_url, timeout=3.0)
    return OpenAIChatModel(
        provider="openai", model="m", api_key="k", base_url=server.base_url, timeout=3.0
    )


def _complete(server: FakeLLMServer) -> str:
    return _model(server).complete(system="s", prompt="p", max_tokens=5, timeout=3.0).text


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_a_loopback_llm_endpoint_is_refused_unless_listed(protocol: str) -> None:
    with (
        FakeLLMServer(protocol) as server,
        override_settings(ISIDORUS_ALLOWED_NETWORKS=[], ISIDORUS_LLM_ALLOWED_NETWORKS=[]),
        pytest.raises(ProviderError) as refused,
    ):
        _complete(server)
    assert (refused.value.reason, refused.value.retryable) == ("blocked_address", False)
    assert server.recorded() == []


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_a_private_llm_endpoint_configured_as_such_is_used(protocol: str) -> None:
    with (
        FakeLLMServer(protocol) as server,
        override_settings(
            ISIDORUS_ALLOWED_NETWORKS=[], ISIDORUS_LLM_ALLOWED_NETWORKS=["127.0.0.1/32"]
        ),
    ):
        assert _complete(server)
    assert len(server.recorded()) == 1


def test_the_llm_list_does_not_open_crawling() -> None:
    with override_settings(
        ISIDORUS_ALLOWED_NETWORKS=[], ISIDORUS_LLM_ALLOWED_NETWORKS=["127.0.0.1/32"]
    ):
        assert address_allowed("127.0.0.1") is False


def test_a_connection_failure_is_still_a_retryable_connection_error() -> None:
    model = OpenAIChatModel(
        provider="openai", model="m", api_key="k", base_url=down_base_url(), timeout=3.0
    )
    with (
        override_settings(ISIDORUS_LLM_ALLOWED_NETWORKS=["127.0.0.1/32"]),
        pytest.raises(ProviderError) as failed,
    ):
        model.complete(system="s", prompt="p", max_tokens=5, timeout=3.0)
    assert (failed.value.reason, failed.value.retryable) == ("connection", True)
