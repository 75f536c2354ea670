"""Issue 4's benchmark: the full Isidorus pipeline against Scrapy on the same synthetic site.

    .venv/bin/python bench/crawl_bench.py [--pages 2000] [--batch-size 64]
        [--scraper-concurrency 2] [--writer-concurrency 2] [--fetch-threads 16]
        [--profile wall|cpu] [--only isidorus|scrapy] [--rounds N]
        [--enrichment off|on|both] [--enrichment-concurrency 1]

1. Builds a deterministic site (bench/synthetic_site.py) and serves it on 127.0.0.1 from
   forked asyncio servers, then loads it on its own for a few seconds to show its
   capacity is far above either crawler's rate.
2. Isidorus: its own namespace, PostgreSQL database and Redis database (BENCH_ENV), so it
   never meets `make run` or `make test`. It creates and migrates the database, runs
   bootstrap_aws, empties its own queues, tables and Redis database, starts one real
   prefork Celery worker for the scraper queue and one for the writer queue, starts a
   job with scraping_start and waits until the DynamoDB job item is terminal. Full writes
   happen: pages (with their terms), job term totals, links and images rows. With
   --enrichment both (the default) it crawls twice: enrichment off, then on with the
   offline defaults (extractive summaries; images downloaded from the site, validated,
   stored in S3 and described offline), a summarizer and an image-extractor worker
   started too; the ratio of the two rates is printed (issue 15: >= 0.75x).
3. Scrapy: bench/scrapy_spider.py in .venvs/bench-scrapy (rebuilt here whenever
   bench/requirements-scrapy.txt, which pins Scrapy and all it pulls in, changes), same site,
   same extraction, a no-op item pipeline.
4. Prints one table: pages, seconds, pages/s and the CPU seconds of every process
   involved, and the ratio. Every process the bench started is stopped by PID.

--profile attaches py-spy (from the Scrapy venv) to both workers and prints where the
task time went (bench/profile_summary.py).

Both crawlers are CPU-bound on a small machine, so other load skews wall times: the
table shows how much CPU went to processes that are not the bench's.

Only 127.0.0.1 is ever contacted. Run files (worker logs, profiles) go to bench/.runs/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from proc_cpu import CpuMeter, Finder, matching, single, tree  # noqa: E402
from profile_summary import summarize_profile  # noqa: E402
from synthetic_site import (  # noqa: E402
    PROFILES,
    Site,
    SiteServer,
    build_site,
    measure_capacity,
    served_between,
)

from isidorus.core.local_aws import local_aws_environment  # noqa: E402
from scripts.processes import kill_group, lower_priority, spawn, stop_tree  # noqa: E402
from scripts.venvs import install_exact  # noqa: E402

VENV_PY = REPO_ROOT / ".venv" / "bin" / "python"
SCRAPY_VENV = REPO_ROOT / ".venvs" / "bench-scrapy"
SCRAPY_REQUIREMENTS = REPO_ROOT / "bench" / "requirements-scrapy.txt"
STACK_DIR = REPO_ROOT / ".stack"
RUNS_DIR = REPO_ROOT / "bench" / ".runs"

BENCH_DATABASE = "isidorus_bench"
BENCH_REDIS_DB = 2
BENCH_ENV = {
    **local_aws_environment(),
    "ISIDORUS_NAMESPACE": "isidorus-bench",
    "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{BENCH_DATABASE}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}",
    "ISIDORUS_ALLOWED_NETWORKS": "127.0.0.0/8",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    # Repeated runs must not hit the owner's daily page quota.
    "ISIDORUS_DAILY_PAGE_QUOTA": "100000000",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------- processes


class Started:
    """Every process the bench starts, so that cleanup stops exactly those (by PID)."""

    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.servers: list[SiteServer] = []

    def popen(
        self, name: str, command: list[str], *, log_path: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start `command` in its own session, the launcher's way (scripts/processes.py)."""
        process = spawn(command, log_path=log_path, env=env)
        self.processes.append((name, process))
        return process

    def stop(
        self, process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, grace: float = 15
    ) -> None:
        """`sig` to the process's session, SIGKILL after `grace` to what is left; reap it."""
        if process.poll() is None:
            stop_tree(process.pid, grace=grace, signum=sig)
        else:
            kill_group(process.pid)  # leftover pool children of this session
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for _, process in reversed(self.processes):
            self.stop(process)
        for server in self.servers:
            server.stop()


def run_checked(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def stack_pid(name: str) -> int | None:
    try:
        return int((STACK_DIR / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def stack_groups() -> dict[str, Finder]:
    """The shared services, measured in both phases (in the Scrapy phase: idle noise)."""
    groups: dict[str, Finder] = {}
    for name, label in (("localstack", "LocalStack (SQS, S3)"), ("moto", "moto (DynamoDB)")):
        pid = stack_pid(name)
        if pid is not None:
            groups[label] = tree(pid)
    groups["redis-server"] = matching(lambda p: p.info["name"] == "redis-server")

    def pg(kind: str) -> Finder:
        def wanted(p: psutil.Process) -> bool:
            if not (p.info["name"] or "").startswith("postgres"):
                return False
            line = " ".join(p.info["cmdline"] or [])
            bench = f" {BENCH_DATABASE} " in line
            return bench if kind == "bench" else not bench and not _pg_other_backend(line)

        return matching(wanted)

    groups[f"postgres: {BENCH_DATABASE} backends"] = pg("bench")
    groups["postgres: server (wal, checkpoint...)"] = pg("server")
    return groups


def _pg_other_backend(cmdline: str) -> bool:
    """A backend of another database (someone else's tests): not ours to count."""
    return "(" in cmdline and ")" in cmdline and cmdline.startswith("postgres: ")


# --------------------------------------------------------------------------- results


@dataclass
class Phase:
    name: str
    pages: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    machine_busy: float = 0.0
    notes: list[str] = field(default_factory=list)
    # Store calls over the crawl: redis commands, sqs/s3/dynamodb requests, postgres
    # commits and rows inserted.
    calls: dict[str, int] = field(default_factory=dict)
    # CPU seconds per pipeline step inside the workers (isidorus/integrations/cpu_steps.py).
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


# --------------------------------------------------------------------------- Isidorus


def prepare_isidorus(env: dict[str, str]) -> None:
    log(f"database {BENCH_DATABASE}: create if missing, migrate; bootstrap_aws")
    run_checked([str(VENV_PY), "scripts/ensure_database.py"], env)
    run_checked([str(VENV_PY), "manage.py", "migrate", "--no-input"], env)
    run_checked([str(VENV_PY), "manage.py", "bootstrap_aws"], env)
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    # Only the bench's own state is wiped: refuse if the settings point anywhere else.
    assert settings.DATABASES["default"]["NAME"] == BENCH_DATABASE, "not the bench database"
    assert settings.REDIS_URL.endswith(f"/{BENCH_REDIS_DB}"), "not the bench Redis database"
    assert settings.ISIDORUS_NAMESPACE == "isidorus-bench", "not the bench namespace"
    wipe_bench_state()


def wipe_bench_state() -> None:
    """Empty the bench's tables, Redis database and queues (and nothing else's)."""
    from botocore.exceptions import ClientError
    from django.db import connection

    from config.queues import all_queue_specs
    from isidorus.integrations.aws import sqs_client
    from isidorus.integrations.redis_client import get_redis

    with connection.cursor() as cursor:
        # Each run starts from empty tables, so index sizes (and insert cost) are comparable.
        cursor.execute(
            "TRUNCATE scrapings_jobterm, scrapings_image, scrapings_page, "
            "scrapings_writebatch, scrapings_scraping CASCADE"
        )
    get_redis().flushdb()
    sqs = sqs_client()
    for spec in all_queue_specs():
        for name in (spec.name, spec.dlq_name):
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            try:
                sqs.purge_queue(QueueUrl=url)
            except ClientError as error:
                if error.response["Error"]["Code"] != "AWS.SimpleQueueService.PurgeQueueInProgress":
                    raise


def start_worker(
    started: Started,
    stage: str,
    concurrency: int,
    env: dict[str, str],
    run_dir: Path,
    *,
    nice: int = 0,
) -> subprocess.Popen[bytes]:
    log_path = run_dir / f"worker-{stage}.log"
    command = [
        str(VENV_PY), "-m", "celery", "-A", "config",
        "worker",
        "-Q", f"{env['ISIDORUS_NAMESPACE']}-{stage}", "-n", f"bench-{stage}@%h",
        "-P", "prefork", "-c", str(concurrency),
        "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "INFO",
    ]  # fmt: skip
    process = started.popen(f"worker-{stage}", command, log_path=log_path, env=env)
    if nice:
        log(f"worker {stage}: {lower_priority(process.pid, nice)}")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker {stage} exited:\n{log_path.read_text()[-3000:]}")
        if b" ready." in log_path.read_bytes():
            return process
        time.sleep(0.2)
    raise TimeoutError(f"worker {stage} not ready:\n{log_path.read_text()[-3000:]}")


def redis_commandstats() -> dict[str, int]:
    from isidorus.integrations.redis_client import get_redis

    stats = get_redis().info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def redis_used_memory() -> int:
    """The Redis server's used memory (bytes): all its databases, so the bench's own crawl
    is what moves it while nothing else runs."""
    from isidorus.integrations.redis_client import get_redis

    return int(get_redis().info("memory")["used_memory"])


# MEMORY STATS fields that add up to most of the server's used memory.
REDIS_MEMORY_PARTS = (
    "keys.count",
    "dataset.bytes",
    "overhead.total",
    "clients.normal",
    "lua.caches",
)


def redis_memory_stats() -> dict[str, int]:
    from isidorus.integrations.redis_client import get_redis

    stats = get_redis().memory_stats()
    return {name: int(float(stats[name])) for name in REDIS_MEMORY_PARTS if name in stats}


def job_redis_footprint(job_id: str) -> tuple[int, int]:
    """(bytes of the job's own Redis keys by MEMORY USAGE, URLs it has seen)."""
    from isidorus import job_state
    from isidorus.integrations.redis_client import get_redis

    redis = get_redis()
    keys = job_state.job_keys(job_id)
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    total = sum(int(size or 0) for size in pipe.execute())
    return total, int(redis.hlen(f"job:{{{job_id}}}:seen"))


def pg_database_stats() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit, tup_inserted FROM pg_stat_database WHERE datname = %s",
            [BENCH_DATABASE],
        )
        commits, inserted = cursor.fetchone()
    return {"commits": int(commits), "rows_inserted": int(inserted)}


# What each emulator logs once per request it serves, and the service it stands for.
EMULATOR_REQUEST_LINES = {
    "sqs": ("localstack.log", b"AWS sqs."),
    "s3": ("localstack.log", b"AWS s3."),
    "dynamodb": ("moto.log", b'"POST / HTTP'),
}


def emulator_log_sizes() -> dict[str, int]:
    sizes: dict[str, int] = {}
    for log_name, _ in EMULATOR_REQUEST_LINES.values():
        path = STACK_DIR / log_name
        sizes[log_name] = path.stat().st_size if path.exists() else 0
    return sizes


def emulator_calls_since(sizes: dict[str, int]) -> dict[str, int]:
    """Requests to SQS, S3 and DynamoDB logged by the emulators since `sizes` (every
    client's: run alone, these are the bench's)."""
    added: dict[str, bytes] = {}
    for log_name, offset in sizes.items():
        path = STACK_DIR / log_name
        if path.exists():
            with path.open("rb") as file:
                file.seek(offset)
                added[log_name] = file.read()
    return {
        service: added.get(log_name, b"").count(marker)
        for service, (log_name, marker) in EMULATOR_REQUEST_LINES.items()
    }


def failed_task(run_dir: Path) -> None:
    """A task that raised makes the job wait for SQS redelivery: stop the bench instead."""
    for log_path in run_dir.glob("worker-*.log"):
        text = log_path.read_text(errors="replace")
        if "Traceback (most recent call last)" in text:
            at = text.index("Traceback (most recent call last)")
            raise RuntimeError(f"a task failed in {log_path.name}:\n{text[at - 300 : at + 4000]}")


def task_stats(log_path: Path) -> tuple[int, float, float]:
    """(tasks, total seconds, longest) from a worker's `succeeded in Xs` log lines."""
    durations = [
        float(line.rsplit("succeeded in ", 1)[1].split("s:", 1)[0])
        for line in log_path.read_text(errors="replace").splitlines()
        if "succeeded in " in line
    ]
    return len(durations), sum(durations), max(durations, default=0.0)


ENRICHMENT_STAGES = ("page-summarizer", "image-extractor")
ENRICHMENT_MODES = {"off": (False,), "on": (True,), "both": (False, True)}


def run_isidorus(
    args: argparse.Namespace,
    server: SiteServer,
    started: Started,
    run_dir: Path,
    depth: int,
    *,
    enrichment: bool = False,
) -> Phase:
    from django.contrib.auth import get_user_model
    from django.db.models import Count, Sum

    from isidorus.integrations.job_table import TERMINAL, job_item_get
    from isidorus.scrapings.models import Image, JobTerm, LinkCount, Page, Scraping
    from isidorus.scrapings.services.start import StartRequest, scraping_start

    env = {
        **os.environ,
        **BENCH_ENV,
        "CRAWL_BATCH_SIZE": str(args.batch_size),
        "CRAWL_FETCH_THREADS": str(args.fetch_threads),
        "CRAWL_HOST_CONCURRENCY": str(args.host_concurrency),
        "ISIDORUS_ENRICHMENT_ENABLED": str(enrichment).lower(),
        "ISIDORUS_CPU_STEPS": "1",
        # The offline defaults: extractive summaries, offline image descriptions.
        "SUMMARY_PROVIDER": "none",
        "IMAGE_DESCRIBER_PROVIDER": "none",
    }
    phase = Phase("isidorus+enrich" if enrichment else "isidorus")
    concurrency = {"scraper": args.scraper_concurrency, "writer": args.writer_concurrency}
    if enrichment:
        concurrency |= dict.fromkeys(ENRICHMENT_STAGES, args.enrichment_concurrency)
    log("starting workers (prefork): " + ", ".join(f"{k} -c {v}" for k, v in concurrency.items()))
    workers = {
        stage: start_worker(started, stage, processes, env, run_dir)
        for stage, processes in concurrency.items()
    }
    profilers = start_profilers(
        args, started, run_dir, {stage: worker.pid for stage, worker in workers.items()}
    )
    owner = get_user_model().objects.get_or_create(username="bench")[0]

    groups: dict[str, Finder] = {
        **{f"{stage} worker (+pool)": tree(worker.pid) for stage, worker in workers.items()},
        **stack_groups(),
        "site server": tree(*server.pids),
        "bench driver (polls DynamoDB)": single(os.getpid()),
    }
    redis_before, pg_before = redis_commandstats(), pg_database_stats()
    emulators_before = emulator_log_sizes()
    served_before = server.snapshot()
    memory_before = redis_memory_peak = redis_used_memory()
    stats_before = redis_memory_stats()
    log(f"crawl: depth {depth}, max_pages {args.pages}, batch {args.batch_size}")
    with CpuMeter(groups) as meter:
        started_at = time.monotonic()
        job, _ = scraping_start(
            owner=owner,
            request=StartRequest(
                url=f"{server.origin}/",
                depth=depth,
                max_pages=args.pages,
                summarize=enrichment,
                describe_images=enrichment,
            ),
        )
        job_id = str(job.pk)
        item: dict[str, Any] | None = None
        deadline = started_at + args.timeout
        polls = 0
        while time.monotonic() < deadline:
            # The PostgreSQL mirror is the cheap poll (the driver's CPU counts in the sum);
            # the job finishes there just before DynamoDB, which stays the one that counts.
            if Scraping.objects.filter(pk=job_id, status__in=TERMINAL).exists():
                item = job_item_get(job_id)
                if item and item.get("status") in TERMINAL:
                    break
            time.sleep(0.2)
            polls += 1
            redis_memory_peak = max(redis_memory_peak, redis_used_memory())
            if polls % 10 == 0:
                failed_task(run_dir)
        phase.seconds = time.monotonic() - started_at
    memory_end = redis_used_memory()
    stats_end = redis_memory_stats()
    stop_profilers(started, profilers, run_dir)
    if not item or item.get("status") not in TERMINAL:
        raise RuntimeError(f"job {job_id} not terminal after {args.timeout}s: {item}")

    outcomes = dict(
        Page.objects.filter(scraping_id=job_id).values_list("outcome").annotate(n=Count("id"))
    )
    phase.pages = outcomes.get("fetched", 0)
    phase.cpu = meter.seconds()
    phase.machine_busy = meter.machine_busy
    phase.notes.append(_peak_rss_note(meter.peak_rss(), list(workers)))
    served = served_between(served_before, server.snapshot())
    rows = {
        "pages": sum(outcomes.values()),
        # A page's terms are one jsonb value: these are its (term, count) entries.
        "terms": sum(
            len(terms)
            for terms in Page.objects.filter(scraping_id=job_id).values_list("terms", flat=True)
        ),
        "job_terms": JobTerm.objects.filter(scraping_id=job_id).count(),
        "links": Page.objects.filter(scraping_id=job_id).aggregate(n=Sum(LinkCount()))["n"] or 0,
        "images": Image.objects.filter(scraping_id=job_id).count(),
    }
    # The workers' PostgreSQL backends report their statistics when they exit: stop the
    # workers first, or the last second's commits and rows are missing.
    log("stopping workers")
    for worker in workers.values():
        started.stop(worker)
    phase.steps = cpu_steps_read()
    redis_after, pg_after = redis_commandstats(), pg_database_stats()
    redis_calls = {
        name: calls - redis_before.get(name, 0)
        for name, calls in redis_after.items()
        if calls - redis_before.get(name, 0) > 0
    }
    per_page = max(phase.pages, 1)
    top_redis = sorted(redis_calls.items(), key=lambda kv: -kv[1])[:6]
    phase.calls = {
        "redis": sum(redis_calls.values()),
        **emulator_calls_since(emulators_before),
        "postgres commits": pg_after["commits"] - pg_before["commits"],
        "postgres rows": pg_after["rows_inserted"] - pg_before["rows_inserted"],
    }
    phase.notes += [
        f"job {job_id}: {item['status']} {item.get('status_reason', '')}".rstrip(),
        f"page rows by outcome: {outcomes}",
        f"rows written: {rows} (per fetched page: terms {rows['terms'] / per_page:.0f}, "
        f"links {rows['links'] / per_page:.0f}, images {rows['images'] / per_page:.1f})",
        f"site server: {served.page_requests} page requests, {served.distinct_pages} distinct, "
        f"{served.repeated} repeated, robots.txt {served.robots}, 404 {served.not_found}",
        "redis commands per fetched page (commands inside Lua scripts included): "
        + ", ".join(f"{name} {calls / per_page:.1f}" for name, calls in top_redis),
        f"postgres: {pg_after['commits'] - pg_before['commits']} commits, "
        f"{(pg_after['rows_inserted'] - pg_before['rows_inserted']) / per_page:.0f} rows inserted "
        "per fetched page",
        "store calls per fetched page: "
        + ", ".join(f"{name} {calls / per_page:.2f}" for name, calls in phase.calls.items()),
        _enrichment_note(job_id, item)
        if enrichment
        else (
            "enrichment: off (summarize=False, describe_images=False: no image or summary tasks)"
        ),
        _redis_memory_note(job_id, memory_before, redis_memory_peak, memory_end),
        _redis_memory_parts_note(stats_before, stats_end),
    ]
    for stage, processes in concurrency.items():
        count, busy, longest = task_stats(run_dir / f"worker-{stage}.log")
        phase.notes.append(
            f"{stage} tasks: {count}, {busy / max(count, 1):.2f}s average, {longest:.2f}s longest; "
            f"pool busy {100 * busy / (phase.seconds * processes):.0f}% of wall x concurrency"
        )
    for name, profile in profilers.items():
        phase.notes.append(f"profile ({args.profile}) of the {name} worker: {profile[1]}")
    if args.profile:
        for name, (_, path) in profilers.items():
            print(summarize_profile(path, name, args.profile))
    return phase


def cpu_steps_read() -> dict[str, float]:
    """The workers' CPU seconds per step, added up in Redis after each task."""
    from isidorus.integrations.cpu_steps import STEPS_KEY
    from isidorus.integrations.redis_client import get_redis

    redis = get_redis()
    steps = {str(name): float(value) for name, value in redis.hgetall(STEPS_KEY).items()}
    redis.delete(STEPS_KEY)
    return steps


# A step's prefix (before the colon) -> the process group that ran it.
STEP_PROCESSES = {
    "scraper": "scraper worker (+pool)",
    "writer": "writer worker (+pool)",
    "summaries": "page-summarizer worker (+pool)",
    "images": "image-extractor worker (+pool)",
}


def print_steps(phase: Phase) -> None:
    """CPU ms a page of each worker's steps, what else each worker spent, then the other
    processes: where the next millisecond is."""
    if not phase.steps:
        return
    per_page = 1000 / max(phase.pages, 1)
    print(f"\n{phase.name}: CPU ms per page by step (budget for 8x Scrapy: about 4.8 ms in all)")
    for prefix, group in STEP_PROCESSES.items():
        mine = {name: value for name, value in phase.steps.items() if name.startswith(prefix)}
        if group not in phase.cpu:
            continue
        for name, seconds in sorted(mine.items(), key=lambda item: -item[1]):
            print(f"  {name:68}{seconds * per_page:8.2f}")
        rest = phase.cpu[group] - sum(mine.values())
        print(f"  {prefix + ': the rest (Celery, SQS receive and delete, task glue)':68}"
              f"{rest * per_page:8.2f}")  # fmt: skip
    for group, seconds in phase.cpu.items():
        if group not in STEP_PROCESSES.values():
            print(f"  {group:68}{seconds * per_page:8.2f}")
    print(f"  {'sum':68}{sum(phase.cpu.values()) * per_page:8.2f}")


def _enrichment_note(job_id: str, item: dict[str, Any]) -> str:
    """What enrichment made: every page summarised, every image row resolved."""
    from django.db.models import Count

    from isidorus.scrapings.models import Image, Page

    summarised = Page.objects.filter(scraping_id=job_id).exclude(summary="").count()
    images = dict(
        Image.objects.filter(scraping_id=job_id).values_list("outcome").annotate(n=Count("id"))
    )
    return (
        f"enrichment: on (offline defaults); job {item.get('status')}, pages summarised "
        f"{summarised}, image rows by outcome {images}"
    )


def _peak_rss_note(peaks: dict[str, tuple[int, int]], stages: list[str]) -> str:
    """Each worker's largest process (issue 15: every Isidorus process under 250 MB)."""
    parts = []
    largest = 0
    for stage in stages:
        peak, processes = peaks.get(f"{stage} worker (+pool)", (0, 0))
        largest = max(largest, peak)
        parts.append(f"{stage} {peak / 2**20:.0f} MB (largest of {processes})")
    verdict = "under" if largest < 250 * 2**20 else "NOT under"
    return f"peak RSS per process (VmHWM): {', '.join(parts)}; {verdict} 250 MB"


def _redis_memory_parts_note(before: dict[str, int], end: dict[str, int]) -> str:
    """Where the server's used memory went between the crawl's start and its end."""
    parts = ", ".join(
        f"{name} {end.get(name, 0) - before.get(name, 0):+,}" for name in REDIS_MEMORY_PARTS
    )
    return f"redis MEMORY STATS, end minus start: {parts}"


def _redis_memory_note(job_id: str, before: int, peak: int, end: int) -> str:
    own_bytes, seen = job_redis_footprint(job_id)
    per = max(seen, 1)
    return (
        f"redis memory per URL seen ({seen}): the server's used memory over its level before "
        f"the crawl {(peak - before) / per:.0f} B at the peak (sampled every 0.2 s) and "
        f"{(end - before) / per:.0f} B at the end; the job's own keys at the end "
        f"{own_bytes / per:.0f} B (MEMORY USAGE, {own_bytes / 1e6:.2f} MB)"
    )


def start_profilers(
    args: argparse.Namespace, started: Started, run_dir: Path, pids: dict[str, int]
) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
    if not args.profile:
        return {}
    spy = SCRAPY_VENV / "bin" / "py-spy"
    profilers = {}
    for name, pid in pids.items():
        path = run_dir / f"profile-{args.profile}-{name}.txt"
        command = [str(spy), "record", "--pid", str(pid), "--subprocesses", "--format", "raw",
                   "--rate", "200", "--output", str(path)]  # fmt: skip
        if args.profile == "wall":
            command.append("--idle")
        spy_log = run_dir / f"py-spy-{name}.log"
        profilers[name] = (started.popen(f"py-spy-{name}", command, log_path=spy_log), path)
    time.sleep(1.0)  # let py-spy attach before the crawl starts
    return profilers


def stop_profilers(
    started: Started, profilers: dict[str, tuple[subprocess.Popen[bytes], Path]], run_dir: Path
) -> None:
    for process, _ in profilers.values():
        started.stop(process, sig=signal.SIGINT, grace=60)  # py-spy writes its file on SIGINT


# --------------------------------------------------------------------------- Scrapy


def ensure_scrapy_venv() -> Path:
    """Scrapy's virtualenv, exactly as bench/requirements-scrapy.txt pins it."""
    log_path = SCRAPY_VENV.parent / "bench-scrapy-install.log"
    if install_exact(SCRAPY_VENV, SCRAPY_REQUIREMENTS, log=log_path):
        log(f"built {SCRAPY_VENV.relative_to(REPO_ROOT)} from {SCRAPY_REQUIREMENTS.name}")
    return SCRAPY_VENV / "bin" / "python"


def run_scrapy(server: SiteServer, started: Started, run_dir: Path, depth: int) -> Phase:
    python = ensure_scrapy_venv()
    out = run_dir / "scrapy-result.json"
    phase = Phase("scrapy")
    served_before = server.snapshot()
    log("crawl with Scrapy")
    spider = REPO_ROOT / "bench" / "scrapy_spider.py"
    process = started.popen(
        "scrapy",
        [
            str(python),
            str(spider),
            "--url",
            f"{server.origin}/",
            "--depth",
            str(depth),
            "--out",
            str(out),
        ],
        log_path=run_dir / "scrapy.log",
    )
    groups = {
        "scrapy process": tree(process.pid),
        **stack_groups(),
        "site server": tree(*server.pids),
    }
    with CpuMeter(groups) as meter:
        code = process.wait()
    if code != 0:
        raise RuntimeError(f"scrapy failed:\n{(run_dir / 'scrapy.log').read_text()[-3000:]}")
    result = json.loads(out.read_text())
    served = served_between(served_before, server.snapshot())
    phase.pages = served.distinct_pages
    phase.seconds = result["seconds"]
    phase.cpu = meter.seconds()
    phase.machine_busy = meter.machine_busy
    per_page = max(result["pages"], 1)
    phase.notes += [
        f"Scrapy {result['scrapy']}, Twisted {result['twisted']}, Python {result['python']}; "
        f"close reason {result['close_reason']}",
        "settings: " + ", ".join(f"{k}={v}" for k, v in result["settings"].items()),
        f"items: {result['pages']} (terms {result['terms'] / per_page:.0f}, links "
        f"{result['links'] / per_page:.0f}, images {result['images'] / per_page:.1f} per page)",
        f"site server: {served.page_requests} page requests, {served.distinct_pages} distinct, "
        f"{served.repeated} repeated (Scrapy's start request bypasses its dupe filter), "
        f"robots.txt {served.robots}",
        f"seconds: spider_opened to spider_closed ({result['cpu_seconds_in_crawl']:.1f} CPU-s "
        "of the Scrapy process in that window; the table's CPU includes its start-up)",
    ]
    return phase


# --------------------------------------------------------------------------- report


def print_table(phases: list[Phase], pages: int) -> None:
    names: list[str] = []
    for phase in phases:
        names += [name for name in phase.cpu if name not in names]
    width = max(len(n) for n in [*names, "machine busy (every process)"]) + 2
    header = "".join(f"{phase.name:>14}" for phase in phases)
    print()
    print(f"{'':{width}}{header}")
    print(f"{'pages fetched':{width}}" + "".join(f"{p.pages:>14}" for p in phases))
    print(f"{'wall seconds':{width}}" + "".join(f"{p.seconds:>14.2f}" for p in phases))
    print(f"{'pages/s':{width}}" + "".join(f"{p.rate:>14.1f}" for p in phases))
    print("CPU seconds")
    for name in names:
        cells = "".join(f"{p.cpu[name]:>14.2f}" if name in p.cpu else f"{'-':>14}" for p in phases)
        print(f"  {name:{width - 2}}{cells}")
    sums = "".join(f"{sum(p.cpu.values()):>14.2f}" for p in phases)
    print(f"  {'sum of the above':{width - 2}}{sums}")
    busy = "".join(f"{p.machine_busy:>14.2f}" for p in phases)
    print(f"  {'machine busy (every process)':{width - 2}}{busy}")
    # Other people's processes on a shared machine: large values make the wall time noisy.
    others = "".join(f"{max(0.0, p.machine_busy - sum(p.cpu.values())):>14.2f}" for p in phases)
    print(f"  {'  of which not the bench processes':{width - 2}}{others}")
    print(
        f"{'CPU ms per page (sum above)':{width}}"
        + "".join(f"{1000 * sum(p.cpu.values()) / max(p.pages, 1):>14.1f}" for p in phases)
    )
    print()
    for line in ratio_lines({p.name: p for p in phases}):
        print(line)
    for phase in phases:
        if phase.pages != pages:
            print(f"WARNING: {phase.name} fetched {phase.pages} of {pages} pages")


def ratios(by_name: dict[str, Phase]) -> dict[str, float]:
    """Isidorus against Scrapy, and enrichment on against off (pages/s)."""
    found: dict[str, float] = {}
    scrapy = by_name.get("scrapy")
    for name in ("isidorus", "isidorus+enrich"):
        if name in by_name and scrapy and scrapy.rate:
            found[f"{name}/scrapy"] = by_name[name].rate / scrapy.rate
    if "isidorus" in by_name and "isidorus+enrich" in by_name and by_name["isidorus"].rate:
        found["enrichment on/off"] = by_name["isidorus+enrich"].rate / by_name["isidorus"].rate
    return found


RATIO_TARGETS = {
    "isidorus/scrapy": "issue 15 target: >= 8x",
    "isidorus+enrich/scrapy": "",
    "enrichment on/off": "issue 15 target: >= 0.75x",
}


def ratio_lines(by_name: dict[str, Phase]) -> list[str]:
    return [
        f"ratio {name} pages/s: {value:.2f}x  ({RATIO_TARGETS[name]})".replace("  ()", "")
        for name, value in ratios(by_name).items()
    ]


def visible_text_share(site: Site) -> float:
    """Visible text characters (as Isidorus extracts them) per HTML byte, over all pages."""
    from isidorus.crawling.parse import parse_html

    text = html = 0
    for path, response in site.responses.items():
        if site.page_index.get(path, -1) < 0:
            continue
        body = response.partition(b"\r\n\r\n")[2]
        text += len(parse_html(body, "http://127.0.0.1" + path.decode()).text)
        html += len(body)
    return text / max(html, 1)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--site",
        choices=PROFILES,
        default="typical",
        help="page profile (bench/synthetic_site.py): typical markup, or text-heavy pages",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="CRAWL_BATCH_SIZE")
    parser.add_argument("--scraper-concurrency", type=int, default=2)
    parser.add_argument("--writer-concurrency", type=int, default=2)
    parser.add_argument("--fetch-threads", type=int, default=16, help="CRAWL_FETCH_THREADS")
    parser.add_argument(
        "--host-concurrency", type=int, default=16,
        help="CRAWL_HOST_CONCURRENCY (Scrapy: CONCURRENT_REQUESTS_PER_DOMAIN=16)",
    )  # fmt: skip
    parser.add_argument(
        "--enrichment", choices=ENRICHMENT_MODES, default="both",
        help="Isidorus with enrichment off, on (offline defaults), or both in each round",
    )  # fmt: skip
    parser.add_argument(
        "--enrichment-concurrency", type=int, default=1,
        help="processes of the summarizer worker and of the image-extractor worker",
    )  # fmt: skip
    parser.add_argument("--server-processes", type=int, default=2)
    parser.add_argument("--capacity-seconds", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the job")
    parser.add_argument("--only", choices=("isidorus", "scrapy"))
    parser.add_argument(
        "--rounds", type=int, default=1, help="run both crawls this many times, alternating"
    )
    parser.add_argument(
        "--profile", choices=("wall", "cpu"), help="py-spy the workers (wall: with idle samples)"
    )
    args = parser.parse_args()

    run_dir = RUNS_DIR / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    started = Started()

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        if args.only != "scrapy":
            run_checked([sys.executable, "-m", "scripts.launcher", "stack", "up"], dict(os.environ))
            prepare_isidorus({**os.environ, **BENCH_ENV})
        if args.profile or args.only != "isidorus":
            ensure_scrapy_venv()

        log(f"building the site: {args.pages} pages, seed {args.seed}, profile {args.site}")
        site = build_site(args.pages, args.seed, args.site)
        depth = max(site.max_depth + 1, 3)
        server = SiteServer(site, args.server_processes).start()
        started.servers.append(server)
        time.sleep(0.3)
        log(
            f"site {server.origin}: {site.total_bytes / site.pages / 1024:.0f} KB/page average, "
            f"{site.links_per_page:.0f} links/page, {site.images_per_page:.1f} images/page, every "
            f"page within {site.max_depth} hops of / (crawl depth {depth}); "
            f"{args.server_processes} server processes"
        )
        log(
            f"site profile {args.site}: {visible_text_share(site):.0%} of the HTML is visible "
            f"text; median page {site.median_bytes / 1024:.1f} KB, {site.anchors_per_page:.0f} "
            f"<a> a page, {site.repeated_link_share:.0%} of its distinct links on most pages "
            f"(navigation), images on {site.image_page_share:.0%} of pages"
        )
        with CpuMeter({"server": tree(*server.pids)}) as meter:
            requests, sent, elapsed = measure_capacity(server, seconds=args.capacity_seconds)
        server_cpu = meter.seconds()["server"]
        log(
            f"site capacity alone: {requests / elapsed:,.0f} pages/s ({sent / elapsed / 1e6:,.0f} "
            f"MB/s) from 4 Python keep-alive clients on the same 2 cores (a lower bound); "
            f"server CPU {1e6 * server_cpu / max(requests, 1):.0f} us/page"
        )

        rounds: list[list[Phase]] = []
        for number in range(1, args.rounds + 1):
            round_dir = run_dir / f"round-{number}" if args.rounds > 1 else run_dir
            round_dir.mkdir(exist_ok=True)
            phases: list[Phase] = []
            if args.only != "scrapy":
                for enrichment in ENRICHMENT_MODES[args.enrichment]:
                    if phases or number > 1:
                        wipe_bench_state()
                    phase_dir = round_dir / ("enrichment-on" if enrichment else "enrichment-off")
                    phase_dir.mkdir(exist_ok=True)
                    phases.append(
                        run_isidorus(args, server, started, phase_dir, depth, enrichment=enrichment)
                    )
            if args.only != "isidorus":
                phases.append(run_scrapy(server, started, round_dir, depth))
            rounds.append(phases)
    finally:
        started.stop_all()

    print(
        f"\nsettings: isidorus batch {args.batch_size}, scraper -c {args.scraper_concurrency}, "
        f"writer -c {args.writer_concurrency}, fetch threads {args.fetch_threads}, host "
        f"concurrency {args.host_concurrency}; {os.cpu_count()} cores; run files {run_dir}"
    )
    for number, phases in enumerate(rounds, start=1):
        if len(rounds) > 1:
            print(f"\n===== round {number} of {len(rounds)} =====")
        for phase in phases:
            print(f"\n{phase.name}:")
            for note in phase.notes:
                print(f"  {note}")
        print_table(phases, args.pages)
        for phase in phases:
            print_steps(phase)
    if len(rounds) > 1:
        print_rounds(rounds)
    return 0


def print_rounds(rounds: list[list[Phase]]) -> None:
    """Each round's rates, and the median: one run on a noisy 2-core machine proves little."""
    print("\nrounds (each: isidorus then scrapy, same site, same invocation):")
    by_ratio: dict[str, list[float]] = {}
    for number, phases in enumerate(rounds, start=1):
        by_name = {phase.name: phase for phase in phases}
        cells = [f"{name} {by_name[name].rate:6.1f} pages/s" for name in by_name]
        for name, value in ratios(by_name).items():
            by_ratio.setdefault(name, []).append(value)
            cells.append(f"{name} {value:.2f}x")
        print(f"  {number}: " + ", ".join(cells))
    names = list(dict.fromkeys(phase.name for phases in rounds for phase in phases))
    for name in names:
        rates = [phase.rate for phases in rounds for phase in phases if phase.name == name]
        print(f"  {name}: median {statistics.median(rates):.1f} pages/s")
    for name, values in by_ratio.items():
        target = f"; {RATIO_TARGETS[name]}" if RATIO_TARGETS[name] else ""
        print(
            f"median ratio {name}: {statistics.median(values):.2f}x (min {min(values):.2f}x, "
            f"max {max(values):.2f}x{target})"
        )


if __name__ == "__main__":
    sys.exit(main())
