"""The page-summarizer service against PostgreSQL, Redis, DynamoDB and fake LLM servers
driven through the real client libraries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from isidorus import job_state
from isidorus.enrichment.summaries import summarize_pages
from isidorus.scrapings.models import Page
from tests.enrichment.conftest import use_provider
from tests.enrichment.helpers import ARTICLE, add_page, counters, new_job, open_items, status
from tests.support.llm_servers import FakeLLMServer, Reply, down_base_url

pytestmark = pytest.mark.django_db(transaction=True)


def _run(job_id: str, pages: list[int], attempt: int = 0) -> Any:
    return summarize_pages(
        job_id=job_id, page_ids=pages, attempt=attempt, delivery_token=uuid.uuid4().hex
    )


def _job_with_pages(count: int = 1, **job: Any) -> tuple[str, list[int]]:
    job_id = new_job(**{"describe_images": False, **job})
    pages = [
        add_page(job_id, url=f"http://127.0.0.1:9/{n}", title="Bell Rock lighthouse", depth=n)
        for n in range(count)
    ]
    open_items(job_id, pages=pages)
    return job_id, pages


def test_the_offline_summary_is_written_counted_and_completes_the_job(stack: Any) -> None:
    job_id, [page_id] = _job_with_pages()
    report = _run(job_id, [page_id])
    page = Page.objects.get(pk=page_id)
    assert "lighthouse" in page.summary.lower()
    assert "gift shop" not in page.summary
    assert page.summary_model == "offline/extractive"
    assert page.summary_prompt_version == "extractive-2"
    assert report.remaining_open == 0
    assert status(job_id) == "COMPLETED"
    assert counters(job_id)["summaries"] == 1
    # Searchable by its summary: the generated tsvector includes it.
    assert Page.objects.filter(pk=page_id, search_vector="keepers").exists()


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_an_llm_summary_records_model_prompt_version_and_tokens(stack: Any, protocol: str) -> None:
    reply = Reply(text="Bell Rock is an old lighthouse.", input_tokens=200, output_tokens=20)
    with FakeLLMServer(protocol, default=reply) as server:
        use_provider(stack, server, kind="SUMMARY")
        job_id, pages = _job_with_pages(2)
        _run(job_id, pages)
        requests = server.recorded()
    assert len(requests) == 2
    body = requests[0].body
    system = body["system"] if protocol == "anthropic" else body["messages"][0]["content"]
    assert "same language as the page" in system
    user = str(body["messages"][-1]["content"])
    assert "Robert Stevenson built the lighthouse" in user  # text read from PostgreSQL
    for page in Page.objects.filter(pk__in=pages):
        assert page.summary == "Bell Rock is an old lighthouse."
        assert page.summary_model == f"{protocol}/fake-summary-model"
        assert page.summary_prompt_version == "summary-1"
        assert (page.summary_input_tokens, page.summary_output_tokens) == (200, 20)
    found = counters(job_id)
    assert (found["summary_tokens_in"], found["summary_tokens_out"]) == (400, 40)
    assert found["summaries"] == 2
    assert status(job_id) == "COMPLETED"


def test_the_page_text_sent_is_bounded_by_the_input_token_budget(
    stack: Any, openai_server: FakeLLMServer
) -> None:
    use_provider(stack, openai_server, kind="SUMMARY")
    stack.SUMMARY_MAX_INPUT_TOKENS = 100
    job_id = new_job(describe_images=False)
    page_id = add_page(job_id, url="http://127.0.0.1:9/long", text=ARTICLE * 50)
    open_items(job_id, pages=[page_id])
    _run(job_id, [page_id])
    prompt = openai_server.recorded()[0].body["messages"][1]["content"]
    assert len(prompt) <= 100 * 4 + 8  # chars / 4 ~ tokens, plus the closing delimiter
    assert prompt.startswith("Title: Page\n")


def test_a_429_is_retried_later_and_then_succeeds(stack: Any, openai_server: FakeLLMServer) -> None:
    use_provider(stack, openai_server, kind="SUMMARY")
    openai_server.script(Reply(status=429, headers={"Retry-After": "3"}))
    job_id, [page_id] = _job_with_pages()
    first = _run(job_id, [page_id])
    assert [(f.ids, f.attempt) for f in first.follow_ups] == [([page_id], 1)]
    assert first.follow_ups[0].delay_seconds >= 3  # Retry-After is honoured
    assert job_state.is_open(job_id, job_state.summary_item(page_id))
    assert Page.objects.get(pk=page_id).summary == ""
    second = _run(job_id, [page_id], attempt=1)
    assert second.follow_ups == []
    assert Page.objects.get(pk=page_id).summary.startswith("A concise factual summary")
    assert len(openai_server.recorded()) == 2
    assert status(job_id) == "COMPLETED"


def test_a_provider_that_is_down_is_recorded_as_failed_and_the_job_completes(stack: Any) -> None:
    use_provider(stack, None, kind="SUMMARY", base_url=down_base_url())
    stack.ENRICHMENT_MAX_ATTEMPTS = 3
    job_id, [page_id] = _job_with_pages()
    for attempt in range(2):
        assert _run(job_id, [page_id], attempt=attempt).follow_ups[0].attempt == attempt + 1
    last = _run(job_id, [page_id], attempt=2)
    assert last.follow_ups == []
    page = Page.objects.get(pk=page_id)
    assert (page.summary, page.summary_error) == ("", "connection")
    found = counters(job_id)
    assert found["summaries_failed"] == found["summaries_failed_connection"] == 1
    assert "summaries" not in found
    # Enrichment failures complete the job, with errors.
    assert status(job_id) == "COMPLETED_WITH_ERRORS"


def test_a_non_retryable_error_is_recorded_at_once(
    stack: Any, openai_server: FakeLLMServer
) -> None:
    use_provider(stack, openai_server, kind="SUMMARY")
    openai_server.script(Reply(status=401))
    job_id, [page_id] = _job_with_pages()
    assert _run(job_id, [page_id]).follow_ups == []
    assert Page.objects.get(pk=page_id).summary_error == "http_4xx"


def test_the_token_budget_stops_enrichment_with_a_reason(
    stack: Any, openai_server: FakeLLMServer
) -> None:
    use_provider(stack, openai_server, kind="SUMMARY")
    job_id, pages = _job_with_pages(3, token_budget=100)
    _run(job_id, pages)
    assert len(openai_server.recorded()) == 1
    rows = list(Page.objects.filter(pk__in=pages).values_list("summary", "summary_error"))
    assert sum(1 for summary, _ in rows if summary) == 1
    assert sorted(error for _, error in rows if error) == ["token_budget_exhausted"] * 2
    found = counters(job_id)
    assert found["enrichment_token_budget_exhausted"] == 2
    assert (found["summary_tokens_in"], found["summary_tokens_out"]) == (120, 30)
    # Enrichment failures complete the job, with errors.
    assert status(job_id) == "COMPLETED_WITH_ERRORS"


def test_redelivery_neither_calls_the_llm_again_nor_counts_twice(
    stack: Any, openai_server: FakeLLMServer
) -> None:
    use_provider(stack, openai_server, kind="SUMMARY")
    job_id, [page_id, _still_open] = _job_with_pages(2)  # keeps the job running
    _run(job_id, [page_id])
    assert _run(job_id, [page_id]).dropped == 1  # the item is closed: a duplicate
    # The writer re-opened the item after a crash: the row is done, so it only closes.
    open_items(job_id, pages=[page_id])
    report = _run(job_id, [page_id])
    assert report.finished == [page_id]
    assert not job_state.is_open(job_id, job_state.summary_item(page_id))
    assert len(openai_server.recorded()) == 1
    found = counters(job_id)
    assert (found["summaries"], found["summary_tokens_in"]) == (1, 120)


def test_work_for_a_stopped_job_is_dropped(stack: Any, openai_server: FakeLLMServer) -> None:
    use_provider(stack, openai_server, kind="SUMMARY")
    job_id, [page_id] = _job_with_pages()
    job_state.set_flag(job_id, job_state.Flag.STOPPED)
    assert _run(job_id, [page_id]).dropped == 1
    assert openai_server.recorded() == []
    assert Page.objects.get(pk=page_id).summary == ""


def test_ollama_summaries_go_through_its_openai_compatible_endpoint(stack: Any) -> None:
    reply = Reply(text="Bell Rock is a lighthouse at sea.", input_tokens=150, output_tokens=12)
    with FakeLLMServer("openai", default=reply) as server:
        stack.SUMMARY_PROVIDER = "ollama"
        stack.OLLAMA_BASE_URL = server.base_url
        stack.OLLAMA_SUMMARY_MODEL = "llama-test"
        stack.OLLAMA_TIMEOUT_SECONDS = 3.0
        job_id, [page_id] = _job_with_pages()
        _run(job_id, [page_id])
        requests = server.recorded()
    assert len(requests) == 1
    assert requests[0].path.endswith("/chat/completions")
    assert requests[0].body["model"] == "llama-test"
    page = Page.objects.get(pk=page_id)
    assert page.summary == "Bell Rock is a lighthouse at sea."
    assert page.summary_model == "ollama/llama-test"
    assert (page.summary_input_tokens, page.summary_output_tokens) == (150, 12)
