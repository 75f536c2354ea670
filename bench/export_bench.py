"""Issue 12's export benchmark: a 100,000-page job exported through the real API server.

    .venv/bin/python bench/export_bench.py [--pages 100000] [--formats jsonl,csv,markdown]
        [--keep] [--reuse]

1. Uses its own database (isidorus_exportbench, created and migrated), Redis database 5
   and namespace isidorus-exportbench, and the Makefile's LOCAL_AWS endpoints; the script
   re-executes itself with that environment before Django is imported.
2. Writes one job of N fetched pages with COPY: each with a title, a summary, ~5 KB of
   Markdown and text, 20 terms, 20 links, and an image on every tenth page.
3. Starts gunicorn exactly as `make run` does (config/gunicorn.conf.py, one worker so its
   memory is one process's) and downloads the export in each format as fast as it comes.
   Samples the worker's RSS every 50 ms: printed are its RSS before the export, its peak
   during it and the growth, with pages/s and MB/s.

Target (issue 12): the API process's peak RSS grows by less than 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from isidorus.core.local_aws import local_aws_environment  # noqa: E402

DATABASE = "isidorus_exportbench"
BENCH_ENV = {
    **local_aws_environment(),
    "ISIDORUS_NAMESPACE": "isidorus-exportbench",
    "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{DATABASE}",
    "REDIS_URL": "redis://127.0.0.1:6379/5",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_DEBUG": "false",
    "ISIDORUS_REQUESTS_PER_MINUTE": "100000000",
    "NO_PROXY": "127.0.0.1,localhost",
}
REEXEC_MARK = "ISIDORUS_EXPORTBENCH_CHILD"
OWNER = "exportbench-owner"
WORDS_TEXT = "harbour lighthouse keeper lamp granite shoal tower channel beacon signal"
WORDS = WORDS_TEXT.split()
RSS_TARGET_MB = 100


def log(message: str) -> None:
    print(f"[exportbench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def reexec_with_env() -> None:
    if os.environ.get(REEXEC_MARK) == "1":
        return
    env = {**os.environ, **BENCH_ENV, REEXEC_MARK: "1"}
    python = REPO_ROOT / ".venv" / "bin" / "python"
    os.execve(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]], env)


def prepare() -> None:
    for command in (
        ["scripts/ensure_database.py"],
        ["manage.py", "migrate", "--no-input"],
        ["manage.py", "bootstrap_aws"],
    ):
        subprocess.run([sys.executable, *command], cwd=REPO_ROOT, check=True, capture_output=True)
    import django

    django.setup()
    from django.conf import settings

    assert settings.DATABASES["default"]["NAME"] == DATABASE, "not the bench database"


def _paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def generate(pages: int) -> str:
    """One job of `pages` pages written with COPY; returns its id."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from isidorus.scrapings.models import JobStatus, Scraping

    Scraping.objects.filter(owner__username=OWNER).delete()
    owner, _ = get_user_model().objects.get_or_create(username=OWNER)
    job = Scraping.objects.create(
        owner=owner, url="http://127.0.0.1:9/", status=JobStatus.COMPLETED
    )
    rng = random.Random(12)
    body = "\n\n".join(_paragraph(rng, 80) for _ in range(10))  # ~5 KB
    markdown = "# A page\n\n" + body
    terms = json.dumps({word: rng.randint(1, 9) for word in WORDS * 2})
    links = json.dumps(
        [[f"http://127.0.0.1:9/page/{link}.html", True, False] for link in range(20)]
    )
    columns = (
        "scraping_id, url, url_hash, final_url, status_code, content_type, title, depth, "
        "parent_url, bytes, outcome, reason, text, content_markdown, content_source, "
        "full_text, summary, summary_model, terms, links"
    )
    started = time.monotonic()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY scrapings_page ({columns}) FROM STDIN") as copy:
            for n in range(pages):
                url = f"http://127.0.0.1:9/page/{n}.html"
                copy.write_row((
                    job.pk, url, f"{n:040d}", url, 200, "text/html", f"Page {n}", n % 6,
                    "http://127.0.0.1:9/", 55_000, "fetched", "", body, markdown, "main",
                    body, body[:300], "offline/extractive", terms, links,
                ))  # fmt: skip
        cursor.execute("SELECT id FROM scrapings_page WHERE scraping_id = %s", [job.pk])
        ids = [row[0] for row in cursor.fetchall()]
        with raw.copy(
            "COPY scrapings_image (scraping_id, page_id, url, alt, title, caption, outcome, "
            "reason, sha256, s3_key, content_type, format, description, description_model, "
            "described_by_llm, input_tokens, output_tokens) FROM STDIN"
        ) as copy:
            for page_id in ids[::10]:
                copy.write_row((
                    job.pk, page_id, f"http://127.0.0.1:9/img/{page_id}.png", "A lamp", "", "",
                    "stored", "", "0" * 64, f"images/{page_id}.png", "image/png", "png",
                    "A lamp room at night.", "offline", False, 0, 0,
                ))  # fmt: skip
        cursor.execute("ANALYZE scrapings_page; ANALYZE scrapings_image")
    log(f"wrote {pages} pages, {pages * 20} links in {time.monotonic() - started:.0f}s")
    return str(job.pk)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_mb(pid)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--formats", default="jsonl,csv,markdown")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--reuse", action="store_true", help="export a kept job again")
    args = parser.parse_args()
    reexec_with_env()
    prepare()
    import requests
    from django.utils import timezone

    from isidorus.accounts.services import api_key_create
    from isidorus.scrapings.models import Page, Scraping
    from tests.support.api_server import api_server

    kept = Scraping.objects.filter(owner__username=OWNER).first()
    if args.reuse and kept and Page.objects.filter(scraping=kept).count() == args.pages:
        job_id = str(kept.pk)
        log(f"reusing job {job_id}")
    else:
        job_id = generate(args.pages)
    owner = Scraping.objects.get(pk=job_id).owner
    # Expiring: the owner may hold 10 active keys, and the bench database outlives the runs.
    _, raw_key = api_key_create(
        owner=owner, name=f"bench-{time.time()}", expires_at=timezone.now() + timedelta(hours=1)
    )
    headers = {"X-API-Key": raw_key}
    print(f"{'format':9} {'pages':>7} {'MB':>8} {'seconds':>8} {'pages/s':>8} {'MB/s':>6} "
          f"{'RSS before':>10} {'peak':>7} {'growth':>7}")  # fmt: skip
    worst_growth = 0.0
    with api_server(dict(os.environ), workers="1", threads="4") as server:
        origin = server.origin
        worker = int(subprocess.check_output(["pgrep", "-P", str(server.pid)]).split()[0])
        requests.get(f"{origin}/api/v1/scrapings/{job_id}/", headers=headers, timeout=30)
        for file_format in args.formats.split(","):
            before = rss_mb(worker)
            sampler = RssSampler(worker)
            sampler.start()
            started = time.monotonic()
            size = 0
            tail = b""
            with requests.get(
                f"{origin}/api/v1/scrapings/{job_id}/export/", params={"format": file_format},
                headers=headers, stream=True, timeout=120,
            ) as response:  # fmt: skip
                response.raise_for_status()
                for chunk in response.iter_content(1 << 20):
                    size += len(chunk)
                    tail = (tail + chunk)[-65536:]
            seconds = time.monotonic() - started
            sampler.stop.set()
            sampler.join()
            if file_format == "jsonl":
                summary = json.loads(tail.splitlines()[-1])
                assert summary["pages"] == args.pages, summary
            growth = sampler.peak - before
            worst_growth = max(worst_growth, growth)
            print(
                f"{file_format:9} {args.pages:7d} {size / 1e6:8.1f} {seconds:8.1f} "
                f"{args.pages / seconds:8.0f} {size / 1e6 / seconds:6.1f} "
                f"{before:8.0f}MB {sampler.peak:5.0f}MB {growth:5.0f}MB",
                flush=True,
            )
    verdict = "within" if worst_growth < RSS_TARGET_MB else "OVER"
    print(f"largest RSS growth {worst_growth:.0f} MB: {verdict} the {RSS_TARGET_MB} MB target")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        import psycopg

        admin = BENCH_ENV["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    return 0 if worst_growth < RSS_TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
