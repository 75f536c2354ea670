"""The configured LLM for summaries and for image descriptions (None: the offline default).

One module per provider; this one only picks, from settings, which one to build. A
provider's module (and its SDK) is imported only when that provider is configured:
importing the openai and anthropic SDKs costs every process about 1.8 s at start.
"""

from __future__ import annotations

from django.conf import settings

from isidorus.enrichment.providers.base import Completion, LanguageModel, ProviderError

__all__ = ["Completion", "LanguageModel", "ProviderError", "summary_model", "vision_model"]


def _build(provider: str, *, model_kind: str) -> LanguageModel | None:
    if provider == "openai":
        from isidorus.enrichment.providers.openai_api import OpenAIChatModel

        return OpenAIChatModel(
            provider="openai",
            model=getattr(settings, f"OPENAI_{model_kind}_MODEL"),
            api_key=settings.OPENAI_API_KEY or "",
            base_url=settings.OPENAI_BASE_URL,
            timeout=settings.OPENAI_TIMEOUT_SECONDS,
        )
    if provider == "anthropic":
        from isidorus.enrichment.providers.anthropic_api import AnthropicModel

        return AnthropicModel(
            model=getattr(settings, f"ANTHROPIC_{model_kind}_MODEL"),
            api_key=settings.ANTHROPIC_API_KEY or "",
            base_url=settings.ANTHROPIC_BASE_URL,
            timeout=settings.ANTHROPIC_TIMEOUT_SECONDS,
        )
    if provider == "ollama":
        from isidorus.enrichment.providers.ollama_api import ollama_model

        return ollama_model(
            model=getattr(settings, f"OLLAMA_{model_kind}_MODEL"),
            base_url=settings.OLLAMA_BASE_URL,
            timeout=settings.OLLAMA_TIMEOUT_SECONDS,
        )
    return None


def summary_model() -> LanguageModel | None:
    return _build(settings.SUMMARY_PROVIDER, model_kind="SUMMARY")


def vision_model() -> LanguageModel | None:
    return _build(settings.IMAGE_DESCRIBER_PROVIDER, model_kind="VISION")


def provider_timeout(model: LanguageModel) -> float:
    return float(getattr(settings, f"{model.provider.upper()}_TIMEOUT_SECONDS"))
