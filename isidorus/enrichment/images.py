"""The image-extractor stage: download, validate and store each image, then describe it.

Per message (image row ids of one job):
1. Claim the open items; a row that already has its final outcome only needs its counters
   (once, `img-<image id>`) and its item closed.
2. Bytes, once per distinct URL of the job: from S3 when this row (a retry) or another row
   of the job with the same URL already stored them; the other row's failure is copied;
   otherwise downloaded under a per-URL lease, so two workers never fetch the same URL of
   a job at once (the one without the lease defers). Download, validation and S3 run in a
   small thread pool; the rows are written here, in this thread.
3. Describe: offline from the page's words and the image's facts (written by step 2's
   UPDATE, with the bytes' columns), or with the vision LLM.
   An LLM description of the bytes alone is cached per (sha256, provider, model) in
   ImageDescription and reused across rows and jobs; a lease per cache key makes one
   worker call the LLM while others defer. With IMAGE_DESCRIBER_USE_PAGE_CONTEXT the
   prompt carries alt text and caption, and the result belongs to that row alone.
4. Write, add counters, close: items close only after their rows committed.

Reasons on Image.reason: download and validation failures as they are (outcome failed or
skipped); description failures as `describe_<reason>` (outcome stays stored: the bytes
are in S3); `token_budget_exhausted` when the job's budget stopped the description.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, connection

from isidorus import job_state
from isidorus.enrichment import prompts
from isidorus.enrichment.common import (
    MIN_CALL_SECONDS,
    Deferred,
    EnrichmentReport,
    Retry,
    claim_work,
    close_finished,
    follow_ups_for,
    lease_acquire,
    lease_release,
    release_follow_up_claims,
    remaining,
    retry_or_fail,
    task_deadline,
    update_rows,
)
from isidorus.enrichment.image_store import (
    ImageFailure,
    StoredImage,
    image_download,
    image_load,
    image_store,
)
from isidorus.enrichment.imaging import llm_image, offline_description
from isidorus.enrichment.providers import (
    Completion,
    LanguageModel,
    ProviderError,
    provider_timeout,
    vision_model,
)
from isidorus.integrations.cpu_steps import cpu_step
from isidorus.job_state.budget import EXHAUSTED, budget_reserve, budget_settle
from isidorus.scrapings.jobs import JobConfig
from isidorus.scrapings.models import Image, ImageDescription
from isidorus.scrapings.services.enrichment_counts import IMAGE, count_finished

logger = logging.getLogger(__name__)

STORED, FAILED, SKIPPED = "stored", "failed", "skipped"
OFFLINE_MODEL = "offline"
OFFLINE_DESCRIBED: dict[str, object] = {
    "description_model": OFFLINE_MODEL,
    "described_by_llm": False,
    "input_tokens": 0,
    "output_tokens": 0,
}
# Rough vision-token cost of an image (Anthropic's published estimate: pixels / 750).
PIXELS_PER_TOKEN = 750

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class _Call:
    """One vision-LLM call: for a cache key (bytes only) or for one row (page context)."""

    rows: list[Image]
    stored: StoredImage
    prompt: str
    cache_key: str = ""  # lease key; "" when the description belongs to one row


def is_done(image: Image) -> bool:
    if image.outcome in (FAILED, SKIPPED):
        return True
    return image.outcome == STORED and bool(image.description or image.reason)


def _url_lease(job_id: str, url: str) -> str:
    return f"job:{{{job_id}}}:image-url:{hashlib.sha1(url.encode()).hexdigest()}"


def _description_lease(sha256: str, model: LanguageModel) -> str:
    return f"image-description:{sha256}:{model.provider}:{model.model}"


def _done_siblings(job_id: str, urls: list[str], *, exclude: list[int]) -> dict[str, Image]:
    """For each URL, one other row of the job that already has an outcome: the oldest that
    stored the bytes, else the oldest that failed. Each is the first matching entry of the
    partial index on (job, md5(url), id): a URL linked from thousands of pages costs the
    same as one (no sort of its rows)."""
    if not urls:
        return {}
    hashes = [hashlib.md5(url.encode()).hexdigest() for url in urls]
    sibling = (
        "SELECT id, outcome, reason, s3_key FROM scrapings_image WHERE scraping_id = %(job)s "
        "AND md5(url) = wanted.md5 AND url = wanted.url AND outcome <> '' "
        "AND id <> ALL(%(exclude)s::bigint[]) AND {outcome} ORDER BY md5(url), id LIMIT 1"
    )
    sql = (
        "SELECT wanted.url, coalesce(stored.id, failed.id), coalesce(stored.outcome, "
        "failed.outcome), coalesce(stored.reason, failed.reason), "
        "coalesce(stored.s3_key, failed.s3_key) "
        "FROM unnest(%(urls)s::text[], %(hashes)s::text[]) AS wanted(url, md5) "
        f"LEFT JOIN LATERAL ({sibling.format(outcome='outcome = %(stored)s')}) stored ON true "
        f"LEFT JOIN LATERAL ({sibling.format(outcome='outcome <> %(stored)s')}) failed "
        "ON stored.id IS NULL "
        "WHERE coalesce(stored.id, failed.id) IS NOT NULL"
    )
    params: dict[str, Any] = {
        "job": job_id, "urls": urls, "hashes": hashes, "exclude": exclude, "stored": STORED,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return {
        url: Image(pk=pk, url=url, outcome=outcome, reason=reason, s3_key=s3_key)
        for url, pk, outcome, reason, s3_key in found
    }


def _in_pool(function: Callable[[T], U], inputs: list[T]) -> list[U]:
    if not inputs:
        return []
    with ThreadPoolExecutor(max_workers=min(settings.ENRICHMENT_THREADS, len(inputs))) as pool:
        return list(pool.map(function, inputs))


class _ImageRun:
    def __init__(self, job: JobConfig, *, attempt: int, deadline: float, token: str) -> None:
        self.job = job
        self.attempt = attempt
        self.deadline = deadline
        self.token = token
        self.finished: list[int] = []
        self.failures: defaultdict[tuple[str, str], list[Image]] = defaultdict(list)
        self.describer = vision_model()  # None: offline descriptions, from the facts alone
        self.retries: dict[int, Retry] = {}
        self.deferred: list[int] = []

    # --- step 2: bytes ---------------------------------------------------------------------
    def obtain_bytes(self, todo: list[Image]) -> dict[int, StoredImage]:
        by_url: dict[str, list[Image]] = defaultdict(list)
        for row in todo:
            by_url[row.url].append(row)
        siblings = _done_siblings(self.job.id, list(by_url), exclude=[row.pk for row in todo])
        sources: list[tuple[str, str, str]] = []  # (url, "s3" | "fetch", key or url)
        leases: list[str] = []
        for url, group in by_url.items():
            own = next((row for row in group if row.outcome == STORED), None)
            sibling = siblings.get(url)
            copy = own or (sibling if sibling is not None and sibling.outcome == STORED else None)
            if copy is not None:
                sources.append((url, "s3", copy.s3_key))
            elif sibling is not None:
                self._write_failure(group, ImageFailure(sibling.outcome, sibling.reason))
            elif lease_acquire(_url_lease(self.job.id, url), self.token):
                leases.append(_url_lease(self.job.id, url))
                sources.append((url, "fetch", url))
            else:
                self.deferred += [row.pk for row in group]
        results = _in_pool(self._bytes_for, sources)
        stored: dict[int, StoredImage] = {}
        for (url, _, _), result in zip(sources, results, strict=True):
            group = by_url[url]
            if isinstance(result, StoredImage):
                stored.update({row.pk: result for row in group})
            elif isinstance(result, Deferred):
                self.deferred += [row.pk for row in group]
            elif result.retryable and (retry := retry_or_fail(self.attempt, result.reason,
                                                              result.retry_after)):  # fmt: skip
                self.retries.update({row.pk: retry for row in group})
            else:
                self._write_failure(group, result)
        self._write_stored({row.pk: row for row in todo}, stored)
        self._write_failures()
        for lease in leases:
            lease_release(lease, self.token)
        return stored

    def _bytes_for(self, source: tuple[str, str, str]) -> StoredImage | ImageFailure | Deferred:
        with cpu_step("images: bytes, in threads (download, validate, S3)"):
            return self._bytes_of(source)

    def _bytes_of(self, source: tuple[str, str, str]) -> StoredImage | ImageFailure | Deferred:
        _, kind, value = source
        if kind == "s3":
            return image_load(value, with_bytes=self.describer is not None)
        if remaining(self.deadline) < MIN_CALL_SECONDS:
            return Deferred("deadline")
        try:
            downloaded = image_download(self.job, value, self.deadline)
            if isinstance(downloaded, ImageFailure | Deferred):
                return downloaded
            return image_store(downloaded)
        # Hostile bytes may break a decoder in any way; one image must not fail the batch.
        except Exception:
            logger.exception("image %s could not be processed", value)
            return ImageFailure(FAILED, "corrupt")

    def _write_stored(self, rows: dict[int, Image], stored: dict[int, StoredImage]) -> None:
        """One UPDATE for every row whose bytes are in S3 (a row already written keeps its
        values: the condition is the same as a single row's). Offline descriptions need
        only the facts and the row, so they go in the same UPDATE: a row is written once,
        not twice (its index entries and its dead version included)."""

        def column(value: Callable[[StoredImage], object]) -> dict[int, object]:
            return {pk: value(image) for pk, image in stored.items()}

        per_row = {
            "sha256": column(lambda image: image.sha256),
            "s3_key": column(lambda image: image.s3_key),
            "content_type": column(lambda image: image.facts.mime),
            "format": column(lambda image: image.facts.format),
            "width": column(lambda image: image.facts.width),
            "height": column(lambda image: image.facts.height),
            "bytes": column(lambda image: image.size),
        }
        same: dict[str, object] = {"outcome": STORED}
        if self.describer is None:
            per_row["description"] = {
                pk: _offline_text(rows[pk], image) for pk, image in stored.items()
            }
            same |= OFFLINE_DESCRIBED
        written = update_rows(Image, per_row, same=same, unless_changed={"outcome": ""})
        if self.describer is None:
            self.finished += written

    def _write_failure(self, group: list[Image], failure: ImageFailure) -> None:
        """Note the rows' failure; written by _write_failures, one UPDATE per kind."""
        outcome = failure.outcome if failure.outcome in (FAILED, SKIPPED) else FAILED
        self.failures[(outcome, failure.reason[:64])] += group

    def _write_failures(self) -> None:
        for (outcome, reason), rows in self.failures.items():
            ids = [row.pk for row in rows]
            Image.objects.filter(pk__in=ids, outcome="").update(outcome=outcome, reason=reason)
            # Rows stored earlier whose bytes can no longer be read: the description failed.
            stored_before = [row.pk for row in rows if row.outcome == STORED]
            if stored_before:
                Image.objects.filter(
                    pk__in=stored_before, outcome=STORED, description="", reason=""
                ).update(reason=f"describe_{reason}"[:64])
            self.finished += ids
        self.failures.clear()

    # --- step 3: descriptions ----------------------------------------------------------------
    def describe(self, rows: list[Image], stored: dict[int, StoredImage]) -> None:
        model = self.describer
        if model is None:
            self._write_offline_descriptions(
                {row.pk: _offline_text(row, stored[row.pk]) for row in rows}
            )
            return
        calls = self._plan_calls(model, rows, stored)
        results = _in_pool(lambda call: self._call(model, call), calls)
        for call, result in zip(calls, results, strict=True):
            self._record_call(model, call, result)
            if call.cache_key:
                lease_release(call.cache_key, self.token)

    def _plan_calls(
        self, model: LanguageModel, rows: list[Image], stored: dict[int, StoredImage]
    ) -> list[_Call]:
        name = f"{model.provider}/{model.model}"
        if settings.IMAGE_DESCRIBER_USE_PAGE_CONTEXT:
            return [
                _Call([row], stored[row.pk], prompts.image_prompt(alt=row.alt, caption=row.caption))
                for row in rows
            ]
        by_sha: dict[str, list[Image]] = defaultdict(list)
        for row in rows:
            by_sha[stored[row.pk].sha256].append(row)
        cached = {
            entry.sha256: entry
            for entry in ImageDescription.objects.filter(
                sha256__in=list(by_sha), provider=model.provider, model=model.model
            )
        }
        calls: list[_Call] = []
        for sha256, group in by_sha.items():
            if sha256 in cached:
                for row in group:
                    self._write_description(row, cached[sha256].description, name, by_llm=True)
            elif lease_acquire(_description_lease(sha256, model), self.token):
                key = _description_lease(sha256, model)
                calls.append(_Call(group, stored[group[0].pk], prompts.IMAGE_PROMPT, key))
            else:
                self.deferred += [row.pk for row in group]
        return calls

    def _call(self, model: LanguageModel, call: _Call) -> Completion | ProviderError | Deferred:
        left = remaining(self.deadline)
        if left < MIN_CALL_SECONDS:
            return Deferred("deadline")
        data, mime = llm_image(
            call.stored.data, call.stored.facts, max_edge=settings.IMAGE_DESCRIBE_MAX_EDGE
        )
        edge = settings.IMAGE_DESCRIBE_MAX_EDGE
        facts = call.stored.facts
        pixels = min(facts.width, edge) * min(facts.height, edge)
        max_tokens = settings.IMAGE_MAX_OUTPUT_TOKENS
        estimate = (
            prompts.estimate_tokens(prompts.IMAGE_SYSTEM + call.prompt)
            + pixels // PIXELS_PER_TOKEN
            + max_tokens
        )
        if not budget_reserve(self.job.id, self.job.token_budget, estimate):
            return ProviderError(EXHAUSTED, retryable=False)
        try:
            completion = model.describe(
                system=prompts.IMAGE_SYSTEM,
                prompt=call.prompt,
                image=data,
                mime=mime,
                max_tokens=max_tokens,
                timeout=min(provider_timeout(model), left),
            )
        except ProviderError as error:
            budget_settle(self.job.id, self.job.token_budget, estimate, 0)
            return error
        used = completion.input_tokens + completion.output_tokens
        budget_settle(self.job.id, self.job.token_budget, estimate, used)
        return completion

    def _record_call(
        self, model: LanguageModel, call: _Call, result: Completion | ProviderError | Deferred
    ) -> None:
        name = f"{model.provider}/{model.model}"
        ids = [row.pk for row in call.rows]
        if isinstance(result, Deferred):
            self.deferred += ids
            return
        if isinstance(result, ProviderError):
            retry = (
                retry_or_fail(self.attempt, result.reason, result.retry_after)
                if result.retryable
                else None
            )
            if retry is not None:
                self.retries.update(dict.fromkeys(ids, retry))
                return
            reason = result.reason if result.reason == EXHAUSTED else f"describe_{result.reason}"
            logger.info("describing image(s) %s failed: %s", ids, reason)
            for row in call.rows:
                self._write_description_failure(row, reason, name)
            return
        text = result.text
        if call.cache_key:
            text = self._cache(model, call.stored.sha256, result)
        for index, row in enumerate(call.rows):
            # The tokens were spent once: they go on the first row, so job totals are true.
            tokens_in, tokens_out = (
                (result.input_tokens, result.output_tokens) if index == 0 else (0, 0)
            )
            self._write_description(
                row, text, name, by_llm=True, tokens_in=tokens_in, tokens_out=tokens_out
            )

    def _cache(self, model: LanguageModel, sha256: str, result: Completion) -> str:
        try:
            entry, _ = ImageDescription.objects.get_or_create(
                sha256=sha256,
                provider=model.provider,
                model=model.model,
                defaults={
                    "description": result.text,
                    "input_tokens": result.input_tokens,
                    "output_tokens": result.output_tokens,
                },
            )
        except IntegrityError:  # created concurrently (a lease expired mid-call): use theirs
            entry = ImageDescription.objects.get(
                sha256=sha256, provider=model.provider, model=model.model
            )
        return entry.description

    def _write_description(
        self,
        row: Image,
        text: str,
        model_name: str,
        *,
        by_llm: bool,
        tokens_in: int = 0,
        tokens_out: int = 0,
    ) -> None:
        Image.objects.filter(pk=row.pk, outcome=STORED, description="", reason="").update(
            description=text.replace("\x00", ""),
            description_model=model_name[:200],
            described_by_llm=by_llm,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
        )
        self.finished.append(row.pk)

    def _write_offline_descriptions(self, texts: dict[int, str]) -> None:
        """One UPDATE for the rows' offline descriptions, on the same condition as one."""
        if not texts:
            return
        update_rows(
            Image,
            {"description": texts},
            same=OFFLINE_DESCRIBED,
            unless_changed={"outcome": STORED, "description": "", "reason": ""},
        )
        self.finished += list(texts)

    def _write_description_failure(self, row: Image, reason: str, model_name: str) -> None:
        Image.objects.filter(pk=row.pk, outcome=STORED, description="", reason="").update(
            reason=reason[:64], description_model=model_name[:200]
        )
        self.finished.append(row.pk)


def _offline_text(row: Image, stored: StoredImage) -> str:
    return offline_description(
        stored.facts, url=row.url, alt=row.alt, title=row.title, caption=row.caption
    ).replace("\x00", "")


def add_counters(job_id: str, image_ids: list[int]) -> None:
    count_finished(job_id, IMAGE, image_ids)


def extract_images(
    *, job_id: str, image_ids: list[int], attempt: int = 0, delivery_token: str
) -> EnrichmentReport:
    report = EnrichmentReport()
    with cpu_step("images: claim items (Redis), read rows"):
        work = claim_work(
            job_id=job_id, ids=image_ids, item_of=job_state.image_item,
            delivery_token=delivery_token, report=report,
        )  # fmt: skip
        if work is None:
            return report
        job, ids = work
        rows = {row.pk: row for row in Image.objects.filter(pk__in=ids, scraping_id=job_id)}
    run = _ImageRun(job, attempt=attempt, deadline=task_deadline(), token=delivery_token)
    # A row deleted meanwhile has nothing left to do: its item just closes.
    run.finished += [i for i in ids if i not in rows or is_done(rows[i])]
    todo = [rows[i] for i in ids if i in rows and i not in run.finished]
    with cpu_step("images: bytes (download, validate, S3, rows)"):
        stored = run.obtain_bytes(todo)
    with cpu_step("images: describe"):
        described = set(run.finished)
        run.describe([row for row in todo if row.pk in stored and row.pk not in described], stored)
    report.follow_ups = follow_ups_for(attempt, run.retries, run.deferred)
    release_follow_up_claims(
        job_id, [job_state.image_item(i) for i in [*run.retries, *run.deferred]]
    )
    finished = list(dict.fromkeys(run.finished))
    with cpu_step("images: counters (DynamoDB)"):
        add_counters(job_id, [i for i in finished if i in rows])
    report.finished = finished
    with cpu_step("images: close items (Redis)"):
        close_finished(job_id, [job_state.image_item(i) for i in finished], report)
    return report
