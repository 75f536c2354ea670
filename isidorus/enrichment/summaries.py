"""The page-summarizer stage: summarise pages by id, write the summary, close the item.

1. Claim the message's open items (a duplicate delivery of a claimed item is dropped) and
   load the pages from PostgreSQL: the page text never travels in a message.
2. A page that already has a summary or a recorded error is done: only its counters (once)
   and its item remain.
3. Summarise: offline (extractive) in this thread; with an LLM, calls run in a small pool,
   each reserving its estimate from the job's token budget first.
4. Write each result with a conditional update (a concurrent duplicate cannot overwrite
   it), add the page's counters once (`sum-<page id>`), then close the items.
Retryable provider failures (429, 5xx, timeouts) come back as follow-ups: a new message
with a delay, so no task sleeps; after ENRICHMENT_MAX_ATTEMPTS the reason is recorded.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings

from isidorus import job_state
from isidorus.enrichment import extractive, prompts
from isidorus.enrichment.common import (
    MIN_CALL_SECONDS,
    Deferred,
    EnrichmentReport,
    Retry,
    claim_work,
    close_finished,
    follow_ups_for,
    release_follow_up_claims,
    remaining,
    retry_or_fail,
    task_deadline,
    update_rows,
)
from isidorus.enrichment.providers import (
    LanguageModel,
    ProviderError,
    provider_timeout,
    summary_model,
)
from isidorus.integrations.cpu_steps import cpu_step
from isidorus.job_state.budget import EXHAUSTED, budget_reserve, budget_settle
from isidorus.scrapings.models import Page
from isidorus.scrapings.services.enrichment_counts import SUMMARY, count_finished

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summary:
    text: str
    model: str
    prompt_version: str
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Failure:
    reason: str
    model: str


SummaryResult = Summary | Failure | Retry | Deferred


@dataclass(frozen=True)
class _PageInput:
    id: int
    url: str
    title: str
    text: str


def _is_done(page: Page) -> bool:
    return bool(page.summary or page.summary_error)


def summarize_offline(page: _PageInput) -> SummaryResult:
    """The extractive summary of the text an LLM would be sent (SUMMARY_MAX_INPUT_TOKENS):
    both summarisers read the same start of the page, and a page's cost is bounded (4 ms
    for a 28 KB page's whole text, about 1.5 for its first 12,000 characters)."""
    text = extractive.extractive_summary(
        prompts.bounded_text(page.text, settings.SUMMARY_MAX_INPUT_TOKENS),
        title=page.title,
        sentences=settings.SUMMARY_SENTENCES,
    )
    if not text:
        return Failure("no_text", extractive.MODEL_NAME)
    return Summary(text, extractive.MODEL_NAME, extractive.PROMPT_VERSION)


def summarize_with_llm(
    model: LanguageModel,
    page: _PageInput,
    *,
    job_id: str,
    token_budget: int | None,
    attempt: int,
    deadline: float,
) -> SummaryResult:
    name = f"{model.provider}/{model.model}"
    left = remaining(deadline)
    if left < MIN_CALL_SECONDS:
        return Deferred("deadline")
    prompt = prompts.summary_prompt(
        title=page.title,
        url=page.url,
        text=page.text,
        max_input_tokens=settings.SUMMARY_MAX_INPUT_TOKENS,
    )
    max_tokens = settings.SUMMARY_MAX_OUTPUT_TOKENS
    estimate = prompts.estimate_tokens(prompts.SUMMARY_SYSTEM + prompt) + max_tokens
    if not budget_reserve(job_id, token_budget, estimate):
        return Failure(EXHAUSTED, name)
    try:
        completion = model.complete(
            system=prompts.SUMMARY_SYSTEM,
            prompt=prompt,
            max_tokens=max_tokens,
            timeout=min(provider_timeout(model), left),
        )
    except ProviderError as error:
        budget_settle(job_id, token_budget, estimate, 0)
        logger.info("summary of page %s failed: %s (attempt %d)", page.id, error.reason, attempt)
        retry = retry_or_fail(attempt, error.reason, error.retry_after) if error.retryable else None
        return retry or Failure(error.reason, name)
    used = completion.input_tokens + completion.output_tokens
    budget_settle(job_id, token_budget, estimate, used)
    return Summary(
        completion.text,
        name,
        prompts.SUMMARY_PROMPT_VERSION,
        completion.input_tokens,
        completion.output_tokens,
    )


def _write(results: dict[int, Summary | Failure]) -> None:
    """Write the summaries (one UPDATE per model and prompt version) and failures (one per
    reason), each only where the page has neither yet: a concurrent duplicate cannot
    overwrite it."""
    summaries: defaultdict[tuple[str, str], dict[int, Summary]] = defaultdict(dict)
    failures: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for page_id, result in results.items():
        if isinstance(result, Summary):
            summaries[(result.model, result.prompt_version)][page_id] = result
        else:
            failures[(result.reason[:64], result.model[:200])].append(page_id)
    for (model, version), written in summaries.items():
        update_rows(
            Page,
            {
                "summary": {i: summary.text for i, summary in written.items()},
                "summary_input_tokens": {i: s.input_tokens for i, s in written.items()},
                "summary_output_tokens": {i: s.output_tokens for i, s in written.items()},
            },
            same={"summary_model": model[:200], "summary_prompt_version": version},
            unless_changed={"summary": "", "summary_error": ""},
        )
    for (reason, model), ids in failures.items():
        Page.objects.filter(pk__in=ids, summary="", summary_error="").update(
            summary_error=reason, summary_model=model
        )


def add_counters(job_id: str, page_ids: list[int]) -> None:
    count_finished(job_id, SUMMARY, page_ids)


def summarize_pages(
    *, job_id: str, page_ids: list[int], attempt: int = 0, delivery_token: str
) -> EnrichmentReport:
    report = EnrichmentReport()
    work = claim_work(
        job_id=job_id, ids=page_ids, item_of=job_state.summary_item,
        delivery_token=delivery_token, report=report,
    )  # fmt: skip
    if work is None:
        return report
    job, ids = work
    deadline = task_deadline()
    with cpu_step("summaries: read pages"):
        pages = {
            page.pk: page
            for page in Page.objects.filter(pk__in=ids, scraping_id=job_id).only(
                "pk", "url", "title", "text", "summary", "summary_error"
            )
        }
    # A page deleted meanwhile has nothing left to do: its item just closes.
    finished = [page_id for page_id in ids if page_id not in pages or _is_done(pages[page_id])]
    todo = [
        _PageInput(page.pk, page.url, page.title, page.text)
        for page_id, page in pages.items()
        if page_id not in finished
    ]
    with cpu_step("summaries: summarise"):
        results = _summarize(job_id, todo, token_budget=job.token_budget, attempt=attempt,
                             deadline=deadline)  # fmt: skip
    retries: dict[int, Retry] = {}
    deferred: list[int] = []
    done: dict[int, Summary | Failure] = {}
    for page_id, result in results.items():
        if isinstance(result, Retry):
            retries[page_id] = result
        elif isinstance(result, Deferred):
            deferred.append(page_id)
        else:
            done[page_id] = result
    with cpu_step("summaries: write"):
        _write(done)
    finished += list(done)
    report.follow_ups = follow_ups_for(attempt, retries, deferred)
    release_follow_up_claims(job_id, [job_state.summary_item(i) for i in [*retries, *deferred]])
    with cpu_step("summaries: counters (DynamoDB)"):
        add_counters(job_id, [page_id for page_id in finished if page_id in pages])
    report.finished = finished
    close_finished(job_id, [job_state.summary_item(page_id) for page_id in finished], report)
    return report


def _summarize(
    job_id: str, todo: list[_PageInput], *, token_budget: int | None, attempt: int,
    deadline: float,
) -> dict[int, SummaryResult]:  # fmt: skip
    if not todo:
        return {}
    model = summary_model()
    if model is None:
        return {page.id: summarize_offline(page) for page in todo}
    llm = model  # bound for the closure

    def run(page: _PageInput) -> SummaryResult:
        return summarize_with_llm(
            llm, page, job_id=job_id, token_budget=token_budget, attempt=attempt,
            deadline=deadline,
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=min(settings.ENRICHMENT_THREADS, len(todo))) as pool:
        return dict(zip([page.id for page in todo], pool.map(run, todo), strict=True))
