"""Enrichment settings: page summaries and image descriptions (offline or through an LLM).

Imported at the end of config/settings.py. Every provider's model, endpoint, timeout and
key is configurable; a provider chosen without its key stops the process at start-up.
Token counts are approximated as characters / 4 where a bound is needed before a call
(input budgets, token-budget reservations); recorded usage is what the provider reports.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_optional_str,
    env_str,
)

ENRICHMENT_PROVIDERS = ("none", "openai", "anthropic", "ollama")

SUMMARY_PROVIDER = env_choice("SUMMARY_PROVIDER", "none", ENRICHMENT_PROVIDERS)
IMAGE_DESCRIBER_PROVIDER = env_choice("IMAGE_DESCRIBER_PROVIDER", "none", ENRICHMENT_PROVIDERS)

# --- Summaries ---------------------------------------------------------------------------
# Page text sent to an LLM is cut to this many tokens (approximated as chars / 4).
SUMMARY_MAX_INPUT_TOKENS = env_int("SUMMARY_MAX_INPUT_TOKENS", 3000, minimum=100)
SUMMARY_MAX_OUTPUT_TOKENS = env_int("SUMMARY_MAX_OUTPUT_TOKENS", 300, minimum=16)
# Sentences the offline (extractive) summary keeps.
SUMMARY_SENTENCES = env_int("SUMMARY_SENTENCES", 3, minimum=1, maximum=20)

# --- Images ------------------------------------------------------------------------------
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Decompression-bomb guard: an image with more pixels is refused before it is decoded.
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 50_000_000, minimum=1024)
IMAGE_FETCH_TIMEOUT = env_float("IMAGE_FETCH_TIMEOUT", 20.0, minimum=0.5)
# Images are downscaled (long edge) before they are sent to an LLM: fewer tokens, and
# within every provider's size limits.
IMAGE_DESCRIBE_MAX_EDGE = env_int("IMAGE_DESCRIBE_MAX_EDGE", 1568, minimum=64)
IMAGE_MAX_OUTPUT_TOKENS = env_int("IMAGE_MAX_OUTPUT_TOKENS", 300, minimum=16)
# Off: the LLM sees only the bytes, and its description is cached across jobs per
# (sha256, provider, model). On: alt text and caption go into the prompt too, and the
# description belongs to that one image row (never cached, never shared).
IMAGE_DESCRIBER_USE_PAGE_CONTEXT = env_bool("IMAGE_DESCRIBER_USE_PAGE_CONTEXT", False)

# --- Retries and concurrency ---------------------------------------------------------------
# Attempts per item for retryable failures (429, 5xx, timeouts, connection errors). A
# retry is a new message with SQS DelaySeconds, so no task waits out a backoff.
ENRICHMENT_MAX_ATTEMPTS = env_int("ENRICHMENT_MAX_ATTEMPTS", 3, minimum=1, maximum=10)
ENRICHMENT_RETRY_BASE_SECONDS = env_float("ENRICHMENT_RETRY_BASE_SECONDS", 2.0, minimum=0.0)
# Provider calls (and image downloads) in flight per task.
ENRICHMENT_THREADS = env_int("ENRICHMENT_THREADS", 4, minimum=1, maximum=64)
# Rows per summary or image message. With an LLM a row is seconds of calls, so messages
# stay small and a job's rows spread over many workers; offline a row is a millisecond or
# two, and a message's fixed cost (SQS receive, send and delete, claims, counters, pacing)
# would dominate, so messages are large: a write batch's summaries go in one, and its image
# rows (8 a page on a typical site, most of them the logo and images other rows of the
# message share, each downloaded once) in a few. 64 rows an image message made a `typical`
# crawl run 276 image tasks of 2,000 pages; 256 made it 85 (CPU a page 28.8 -> 22.8 ms).
ENRICHMENT_BATCH_LLM = env_int("ENRICHMENT_BATCH_LLM", 16, minimum=1, maximum=256)
ENRICHMENT_BATCH_OFFLINE = env_int("ENRICHMENT_BATCH_OFFLINE", 256, minimum=1, maximum=1024)

# --- Providers -----------------------------------------------------------------------------
# Networks LLM endpoints may be reached on besides public addresses and
# ISIDORUS_ALLOWED_NETWORKS (SSRF guard): a private or loopback base URL (Ollama's default
# included) works only once its network is listed here.
ISIDORUS_LLM_ALLOWED_NETWORKS = env_list("ISIDORUS_LLM_ALLOWED_NETWORKS", [])
OPENAI_API_KEY = env_optional_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_optional_str("OPENAI_BASE_URL")  # unset: the official endpoint
OPENAI_SUMMARY_MODEL = env_str("OPENAI_SUMMARY_MODEL", "gpt-4o-mini")
OPENAI_VISION_MODEL = env_str("OPENAI_VISION_MODEL", "gpt-4o-mini")
OPENAI_TIMEOUT_SECONDS = env_float("OPENAI_TIMEOUT_SECONDS", 30.0, minimum=0.5)

ANTHROPIC_API_KEY = env_optional_str("ANTHROPIC_API_KEY")
ANTHROPIC_BASE_URL = env_optional_str("ANTHROPIC_BASE_URL")  # unset: the official endpoint
ANTHROPIC_SUMMARY_MODEL = env_str("ANTHROPIC_SUMMARY_MODEL", "claude-haiku-4-5")
ANTHROPIC_VISION_MODEL = env_str("ANTHROPIC_VISION_MODEL", "claude-haiku-4-5")
ANTHROPIC_TIMEOUT_SECONDS = env_float("ANTHROPIC_TIMEOUT_SECONDS", 30.0, minimum=0.5)

# Ollama through its OpenAI-compatible endpoint; it needs no key.
OLLAMA_BASE_URL = env_str("OLLAMA_BASE_URL", "http://127.0.0.1:11434/v1")
OLLAMA_SUMMARY_MODEL = env_str("OLLAMA_SUMMARY_MODEL", "llama3.2")
OLLAMA_VISION_MODEL = env_str("OLLAMA_VISION_MODEL", "llava")
OLLAMA_TIMEOUT_SECONDS = env_float("OLLAMA_TIMEOUT_SECONDS", 60.0, minimum=0.5)

_REQUIRED_KEYS = {
    "openai": ("OPENAI_API_KEY", OPENAI_API_KEY),
    "anthropic": ("ANTHROPIC_API_KEY", ANTHROPIC_API_KEY),
}
for _provider in sorted({SUMMARY_PROVIDER, IMAGE_DESCRIBER_PROVIDER}):
    _key_name, _key = _REQUIRED_KEYS.get(_provider, ("", "set"))
    if not _key:
        raise ImproperlyConfigured(f"{_key_name} must be set when a provider is {_provider!r}")
