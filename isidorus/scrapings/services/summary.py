"""A finished (or running) job's summary, as the CLI prints it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Sum

from isidorus.scrapings.models import Image, LinkCount, Page, Scraping
from isidorus.scrapings.progress import JobProgress
from isidorus.scrapings.retention import job_item_of
from isidorus.scrapings.selectors import Counters, counters_from_item, live_progress, term_totals


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


@dataclass(frozen=True)
class LiveJob:
    status: str
    counters: Counters
    progress: JobProgress


def job_live(job: Scraping) -> LiveJob:
    """The job's status, counters and progress as the status endpoint reports them."""
    item = job_item_of(job)
    status = str(item.get("status", "UNKNOWN"))
    counters = counters_from_item(item)
    return LiveJob(status, counters, live_progress(str(job.pk), counters=counters, status=status))


def job_summary(job_id: str, *, top_terms: int = 10) -> dict[str, Any]:
    job = Scraping.objects.get(pk=job_id)
    item = job_item_of(job)
    pages = Page.objects.filter(scraping_id=job_id)
    by_outcome = dict(
        pages.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")
    )
    reasons: dict[str, dict[str, int]] = {"failed": {}, "skipped": {}}
    for outcome, reason, total in (
        pages.exclude(outcome="fetched").values_list("outcome", "reason").annotate(n=Count("id"))
        .values_list("outcome", "reason", "n")
    ):  # fmt: skip
        reasons[outcome][reason or "unknown"] = total
    terms = term_totals(job=job, limit=top_terms)
    elapsed = _seconds_between(item.get("created_at"), item.get("finished_at"))
    fetched = by_outcome.get("fetched", 0)
    return {
        "id": str(job.pk),
        "url": job.url,
        "status": item.get("status", job.status),
        "reason": item.get("status_reason", job.status_reason),
        "pages": {
            "fetched": fetched,
            "failed": by_outcome.get("failed", 0),
            "skipped": by_outcome.get("skipped", 0),
            "failed_by_reason": reasons["failed"],
            "skipped_by_reason": reasons["skipped"],
        },
        "top_terms": [{"term": t["term"], "count": t["total"], "pages": t["pages"]} for t in terms],
        "links": pages.aggregate(links=Sum(LinkCount()))["links"] or 0,
        "images": Image.objects.filter(scraping_id=job_id).count(),
        "summaries": pages.exclude(summary="").count(),
        "elapsed_seconds": round(elapsed, 3) if elapsed is not None else None,
        "pages_per_second": round(fetched / elapsed, 2) if elapsed else None,
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """`job_summary` as the CLI prints it."""
    pages = summary["pages"]
    reason = f" ({summary['reason']})" if summary["reason"] else ""
    lines = [
        f"job:     {summary['id']}  {summary['url']}",
        f"status:  {summary['status']}{reason}",
        f"pages:   {pages['fetched']} fetched, {pages['failed']} failed, "
        f"{pages['skipped']} skipped",
    ]
    for kind in ("failed", "skipped"):
        for name, count in sorted(pages[f"{kind}_by_reason"].items()):
            lines.append(f"         {kind} {name}: {count}")
    terms = ", ".join(f"{t['term']} ({t['count']})" for t in summary["top_terms"])
    rate = summary["pages_per_second"]
    lines += [
        f"terms:   {terms or '-'}",
        f"links:   {summary['links']}   images: {summary['images']}"
        f"   summaries: {summary['summaries']}",
        f"elapsed: {summary['elapsed_seconds']}s" + (f"   {rate} pages/s" if rate else ""),
    ]
    return lines
