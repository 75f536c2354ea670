"""The configured LLM for summaries and for image descriptions (None: the offline default).

One module per provider; this one only picks, from settings, which one to build. A
provider's module (and its SDK) is imported only when that provider is configured:
importing the openai and anthropic SDKs costs every process about 1.8 s at start.
"""

from __future__ import annotations

from django.conf import settings

from isidorus.enrichment.providers.base import Completion, LanguageModel, ProviderError
from isidorus.integrations.metrics import LLM_TOKENS

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


class _Metered:
    """A model whose completions count their tokens (isidorus_llm_tokens)."""

    def __init__(self, inner: LanguageModel) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.model = inner.model

    def _counted(self, completion: Completion) -> Completion:
        for direction, tokens in (
            ("input", completion.input_tokens), ("output", completion.output_tokens),
        ):  # fmt: skip
            LLM_TOKENS.labels(self.provider, self.model, direction).inc(max(0, tokens))
        return completion

    def complete(self, *, system: str, prompt: str, max_tokens: int, timeout: float) -> Completion:
        return self._counted(
            self.inner.complete(
                system=system, prompt=prompt, max_tokens=max_tokens, timeout=timeout
            )
        )

    def describe(
        self, *, system: str, prompt: str, image: bytes, mime: str, max_tokens: int, timeout: float
    ) -> Completion:
        return self._counted(
            self.inner.describe(
                system=system, prompt=prompt, image=image, mime=mime, max_tokens=max_tokens,
                timeout=timeout,
            )
        )  # fmt: skip


def _metered(model: LanguageModel | None) -> LanguageModel | None:
    return None if model is None else _Metered(model)


def summary_model() -> LanguageModel | None:
    return _metered(_build(settings.SUMMARY_PROVIDER, model_kind="SUMMARY"))


def vision_model() -> LanguageModel | None:
    return _metered(_build(settings.IMAGE_DESCRIBER_PROVIDER, model_kind="VISION"))


def provider_timeout(model: LanguageModel) -> float:
    return float(getattr(settings, f"{model.provider.upper()}_TIMEOUT_SECONDS"))
