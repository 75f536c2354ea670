"""Issue 14's fairness benchmark: a 50-page job alone, then beside a 20,000-page job.

    .venv/bin/python bench/fairness_bench.py [--small-pages 50] [--big-pages 20000]
        [--compare]   (also run it with pacing off, CRAWL_PACING=false)

Two owners, two generated sites (bench/synthetic_site.py), one scraper worker and one
writer worker of `make bench`'s shape (bench/crawl_bench.py: the bench's own database,
Redis database and queues, enrichment off). The small job runs alone first; then the big
job starts, and once it is in full swing the small job runs again beside it. The target
(docs/fairness.md): beside the big job, the small one takes at most 3 times as long as
alone, and the big job still completes exactly (one fetched row per page of its site, the
job item's counter agreeing). --compare repeats both runs with pacing off, to show what
pacing buys; --enrichment has both jobs summarise pages and describe images with the
offline defaults (summarizer and image workers started too). Run it alone: the machine's
other load skews the times.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "bench"))

from crawl_bench import (  # noqa: E402
    BENCH_ENV,
    RUNS_DIR,
    Started,
    log,
    prepare_isidorus,
    run_checked,
    start_worker,
    wipe_bench_state,
)
from synthetic_site import SiteServer, build_site  # noqa: E402

TARGET_RATIO = 3.0


@dataclass
class Outcome:
    pacing: bool
    alone: float = 0.0
    beside: float = 0.0
    big_seconds: float = 0.0
    big_written_when_small_done: int = 0
    big_exact: bool = False
    small_exact: bool = False
    notes: str = ""

    @property
    def ratio(self) -> float:
        return self.beside / self.alone if self.alone else 0.0


def start_job(
    owner: str, server: SiteServer, pages: int, depth: int, *, enrichment: bool = False
) -> str:
    from django.contrib.auth import get_user_model

    from isidorus.scrapings.services.start import StartRequest, scraping_start

    user = get_user_model().objects.get_or_create(username=owner)[0]
    request = StartRequest(
        url=f"{server.origin}/", depth=depth, max_pages=pages,
        summarize=enrichment, describe_images=enrichment,
    )  # fmt: skip
    job, _ = scraping_start(owner=user, request=request)
    return str(job.pk)


def wait_terminal(job_id: str, timeout: float) -> dict[str, Any]:
    from isidorus.integrations.job_table import TERMINAL, job_item_get

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = job_item_get(job_id)
        if item and item.get("status") in TERMINAL:
            return item
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} not terminal after {timeout}s")


def exact(job_id: str, item: dict[str, Any], pages: int, enrichment: bool = False) -> bool:
    from isidorus.scrapings.models import Page

    # Every page of the site fetched once (the site's links to elsewhere are skipped rows).
    rows = Page.objects.filter(scraping_id=job_id)
    fetched = rows.filter(outcome="fetched").values("url_hash").distinct().count()
    # The generated sites serve real images (bench/site_images.py): every one is stored and
    # described, and every page has its summary.
    statuses = {"COMPLETED"}
    summaries = int(item.get("summaries", 0)) == pages if enrichment else True
    return (
        item["status"] in statuses
        and summaries
        and fetched == pages == rows.filter(outcome="fetched").count()
        and not rows.filter(outcome="failed").exists()
        and int(item["pages_fetched"]) == pages
    )


def run_pair(
    args: argparse.Namespace, pacing: bool, sites: dict[str, Any], run_dir: Path
) -> Outcome:
    from isidorus.scrapings.models import Page

    outcome = Outcome(pacing)
    env = {
        **os.environ, **BENCH_ENV, "CRAWL_PACING": str(pacing).lower(),
        "ISIDORUS_ENRICHMENT_ENABLED": str(args.enrichment).lower(),
    }  # fmt: skip
    os.environ["CRAWL_PACING"] = env["CRAWL_PACING"]
    started = Started()
    try:
        wipe_bench_state()
        step_dir = run_dir / ("pacing-on" if pacing else "pacing-off")
        step_dir.mkdir()
        start_worker(started, "scraper", 2, env, step_dir)
        start_worker(started, "writer", 2, env, step_dir)
        if args.enrichment:  # offline defaults: extractive summaries, offline descriptions
            start_worker(started, "page-summarizer", 1, env, step_dir)
            start_worker(started, "image-extractor", 1, env, step_dir)
        (small_site, small_server), (big_site, big_server) = sites["small"], sites["big"]
        small_depth = max(small_site.max_depth + 1, 2)
        big_depth = max(big_site.max_depth + 1, 2)

        log(f"pacing {'on' if pacing else 'off'}: the {small_site.pages}-page job alone")
        began = time.monotonic()
        job = start_job(
            "tenant-small", small_server, small_site.pages, small_depth, enrichment=args.enrichment
        )
        item = wait_terminal(job, args.timeout)
        outcome.alone = time.monotonic() - began
        alone_exact = exact(job, item, small_site.pages, args.enrichment)

        log(f"the {big_site.pages}-page job, then the small job beside it")
        big_began = time.monotonic()
        big = start_job(
            "tenant-big", big_server, big_site.pages, big_depth, enrichment=args.enrichment
        )
        while Page.objects.filter(scraping_id=big).count() < args.big_pages // 10:
            time.sleep(0.2)
        began = time.monotonic()
        job = start_job(
            "tenant-small", small_server, small_site.pages, small_depth, enrichment=args.enrichment
        )
        item = wait_terminal(job, args.timeout)
        outcome.beside = time.monotonic() - began
        outcome.big_written_when_small_done = Page.objects.filter(scraping_id=big).count()
        outcome.small_exact = alone_exact and exact(job, item, small_site.pages, args.enrichment)
        big_item = wait_terminal(big, args.timeout)
        outcome.big_seconds = time.monotonic() - big_began
        outcome.big_exact = exact(big, big_item, big_site.pages, args.enrichment)
        outcome.notes = f"big job {big}: {big_item['status']} {big_item.get('status_reason', '')}"
    finally:
        started.stop_all()
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small-pages", type=int, default=50)
    parser.add_argument("--big-pages", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--compare", action="store_true", help="also run with pacing off")
    parser.add_argument(
        "--enrichment", action="store_true",
        help="both jobs summarise pages and describe images (offline defaults)",
    )  # fmt: skip
    args = parser.parse_args()

    run_dir = RUNS_DIR / f"fairness-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    servers: list[SiteServer] = []
    outcomes: list[Outcome] = []
    try:
        run_checked([sys.executable, "-m", "scripts.launcher", "stack", "up"], dict(os.environ))
        prepare_isidorus({**os.environ, **BENCH_ENV})
        sites: dict[str, Any] = {}
        for name, pages, seed in (("small", args.small_pages, 5), ("big", args.big_pages, 4)):
            site = build_site(pages, seed)
            server = SiteServer(site, 2).start()
            servers.append(server)
            sites[name] = (site, server)
        for pacing in (True, False) if args.compare else (True,):
            outcomes.append(run_pair(args, pacing, sites, run_dir))
    finally:
        for server in servers:
            server.stop()

    print(
        f"\nenrichment {'on (offline defaults)' if args.enrichment else 'off'}; "
        f"small job {args.small_pages} pages, big job {args.big_pages} pages; 2 owners; "
        f"scraper -c 2, writer -c 2; {os.cpu_count()} cores; run files {run_dir}"
    )
    for outcome in outcomes:
        verdict = "meets" if outcome.ratio <= TARGET_RATIO else "MISSES"
        print(f"\npacing {'on' if outcome.pacing else 'off'}:")
        print(f"  small job alone:          {outcome.alone:8.2f} s")
        print(
            f"  small job beside the big: {outcome.beside:8.2f} s  ratio {outcome.ratio:.2f}x "
            f"({verdict} the <= {TARGET_RATIO:.0f}x target)"
        )
        print(
            f"  big job: {outcome.big_seconds:.1f} s, {outcome.big_written_when_small_done} "
            f"pages written when the small job was done; exact: {outcome.big_exact}"
        )
        print(f"  small job exact (both runs): {outcome.small_exact}")
        print(f"  {outcome.notes}")
    return 0 if all(o.big_exact and o.small_exact for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
