"""Anthropic Messages API through the official client. Images go as an image block with
base64 data and their real media_type. The client's own retries are off (see openai_api)."""

from __future__ import annotations

import base64
import functools
from typing import Any

import anthropic

from isidorus.enrichment.providers.base import (
    Completion,
    ProviderError,
    connection_error,
    policy_transport,
    require_text,
    status_error,
)


@functools.cache
def _client(base_url: str | None, api_key: str, timeout: float) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(transport=policy_transport()),
    )


class AnthropicModel:
    provider = "anthropic"

    def __init__(self, *, model: str, api_key: str, base_url: str | None, timeout: float) -> None:
        self.model = model
        self._client = _client(base_url, api_key, timeout)

    def _create(self, system: str, content: Any, max_tokens: int, timeout: float) -> Completion:
        try:
            response = self._client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                system=system,
                messages=[{"role": "user", "content": content}],
                timeout=timeout,
            )
        except anthropic.APITimeoutError:
            raise ProviderError("timeout", retryable=True) from None
        except anthropic.APIConnectionError as error:
            raise connection_error(error) from None
        except anthropic.APIStatusError as error:
            raise status_error(error.status_code, error.response.headers) from None
        except anthropic.APIError:
            raise ProviderError("bad_response", retryable=False) from None
        text = " ".join(
            block.text for block in response.content if isinstance(block, anthropic.types.TextBlock)
        )
        return Completion(
            text=require_text(text),
            input_tokens=int(response.usage.input_tokens or 0),
            output_tokens=int(response.usage.output_tokens or 0),
        )

    def complete(self, *, system: str, prompt: str, max_tokens: int, timeout: float) -> Completion:
        return self._create(system, [{"type": "text", "text": prompt}], max_tokens, timeout)

    def describe(
        self, *, system: str, prompt: str, image: bytes, mime: str, max_tokens: int, timeout: float
    ) -> Completion:
        source = {"type": "base64", "media_type": mime, "data": base64.b64encode(image).decode()}
        content = [{"type": "image", "source": source}, {"type": "text", "text": prompt}]
        return self._create(system, content, max_tokens, timeout)
