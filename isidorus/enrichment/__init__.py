"""Enrichment: page summaries and image descriptions.

Offline defaults (an extractive summary, a description from the page's words and the
image's own facts) need no network and no key. LLM providers (OpenAI, Anthropic, Ollama
through its OpenAI-compatible endpoint) sit behind `providers`, one module each. The
services (`summaries`, `images`) are what the page-summarizer and image-extractor tasks
call; they keep DESIGN's completion rules: an item closes only after its row committed.
"""
