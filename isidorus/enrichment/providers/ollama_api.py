"""Ollama through its OpenAI-compatible endpoint (`<host>/v1`), with the OpenAI client.

Ollama needs no key, but the client requires one: any placeholder does. Its endpoint
understands `max_tokens`, not OpenAI's newer `max_completion_tokens`.
"""

from __future__ import annotations

from isidorus.enrichment.providers.openai_api import OpenAIChatModel

PLACEHOLDER_KEY = "ollama"


def ollama_model(*, model: str, base_url: str, timeout: float) -> OpenAIChatModel:
    return OpenAIChatModel(
        provider="ollama",
        model=model,
        api_key=PLACEHOLDER_KEY,
        base_url=base_url,
        timeout=timeout,
        max_tokens_param="max_tokens",
    )
