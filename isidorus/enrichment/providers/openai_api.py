"""OpenAI Chat Completions through the official client; also any OpenAI-compatible server
(Ollama). Images go as an image_url content part whose data URL carries the real MIME type.

The client's own retries are off: retries are the enrichment services' (a delayed message,
so no task sleeps through a backoff).
"""

from __future__ import annotations

import base64
import functools
from typing import Any

import openai

from isidorus.enrichment.providers.base import (
    Completion,
    ProviderError,
    connection_error,
    policy_transport,
    require_text,
    status_error,
)


@functools.cache
def _client(base_url: str | None, api_key: str, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
        http_client=openai.DefaultHttpxClient(transport=policy_transport()),
    )


class OpenAIChatModel:
    def __init__(
        self,
        *,
        provider: str,
        model: str,
        api_key: str,
        base_url: str | None,
        timeout: float,
        max_tokens_param: str = "max_completion_tokens",
    ) -> None:
        self.provider = provider
        self.model = model
        self._client = _client(base_url, api_key, timeout)
        self._max_tokens_param = max_tokens_param

    def _create(self, messages: Any, max_tokens: int, timeout: float) -> Completion:
        limit: dict[str, Any] = {self._max_tokens_param: max_tokens}
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, timeout=timeout, **limit
            )
        except openai.APITimeoutError:
            raise ProviderError("timeout", retryable=True) from None
        except openai.APIConnectionError as error:
            raise connection_error(error) from None
        except openai.APIStatusError as error:
            raise status_error(error.status_code, error.response.headers) from None
        except openai.APIError:
            raise ProviderError("bad_response", retryable=False) from None
        choices = response.choices or []
        text = require_text(choices[0].message.content if choices else None)
        usage = response.usage
        return Completion(
            text=text,
            input_tokens=int(usage.prompt_tokens) if usage else 0,
            output_tokens=int(usage.completion_tokens) if usage else 0,
        )

    def complete(self, *, system: str, prompt: str, max_tokens: int, timeout: float) -> Completion:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        return self._create(messages, max_tokens, timeout)

    def describe(
        self, *, system: str, prompt: str, image: bytes, mime: str, max_tokens: int, timeout: float
    ) -> Completion:
        data_url = f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"
        messages = [
            {"role": "system", "content": system},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": prompt},
                    {"type": "image_url", "image_url": {"url": data_url}},
                ],
            },
        ]
        return self._create(messages, max_tokens, timeout)
