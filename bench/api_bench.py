"""Issue 5's API benchmark: the results endpoints of a job with 10,000 pages.

    .venv/bin/python bench/api_bench.py [--pages 10000] [--runs 30] [--walk 50]
        [--reuse] [--keep] [--json PATH]

Target: "GET /api/v1/scrapings/{id}/pages/ at 10,000 pages answers a page of 100 in under
50 ms of server time".

1. Uses its own everything (BENCH_ENV): database isidorus_apibench (created if missing,
   migrated), Redis database 4, namespace isidorus-apibench (bootstrap_aws creates its
   DynamoDB table), the Makefile's LOCAL_AWS endpoints. The script re-executes itself
   with that environment before Django is imported.
2. Generates one owner, one API key and one job with N pages (titles, ~5 KB of text,
   mixed outcomes, depths 0-5 in crawl order, ~20 terms and ~30 links per page, a few
   images), plus a second owner's job of N pages written interleaved with the first, so
   a query must use an index, not the table order. Then VACUUM ANALYZE.
3. Times each endpoint in-process with Django's test Client (no network: the time of
   client.get is the server's time plus the test client's small overhead), after a
   warm-up: p50/p95/max over --runs runs, queries per request and their SQL time, and
   EXPLAIN (ANALYZE, BUFFERS) of the pages query at a middle cursor.
4. Measures the write cost of the generated tsvector: 2,000 pages of ~5 KB inserted
   into temp copies of scrapings_page without and with the generated column (and with
   its GIN index), and into scrapings_page itself (rolled back).

The database is dropped at the end unless --keep; --reuse skips generation when a kept
database already holds a job of --pages pages.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from isidorus.core.local_aws import local_aws_environment  # noqa: E402

VENV_PY = REPO_ROOT / ".venv" / "bin" / "python"

BENCH_DATABASE = "isidorus_apibench"
BENCH_REDIS_DB = 4
BENCH_NAMESPACE = "isidorus-apibench"
BENCH_ENV = {
    **local_aws_environment(),
    "ISIDORUS_NAMESPACE": BENCH_NAMESPACE,
    "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{BENCH_DATABASE}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_DEBUG": "false",
    "ISIDORUS_REQUESTS_PER_MINUTE": "100000000",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3")
REEXEC_MARK = "ISIDORUS_APIBENCH_CHILD"

TARGET_MS = 50.0
PAGE_SIZE = 100
OWNER = "apibench-owner"
OTHER = "apibench-other"
PAGE_COLUMNS = (
    "scraping_id", "url", "url_hash", "final_url", "status_code", "content_type", "title",
    "depth", "parent_url", "bytes", "fetched_at", "outcome", "reason", "text", "terms",
    "links",
)  # fmt: skip


def log(message: str) -> None:
    print(f"[apibench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def reexec_with_env() -> None:
    """Run again with BENCH_ENV set, so Django reads it at import time."""
    if os.environ.get(REEXEC_MARK) == "1":
        return
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(BENCH_ENV)
    env[REEXEC_MARK] = "1"
    python = str(VENV_PY) if VENV_PY.exists() else sys.executable
    os.execve(python, [python, str(Path(__file__).resolve()), *sys.argv[1:]], env)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_checked(command: list[str]) -> None:
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def prepare() -> None:
    if not all(port_open(port) for port in (5432, 6379, 4566, 4569)):
        log("stack not answering: python -m scripts.launcher stack up")
        run_checked([sys.executable, "-m", "scripts.launcher", "stack", "up"])
    log(f"database {BENCH_DATABASE}: create if missing, migrate; bootstrap_aws")
    run_checked([sys.executable, "scripts/ensure_database.py"])
    run_checked([sys.executable, "manage.py", "migrate", "--no-input"])
    run_checked([sys.executable, "manage.py", "bootstrap_aws"])
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.conf import settings

    # Everything below wipes or writes: refuse unless it is the bench's own state.
    assert settings.DATABASES["default"]["NAME"] == BENCH_DATABASE, "not the bench database"
    assert settings.REDIS_URL.endswith(f"/{BENCH_REDIS_DB}"), "not the bench Redis database"
    assert settings.ISIDORUS_NAMESPACE == BENCH_NAMESPACE, "not the bench namespace"
    assert not settings.DEBUG, "DEBUG must be off (it records every query)"


# --------------------------------------------------------------------------- data


def _words(text: str) -> list[str]:
    return text.split()


STOP_AND_COMMON = _words(
    "the of and to a in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were their one all we can her has there been if more when "
    "will would who so no data page site service search crawl results system user time "
    "report index number information api request server network content document list "
    "project build release version support guide example table query performance storage"
)
SYLLABLES = _words(
    "ka to ri mo sen dal ver lin or ex pro tra ni qua bel sto fen gar hul mi ra za po ter "
    "vin cor lu dra ne sal tor win"
)


class TextMaker:
    """Zipf-distributed words: a fixed pool of paragraphs, pages built from several."""

    def __init__(self, seed: int, vocabulary: int = 20000, paragraphs: int = 4000) -> None:
        self.rng = random.Random(seed)
        words = list(STOP_AND_COMMON)
        seen = set(words)
        while len(words) < vocabulary:
            word = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 4)))
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(words))]
        total = 0.0
        self.cum: list[float] = []
        for weight in weights:
            total += weight
            self.cum.append(total)
        self.paragraphs = [self._paragraph() for _ in range(paragraphs)]

    def draw(self, k: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum, k=k)

    def _paragraph(self) -> str:
        sentences = []
        for _ in range(self.rng.randint(5, 9)):
            words = self.draw(self.rng.randint(9, 18))
            sentences.append(" ".join(words).capitalize() + ".")
        return " ".join(sentences)

    def title(self) -> str:
        return " ".join(self.draw(self.rng.randint(4, 8))).title()

    def text(self, target: int = 5000) -> str:
        parts: list[str] = []
        size = 0
        while size < target:
            paragraph = self.rng.choice(self.paragraphs)
            parts.append(paragraph)
            size += len(paragraph) + 2
        return "\n\n".join(parts)[: target + 400]

    def terms(self, k: int) -> list[tuple[str, int]]:
        found: dict[str, int] = {}
        for word in self.draw(k * 4):
            if word in found or len(word) < 3 or word in STOP_AND_COMMON[:40]:
                continue
            found[word] = self.rng.randint(1, 40)
            if len(found) == k:
                break
        return sorted(found.items(), key=lambda item: -item[1])


DEPTH_SHARES = (0.0, 0.005, 0.04, 0.20, 0.35)  # depth 0 is one page; the rest is depth 5
FAILED_REASONS = ("timeout", "http_4xx", "http_5xx", "dns", "connection")
SKIPPED_REASONS = ("robots_disallowed", "out_of_scope", "filtered", "unsupported_type")


def depths_in_crawl_order(count: int, rng: random.Random) -> list[int]:
    depths = [0]
    for depth, share in enumerate(DEPTH_SHARES[1:], start=1):
        depths += [depth] * max(1, round(count * share))
    depths += [5] * max(0, count - len(depths))
    depths = depths[:count]
    # Batches of a crawl mix neighbours a little, but stay in breadth-first order.
    for start in range(1, count, 200):
        window = depths[start : start + 200]
        rng.shuffle(window)
        depths[start : start + 200] = window
    depths[1:] = sorted(depths[1:], key=lambda d: d + rng.random() * 0.3)
    return depths


@dataclass
class JobPlan:
    job: Any
    host: str
    maker: TextMaker
    depths: list[int]
    rng: random.Random
    started: datetime
    page_ids: list[int] = field(default_factory=list)

    def url(self, index: int) -> str:
        depth = self.depths[index]
        return f"https://{self.host}/section-{depth}/{index // 50}/page-{index}.html"

    def page_row(self, index: int) -> dict[str, Any]:
        rng = self.rng
        url = self.url(index)
        roll = rng.random()
        status: int | None = 200
        outcome, reason, text = "fetched", "", ""
        if roll < 0.06:
            outcome, reason = "failed", rng.choice(FAILED_REASONS)
            status = {"http_4xx": 404, "http_5xx": 503}.get(reason)
        elif roll < 0.15:
            outcome, reason, status = "skipped", rng.choice(SKIPPED_REASONS), None
        else:
            text = self.maker.text(rng.randint(4200, 5800))
        title = self.maker.title() if outcome == "fetched" else ""
        parent = self.url(max(0, index // 20)) if index else ""
        return {
            "url": url,
            "url_hash": hashlib.sha1(url.encode()).hexdigest(),
            "final_url": url,
            "status_code": status,
            "content_type": "text/html; charset=utf-8" if outcome == "fetched" else "",
            "title": title,
            "depth": self.depths[index],
            "parent_url": parent,
            "bytes": int(len(text) * 2.6),
            "fetched_at": self.started + timedelta(milliseconds=40 * index),
            "outcome": outcome,
            "reason": reason,
            "text": text,
            "summary": text[:280] if outcome == "fetched" and rng.random() < 0.5 else "",
        }


def wipe_bench_data() -> None:
    from django.db import connection

    from isidorus.integrations.job_table import job_item_delete
    from isidorus.scrapings.models import Scraping

    assert connection.settings_dict["NAME"] == BENCH_DATABASE
    for job_id in Scraping.objects.values_list("id", flat=True):
        job_item_delete(str(job_id))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE auth_user RESTART IDENTITY CASCADE")


def generate(pages: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.db.models import Sum

    from isidorus.integrations import job_table
    from isidorus.scrapings.models import Image, JobStatus, LinkCount, Page, Scraping
    from isidorus.scrapings.services.write import job_terms_add

    log("wiping the bench database's rows")
    wipe_bench_data()
    users = get_user_model().objects
    owner = users.create_user(OWNER)
    other = users.create_user(OTHER)
    started = datetime.now(UTC) - timedelta(hours=2)
    plans = []
    for index, (user, host) in enumerate(((owner, "docs.example.org"), (other, "shop.example"))):
        job = Scraping.objects.create(
            owner=user,
            url=f"https://{host}/",
            depth=5,
            max_pages=pages * 2,
            scope="host",
            summarize=True,
            describe_images=True,
            status=JobStatus.COMPLETED_WITH_ERRORS,
            started_at=started,
            finished_at=started + timedelta(milliseconds=40 * pages),
        )
        rng = random.Random(1000 + index)
        plans.append(
            JobPlan(
                job=job,
                host=host,
                maker=TextMaker(seed=2000 + index),
                depths=depths_in_crawl_order(pages, rng),
                rng=rng,
                started=started,
            )
        )
    log(f"generating 2 jobs x {pages} pages, interleaved (terms, links, images)")
    t0 = time.perf_counter()
    chunk = 250
    counts = {"pages": 0, "terms": 0, "links": 0, "images": 0}
    for start in range(0, pages, chunk):
        rows: list[tuple[JobPlan, int, dict[str, Any]]] = []
        for index in range(start, min(pages, start + chunk)):
            for plan in plans:  # two crawls writing at the same time
                row = plan.page_row(index)
                if row["outcome"] == "fetched":
                    row["terms"] = dict(plan.maker.terms(23))
                rows.append((plan, index, row))
        with transaction.atomic():
            objects = Page.objects.bulk_create(
                [Page(scraping=plan.job, **row) for plan, _, row in rows], batch_size=500
            )
            links = 0
            images: list[Image] = []
            linked: list[Page] = []
            for (plan, index, row), page in zip(rows, objects, strict=True):
                plan.page_ids.append(page.pk)
                if row["outcome"] != "fetched":
                    continue
                rng = plan.rng
                page.links = []
                for _ in range(35):
                    internal = rng.random() < 0.8
                    target = (
                        plan.url(rng.randrange(pages))
                        if internal
                        else f"https://ext{rng.randrange(500)}.example.net/{rng.randrange(10**6)}"
                    )
                    page.links.append([target, internal, rng.random() < 0.05])
                page.has_external_links = any(not internal for _, internal, _ in page.links)
                links += len(page.links)
                linked.append(page)
                if index % 20 == 0:
                    images += [
                        Image(
                            scraping=plan.job,
                            page=page,
                            url=f"https://{plan.host}/img/{index}-{n}.png",
                            alt=plan.maker.title(),
                            outcome="stored",
                            sha256=hashlib.sha256(f"{plan.host}{index}{n}".encode()).hexdigest(),
                            s3_key=f"images/{index}-{n}.png",
                            format="png",
                            width=640,
                            height=480,
                            bytes=48000,
                            description=plan.maker.title(),
                        )
                        for n in range(2)
                    ]
            for plan in plans:
                job_terms_add(
                    str(plan.job.pk),
                    [row["terms"] for p, _, row in rows if p is plan and "terms" in row],
                )
            Page.objects.bulk_update(linked, ["links", "has_external_links"], batch_size=500)
            Image.objects.bulk_create(images, batch_size=5000)
        counts["pages"] += len(objects)
        counts["terms"] += sum(len(row.get("terms", {})) for _, _, row in rows)
        counts["links"] += links
        counts["images"] += len(images)
        if (start // chunk) % 8 == 7 or start + chunk >= pages:
            done = min(pages, start + chunk)
            log(f"  {done}/{pages} pages per job ({time.perf_counter() - t0:.0f} s)")
    log(
        f"generated {counts['pages']} pages, {counts['terms']} terms, {counts['links']} links, "
        f"{counts['images']} images in {time.perf_counter() - t0:.1f} s"
    )
    main_job = plans[0].job
    job_table.job_item_create(
        job_id=str(main_job.pk),
        owner_id=owner.pk,
        url=main_job.url,
        depth=main_job.depth,
        created_at=started.isoformat(),
    )
    job_table.job_item_mark_running(str(main_job.pk))
    by_outcome = Page.objects.filter(scraping=main_job).values_list("outcome", flat=True)
    tally = {"pages_fetched": 0, "pages_failed": 0, "pages_skipped": 0}
    for outcome in by_outcome:
        tally[f"pages_{outcome}"] += 1
    tally["links"] = Page.objects.filter(scraping=main_job).aggregate(n=Sum(LinkCount()))["n"]
    tally["images"] = Image.objects.filter(scraping=main_job).count()
    job_table.job_item_add_counters(str(main_job.pk), tally)
    job_table.job_item_finish(str(main_job.pk), status="COMPLETED_WITH_ERRORS")
    vacuum_analyze()


def vacuum_analyze() -> None:
    from django.db import connection

    log("VACUUM ANALYZE")
    with connection.cursor() as cursor:
        for table in (
            "scrapings_scraping",
            "scrapings_page",
            "scrapings_jobterm",
            "scrapings_image",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")


def reusable(pages: int) -> bool:
    from isidorus.scrapings.models import Page, Scraping

    jobs = list(Scraping.objects.filter(owner__username__in=(OWNER, OTHER)))
    if len(jobs) != 2:
        return False
    return all(Page.objects.filter(scraping=job).count() == pages for job in jobs)


def bench_owner_and_key() -> tuple[Any, Any, str]:
    from django.contrib.auth import get_user_model

    from isidorus.accounts.models import ApiKey
    from isidorus.accounts.services import api_key_create
    from isidorus.integrations import job_table
    from isidorus.scrapings.models import Scraping

    owner = get_user_model().objects.get(username=OWNER)
    ApiKey.objects.filter(owner=owner).delete()
    _, raw = api_key_create(owner=owner, name="apibench")
    job = Scraping.objects.get(owner=owner)
    if job_table.job_item_get(str(job.pk)) is None:  # moto restarted since a kept run
        job_table.job_item_create(
            job_id=str(job.pk),
            owner_id=owner.pk,
            url=job.url,
            depth=job.depth,
            created_at=job.created_at.isoformat(),
        )
    return owner, job, raw


# --------------------------------------------------------------------------- timing


@dataclass
class Row:
    name: str
    path: str
    is_pages: bool = False
    timings_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    sql_run_ms: list[float] = field(default_factory=list)
    pg_cpu_ms: float = float("nan")  # PostgreSQL backend CPU per request (mean over the runs)
    queries: int = 0
    sql_ms: float = 0.0
    slowest_sql: str = ""
    slowest_sql_ms: float = 0.0
    response_bytes: int = 0
    results: int = 0

    def pct(self, q: float) -> float:
        ordered = sorted(self.timings_ms)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    @property
    def p50(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def p95(self) -> float:
        return self.pct(0.95)

    @property
    def max(self) -> float:
        return max(self.timings_ms)

    @property
    def min(self) -> float:
        return min(self.timings_ms)

    @property
    def cpu_p50(self) -> float:
        return statistics.median(self.cpu_ms) if self.cpu_ms else float("nan")

    @property
    def sql_p50(self) -> float:
        return statistics.median(self.sql_run_ms) if self.sql_run_ms else float("nan")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


class Bench:
    def __init__(self, raw_key: str, runs: int, warmup: int) -> None:
        from django.test import Client

        self.client = Client(headers={"X-API-Key": raw_key})
        self.runs = runs
        self.warmup = warmup

    def get(self, path: str) -> Any:
        response = self.client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.content[:300]!r}")
        return response

    def capture(self, row: Row) -> list[dict[str, Any]]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        seconds: list[float] = []

        def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                seconds.append(time.perf_counter() - t0)

        # The wrapper times each query to the microsecond (captured times are rounded to ms).
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
            response = self.get(row.path)
        queries = list(captured.captured_queries)
        row.queries = len(queries)
        row.sql_ms = sum(seconds) * 1000
        if queries and len(seconds) == len(queries):
            index = max(range(len(seconds)), key=seconds.__getitem__)
            row.slowest_sql = queries[index]["sql"]
            row.slowest_sql_ms = seconds[index] * 1000
        row.response_bytes = len(response.content)
        body = json.loads(response.content)
        row.results = len(body.get("results", [])) if isinstance(body, dict) else 0
        return queries

    def timed(self, row: Row, path: str) -> Any:
        """One request: its wall time, this thread's CPU time and its queries' time."""
        from django.db import connection

        seconds: list[float] = []

        def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                seconds.append(time.perf_counter() - t0)

        with connection.execute_wrapper(timer):
            c0 = time.thread_time()
            t0 = time.perf_counter()
            response = self.get(path)
            row.timings_ms.append((time.perf_counter() - t0) * 1000)
            row.cpu_ms.append((time.thread_time() - c0) * 1000)
        row.sql_run_ms.append(sum(seconds) * 1000)
        return response

    def measure(self, row: Row) -> Row:
        for _ in range(self.warmup):
            self.get(row.path)
        gc.collect()
        pid = backend_pid()
        c0 = process_cpu_seconds(pid)
        for _ in range(self.runs):
            self.timed(row, row.path)
        row.pg_cpu_ms = (process_cpu_seconds(pid) - c0) * 1000 / self.runs
        self.capture(row)
        return row

    def walk(self, first: str, steps: int) -> tuple[Row, str]:
        """Follow `next` `steps` times from `first`, timing each step; return the last URL."""
        row = Row(f"pages: cursor walk ({steps} steps)", first, is_pages=True)
        path = first
        for _ in range(self.warmup):
            self.get(first)
        pid = backend_pid()
        c0 = process_cpu_seconds(pid)
        for _ in range(steps):
            response = self.timed(row, path)
            next_url = json.loads(response.content)["next"]
            if next_url is None:
                break
            path = path_of(next_url)
        row.pg_cpu_ms = (process_cpu_seconds(pid) - c0) * 1000 / len(row.timings_ms)
        row.path = path
        self.capture(row)
        return row, path


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU of a local process (the PostgreSQL backend), in clock ticks' steps."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return [line for (line,) in cursor.fetchall()]


def execution_ms(plan: list[str]) -> float:
    for line in plan:
        if line.startswith("Execution Time:"):
            return float(line.split(":")[1].split()[0])
    return 0.0


def plan_key_lines(plan: list[str]) -> list[str]:
    """The first scan of scrapings_page with its Buffers line, and the execution time."""
    key: list[str] = []
    for index, line in enumerate(plan):
        if "scrapings_page" in line and "Scan" in line:
            key.append(line.strip())
            for follow in plan[index + 1 : index + 6]:
                if follow.strip().startswith(("Index Cond", "Filter", "Rows Removed", "Buffers")):
                    key.append("  " + follow.strip())
            break
    key += [line.strip() for line in plan if line.startswith(("Planning Time", "Execution Time"))]
    return key


def page_query_of(queries: list[dict[str, Any]]) -> str:
    for query in queries:
        sql = query["sql"]
        if 'FROM "scrapings_page"' in sql and "ORDER BY" in sql:
            return str(sql)
    raise RuntimeError("no pages query captured")


# --------------------------------------------------------------------------- write path


_LIKE = "LIKE scrapings_page INCLUDING DEFAULTS INCLUDING IDENTITY"
# (key, label, table, statements creating the table); temp tables are not WAL-logged.
WRITE_VARIANTS: tuple[tuple[str, str, str, list[str]], ...] = (
    (
        "A",
        "temp, no search_vector, no indexes",
        "apibench_plain",
        [
            f"CREATE TEMP TABLE apibench_plain ({_LIKE})",
            "ALTER TABLE apibench_plain DROP COLUMN search_vector",
        ],
    ),
    (
        "B",
        "temp, + generated search_vector",
        "apibench_tsv",
        [f"CREATE TEMP TABLE apibench_tsv ({_LIKE} INCLUDING GENERATED)"],
    ),
    (
        "C",
        "temp, page's btree indexes, no search_vector",
        "apibench_idx",
        [
            "CREATE TEMP TABLE apibench_idx (LIKE scrapings_page INCLUDING ALL)",
            "ALTER TABLE apibench_idx DROP COLUMN search_vector",  # drops its GIN index too
        ],
    ),
    (
        "D",
        "temp, all indexes + search_vector + GIN",
        "apibench_all",
        ["CREATE TEMP TABLE apibench_all (LIKE scrapings_page INCLUDING ALL)"],
    ),
    ("E", "scrapings_page itself (WAL, FK; rolled back)", "scrapings_page", []),
)
WRITE_RATIOS = (
    ("B/A", "the generated column alone"),
    ("D/C", "search_vector + GIN, with the page's other indexes"),
    ("E/C", "the real table vs. a copy without search_vector"),
)


def write_rows(count: int, job_id: Any) -> list[tuple[Any, ...]]:
    from psycopg.types.json import Jsonb

    maker = TextMaker(seed=77)
    rng = random.Random(78)
    now = datetime.now(UTC)
    rows = []
    for index in range(count):
        url = f"https://write.example/{index}/{rng.randrange(10**9)}"
        rows.append(
            (
                job_id, url, hashlib.sha1(url.encode()).hexdigest(), url, 200,
                "text/html", maker.title(), rng.randint(0, 5), "https://write.example/",
                13000, now, "fetched", "", maker.text(rng.randint(4500, 5500)),
                Jsonb(dict(maker.terms(23))),
                # As the writer stores them: [target, internal, nofollow] in page order.
                Jsonb([[f"https://write.example/{index}/{n}", True, False] for n in range(40)]),
            )
        )  # fmt: skip
    return rows


def create_write_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for _, _, table, statements in WRITE_VARIANTS:
            if statements:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in statements:
                cursor.execute(statement)
        cursor.execute("DROP TABLE IF EXISTS apibench_source")
        cursor.execute(
            "CREATE TEMP TABLE apibench_source AS "
            f"SELECT {', '.join(PAGE_COLUMNS)} FROM scrapings_page WITH NO DATA"
        )


def timed_insert(table: str, run: Callable[[Any, str], None]) -> tuple[float, float]:
    """Wall and backend CPU seconds of `run` on `table`, in a transaction rolled back after."""
    from django.db import connection, transaction

    pid = backend_pid()
    with transaction.atomic():
        with connection.cursor() as cursor:
            c0 = process_cpu_seconds(pid)
            t0 = time.perf_counter()
            run(cursor, table)
            elapsed = time.perf_counter() - t0
            cpu = process_cpu_seconds(pid) - c0
        transaction.set_rollback(True)
    return elapsed, cpu


def measure_write_path(count: int, reps: int) -> dict[str, dict[str, Any]]:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from isidorus.scrapings.models import Scraping

    log(f"write path: {count} pages of ~5 KB, {reps} repetitions per variant")
    # Its own empty job, so the rolled-back rows never sit among the measured job's.
    write_job = Scraping.objects.create(
        owner=get_user_model().objects.get(username=OTHER), url="https://write.example/"
    )
    rows = write_rows(count, write_job.pk)
    create_write_tables()
    columns = ", ".join(PAGE_COLUMNS)
    row_sql = "(" + ", ".join(["%s"] * len(PAGE_COLUMNS)) + ")"
    batch = 100
    with connection.cursor() as cursor:
        for start in range(0, count, batch):
            part = rows[start : start + batch]
            values = ", ".join([row_sql] * len(part))
            cursor.execute(
                f"INSERT INTO apibench_source ({columns}) VALUES {values}",
                [value for row in part for value in row],
            )
        cursor.execute("ANALYZE apibench_source")

    def from_client(cursor: Any, table: str) -> None:  # as the writer: multi-row VALUES
        for start in range(0, count, batch):
            part = rows[start : start + batch]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(part))} "
                "RETURNING id",
                [value for row in part for value in row],
            )
            cursor.fetchall()

    def from_server(cursor: Any, table: str) -> None:  # the database's work alone
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM apibench_source")

    results: dict[str, dict[str, Any]] = {}
    for mode, run in (("INSERT ... SELECT", from_server), ("multi-row VALUES", from_client)):
        samples: dict[str, list[tuple[float, float]]] = {key: [] for key, *_ in WRITE_VARIANTS}
        timed_insert(WRITE_VARIANTS[0][2], run)  # warm caches once
        for _ in range(reps):  # interleaved, so load from other processes hits all alike
            for key, _, table, _ in WRITE_VARIANTS:
                samples[key].append(timed_insert(table, run))
        results[mode] = {
            key: {
                "median_ms_per_page": statistics.median(w for w, _ in values) * 1000 / count,
                "min_ms_per_page": min(w for w, _ in values) * 1000 / count,
                "pg_cpu_ms_per_page": statistics.median(c for _, c in values) * 1000 / count,
                "raw_seconds": [round(w, 4) for w, _ in values],
                "raw_pg_cpu_seconds": [round(c, 4) for _, c in values],
            }
            for key, values in samples.items()
        }
    with connection.cursor() as cursor:
        for _, _, table, statements in WRITE_VARIANTS:
            if statements:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute("DROP TABLE IF EXISTS apibench_source")
    write_job.delete()
    vacuum_analyze()  # the rolled-back inserts left dead rows and index entries
    return results


# --------------------------------------------------------------------------- report


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'endpoint':40} {'n':>3} {'min':>7} {'p50':>7} {'p95':>7} {'max':>7} {'cpu p50':>7} "
        f"{'pg cpu':>7} {'sql p50':>7} {'queries':>7} {'results':>7} {'bytes':>7}  verdict"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        verdict = ""
        if row.is_pages:
            verdict = "PASS" if row.p95 < TARGET_MS else "FAIL"
        print(
            f"{row.name:40} {len(row.timings_ms):>3} {row.min:>7.2f} {row.p50:>7.2f} "
            f"{row.p95:>7.2f} {row.max:>7.2f} {row.cpu_p50:>7.2f} {row.pg_cpu_ms:>7.2f} "
            f"{row.sql_p50:>7.2f} "
            f"{row.queries:>7} {row.results:>7} {row.response_bytes:>7}  {verdict}"
        )


def iter_words(maker: TextMaker) -> Iterator[str]:
    for word in maker.words:
        if word not in STOP_AND_COMMON:
            yield word


def search_words() -> tuple[str, str]:
    """A frequent word (in most pages) and a rare one (in a few), from job 1's vocabulary."""
    words = list(iter_words(TextMaker(seed=2000, paragraphs=0)))
    return words[20], words[6000]


def count_matches(job: Any, word: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM scrapings_page WHERE scraping_id = %s "
            "AND search_vector @@ websearch_to_tsquery('english', %s)",
            [job.pk, word],
        )
        return int(cursor.fetchone()[0])


def _ratio(top: dict[str, float], bottom: dict[str, float], name: str) -> str:
    return f"{top[name] / bottom[name]:.2f}" if bottom[name] > 0 else "inf"


def drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    admin = BENCH_ENV["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    log(f"dropped database {BENCH_DATABASE}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10000, help="pages per job (two jobs)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per endpoint")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs first")
    parser.add_argument("--walk", type=int, default=50, help="cursor steps to the middle page")
    parser.add_argument("--write-pages", type=int, default=2000)
    parser.add_argument("--write-reps", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep existing data if it fits")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--json", type=Path, help="write every number here as JSON")
    args = parser.parse_args()
    reexec_with_env()
    prepare()

    from django.contrib.auth import get_user_model

    from isidorus.scrapings.models import Page, Scraping

    if args.reuse and reusable(args.pages):
        log("reusing the data already in the bench database")
        vacuum_analyze()
    else:
        generate(args.pages)
    owner, job, raw = bench_owner_and_key()
    other_job = Scraping.objects.exclude(owner=owner).get()
    assert get_user_model().objects.count() == 2
    job_id = str(job.pk)
    base = f"/api/v1/scrapings/{job_id}"
    detail_page = (
        Page.objects.filter(scraping=job, outcome="fetched", images__isnull=False)
        .distinct()
        .order_by("id")
        .values_list("id", flat=True)[args.pages // 40]
    )
    common, rare = search_words()
    log(
        f"search words: {common!r} in {count_matches(job, common)} pages, "
        f"{rare!r} in {count_matches(job, rare)} pages (of {args.pages})"
    )

    bench = Bench(raw, runs=args.runs, warmup=args.warmup)
    load_before = os.getloadavg()
    log(f"timing ({args.warmup} warm-up + {args.runs} runs per endpoint)")
    rows: list[Row] = []
    first = f"{base}/pages/?page_size={PAGE_SIZE}"
    rows.append(bench.measure(Row("pages: first page", first, is_pages=True)))
    walk_row, middle = bench.walk(first, args.walk)
    rows.append(walk_row)
    middle_row = bench.measure(Row("pages: middle cursor (repeated)", middle, is_pages=True))
    rows.append(middle_row)
    for name, query in (
        ("pages: ?outcome=failed", "outcome=failed"),
        ("pages: ?depth=3", "depth=3"),
        ("pages: ?outcome=skipped&depth=5", "outcome=skipped&depth=5"),
        ("pages: ?outcome=failed&depth=2 (rare)", "outcome=failed&depth=2"),
    ):
        rows.append(bench.measure(Row(name, f"{base}/pages/?{query}&page_size={PAGE_SIZE}", True)))
    rows += [
        bench.measure(Row("page detail", f"{base}/pages/{detail_page}/")),
        bench.measure(Row("links: first page", f"{base}/links/?page_size={PAGE_SIZE}")),
        bench.measure(Row("images: first page", f"{base}/images/?page_size={PAGE_SIZE}")),
        bench.measure(Row("terms: top 50", f"{base}/terms/")),
        bench.measure(Row(f"search: q={common} (frequent)", f"/api/v1/search/?q={common}")),
        bench.measure(Row(f"search: q={rare} (rare)", f"/api/v1/search/?q={rare}")),
        bench.measure(Row("job detail (PG + DynamoDB)", f"{base}/")),
    ]
    # The other owner's job is invisible: a 404, not a page of its pages.
    assert bench.client.get(f"/api/v1/scrapings/{other_job.pk}/pages/").status_code == 404

    middle_queries = bench.capture(Row("explain", middle))
    middle_plan = explain(page_query_of(middle_queries))
    plans = {"pages: middle cursor": middle_plan}
    for row in rows:
        if row.name.startswith("pages:") and row is not middle_row and row is not walk_row:
            plans[row.name] = explain(page_query_of(bench.capture(Row("explain", row.path))))
    slow = [row for row in rows if row.p95 >= TARGET_MS or row.slowest_sql_ms >= 10]
    for row in slow:
        if row.slowest_sql.lstrip().upper().startswith("SELECT"):
            plan = explain(row.slowest_sql)
            # A query slow only because the machine was busy runs fast here: skip it.
            if execution_ms(plan) >= 2.0 and plan not in plans.values():
                plans[f"slowest query of {row.name}"] = plan

    load_after = os.getloadavg()
    write = measure_write_path(args.write_pages, args.write_reps)

    print()
    print(f"== API at {args.pages} pages per job (2 jobs, interleaved; page_size={PAGE_SIZE}) ==")
    print(
        "times in ms: in-process Django test Client, end to end per request (no network); "
        "cpu = this thread's CPU time; pg cpu = the PostgreSQL backend's CPU per request "
        "(mean); sql = wall time inside the request's queries"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before and "
        f"{load_after[0]:.1f} after timing (other processes share the CPUs and PostgreSQL)"
    )
    print_table(rows)
    pages_rows = [row for row in rows if row.is_pages]
    verdict = True
    print()
    for label, group in (
        ("no filter (first, walk, middle)", [r for r in pages_rows if "?" not in r.name]),
        ("with ?outcome= / ?depth= filters", [r for r in pages_rows if "?" in r.name]),
    ):
        passed = all(row.p95 < TARGET_MS for row in group)
        verdict = verdict and passed
        worst = max(group, key=lambda row: row.p95)
        print(
            f"TARGET pages endpoint < {TARGET_MS:.0f} ms (p95, page of {PAGE_SIZE}), {label}: "
            f"{'PASS' if passed else 'FAIL'} (worst p95 {worst.p95:.2f} ms, p50 "
            f"{worst.p50:.2f}, sql p50 {worst.sql_p50:.2f}: {worst.name})"
        )
    busiest = max(pages_rows, key=lambda row: row.cpu_p50 + row.pg_cpu_ms)
    print(
        f"CPU-only estimate (load-independent; Python cpu p50 + PostgreSQL backend cpu), worst "
        f"pages case: {busiest.cpu_p50 + busiest.pg_cpu_ms:.2f} ms ({busiest.name})"
    )
    print("\n== EXPLAIN (ANALYZE, BUFFERS), pages query at the middle cursor: key lines ==")
    for line in plan_key_lines(middle_plan):
        print("  " + line)
    for name, plan in plans.items():
        print(f"\n-- {name} --")
        for line in plan:
            print("  " + line)

    print(
        f"\n== Write path: {args.write_pages} pages of ~5 KB, {args.write_reps} runs each; "
        "ms/page: wall median, wall min, PostgreSQL backend CPU median =="
    )
    labels = {key: label for key, label, *_ in WRITE_VARIANTS}
    for mode, variants in write.items():
        print(f"{mode}:")
        for key, numbers in variants.items():
            print(
                f"  {key} {labels[key]:46} {numbers['median_ms_per_page']:7.3f} "
                f"{numbers['min_ms_per_page']:7.3f} {numbers['pg_cpu_ms_per_page']:7.3f}"
            )
        for pair, meaning in WRITE_RATIOS:
            top, bottom = variants[pair[0]], variants[pair[2]]
            print(
                f"  {pair}: wall x{_ratio(top, bottom, 'median_ms_per_page')} "
                f"(+{top['median_ms_per_page'] - bottom['median_ms_per_page']:.3f} ms/page), "
                f"backend CPU x{_ratio(top, bottom, 'pg_cpu_ms_per_page')} "
                f"(+{top['pg_cpu_ms_per_page'] - bottom['pg_cpu_ms_per_page']:.3f} ms/page): "
                f"{meaning}"
            )

    print("\n== Raw timings (ms) ==")
    for row in rows:
        print(f"{row.name}: {' '.join(f'{t:.2f}' for t in row.timings_ms)}")
        print(f"  cpu: {' '.join(f'{t:.2f}' for t in row.cpu_ms)}")
        print(f"  sql: {' '.join(f'{t:.2f}' for t in row.sql_run_ms)}")
    for row in slow:
        print(f"slowest SQL of {row.name} ({row.slowest_sql_ms:.2f} ms): {row.slowest_sql[:400]}")

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "pages": args.pages,
                    "rows": [
                        {
                            "name": row.name,
                            "path": row.path,
                            "timings_ms": row.timings_ms,
                            "cpu_ms": row.cpu_ms,
                            "sql_ms": row.sql_run_ms,
                            "pg_cpu_ms_mean": row.pg_cpu_ms,
                            "p50": row.p50,
                            "p95": row.p95,
                            "max": row.max,
                            "queries": row.queries,
                        }
                        for row in rows
                    ],
                    "pass": verdict,
                    "plans": plans,
                    "write_path": write,
                },
                indent=2,
            )
        )
    if not args.keep:
        from isidorus.integrations.job_table import job_item_delete

        job_item_delete(job_id)
        drop_database()
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
