"""Issue 19: what the audit before a job's terminal status costs, at 20,000 pages.

    .venv/bin/python bench/audit_bench.py [--pages 20000] [--runs 7]

Uses its own database (isidorus_auditbench), Redis database 5 and namespace
(isidorus-auditbench), like bench/api_bench.py. Generates one job of N pages (~5 KB of
text each, 90% fetched and summarised, 5% failed, 5% skipped) with 2 image rows a page
(all with an outcome), a DynamoDB job item with its counter shards sized for N pages and
one counted unit per 64 pages, then times, median of --runs after a warm-up:
- `job_audit` (one SQL statement and one DynamoDB read of the item and its shards);
- `terminal_status`, the queries every finish ran before the audit, as the baseline.
Prints both and their ratio. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from isidorus.core.local_aws import local_aws_environment  # noqa: E402

VENV_PY = REPO_ROOT / ".venv" / "bin" / "python"
BENCH_DATABASE = "isidorus_auditbench"
BENCH_REDIS_DB = 5
BENCH_NAMESPACE = "isidorus-auditbench"
BENCH_ENV = {
    **local_aws_environment(),
    "ISIDORUS_NAMESPACE": BENCH_NAMESPACE,
    "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{BENCH_DATABASE}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_DEBUG": "false",
    "ISIDORUS_ENRICHMENT_ENABLED": "true",
}
REEXEC_MARK = "ISIDORUS_AUDITBENCH_CHILD"
UNIT_PAGES = 64  # pages per counted write batch, as the writer's batches


def log(message: str) -> None:
    print(f"[auditbench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def reexec_with_env() -> None:
    if os.environ.get(REEXEC_MARK) == "1":
        return
    env = {**os.environ, **BENCH_ENV, REEXEC_MARK: "1"}
    python = str(VENV_PY) if VENV_PY.exists() else sys.executable
    os.execve(python, [python, str(Path(__file__).resolve()), *sys.argv[1:]], env)


def run_checked(command: list[str]) -> None:
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def prepare() -> None:
    log(f"database {BENCH_DATABASE}: create if missing, migrate; bootstrap_aws")
    run_checked([sys.executable, "scripts/ensure_database.py"])
    run_checked([sys.executable, "manage.py", "migrate", "--no-input"])
    run_checked([sys.executable, "manage.py", "bootstrap_aws"])
    import django

    django.setup()
    from django.conf import settings

    assert settings.DATABASES["default"]["NAME"] == BENCH_DATABASE, "not the bench database"
    assert settings.ISIDORUS_NAMESPACE == BENCH_NAMESPACE, "not the bench namespace"


_PAGES_SQL = """
INSERT INTO scrapings_page (scraping_id, url, url_hash, final_url, status_code, content_type,
  title, depth, parent_url, bytes, outcome, reason, text, terms, summary, summary_model)
SELECT %(job)s, 'http://bench.test/' || n, md5(n::text), '', 200, 'text/html', 'Page ' || n,
  n %% 6, '', 5000,
  CASE WHEN n %% 20 = 0 THEN 'failed' WHEN n %% 20 = 1 THEN 'skipped' ELSE 'fetched' END,
  CASE WHEN n %% 20 IN (0, 1) THEN 'bench' ELSE '' END,
  CASE WHEN n %% 20 IN (0, 1) THEN '' ELSE repeat('lighthouse keepers ' || n || ' ', 250) END,
  '{}'::jsonb,
  CASE WHEN n %% 20 IN (0, 1) THEN '' ELSE 'A summary of page ' || n END, 'extractive'
FROM generate_series(1, %(pages)s) AS n
"""
_IMAGES_SQL = """
INSERT INTO scrapings_image (scraping_id, page_id, url, alt, title, caption, outcome, reason,
  sha256, s3_key, content_type, format, description, description_model, described_by_llm,
  input_tokens, output_tokens)
SELECT scraping_id, id, url || '/i' || k || '.png', '', '', '', 'stored', '', '', '', '', '',
  '', '', false, 0, 0
FROM scrapings_page, generate_series(1, 2) AS k WHERE scraping_id = %(job)s
"""


def generate(pages: int) -> str:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from isidorus.integrations import job_table
    from isidorus.scrapings.models import Scraping

    owner, _ = get_user_model().objects.get_or_create(username="auditbench")
    job = Scraping.objects.create(owner=owner, url="http://bench.test/", max_pages=pages)
    job_id = str(job.pk)
    with connection.cursor() as cursor:
        cursor.execute(_PAGES_SQL, {"job": job_id, "pages": pages})
        cursor.execute(_IMAGES_SQL, {"job": job_id})
        cursor.execute("VACUUM ANALYZE scrapings_page")
        cursor.execute("VACUUM ANALYZE scrapings_image")
    job_table.job_item_create(
        job_id=job_id, owner_id=owner.pk, url=job.url, depth=5,
        created_at=datetime.now(UTC).isoformat(), max_pages=pages,
    )  # fmt: skip
    totals = {
        "pages_fetched": pages - 2 * (pages // 20),
        "pages_failed": pages // 20,
        "pages_skipped": pages // 20,
    }
    units = max(1, pages // UNIT_PAGES)
    for unit in range(units):
        share = {name: total // units for name, total in totals.items()}
        if unit == 0:  # the remainders
            share = {name: total - (units - 1) * (total // units) for name, total in totals.items()}
        job_table.job_item_add_counters_once(job_id, uuid.uuid4().hex[:24], share)
    return job_id


def drop_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def timed(runs: int, call: Callable[[], Any]) -> float:
    call()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    reexec_with_env()
    prepare()
    from django.db import connection

    from isidorus.integrations import job_table
    from isidorus.scrapings.jobs import job_config
    from isidorus.scrapings.services.audit import job_audit
    from isidorus.scrapings.services.finish import terminal_status

    log(f"generating a job of {arguments.pages:,} pages")
    job_id = generate(arguments.pages)
    job = job_config(job_id)
    assert job is not None
    try:
        findings = job_audit(job)
        log(f"audit findings: rows {findings.rows}, counted {findings.counted}")
        assert findings.clean, "the generated job should pass its audit"
        audit_ms = timed(arguments.runs, lambda: job_audit(job))
        item_ms = timed(arguments.runs, lambda: job_table.job_item_get(job_id))
        baseline_ms = timed(arguments.runs, lambda: terminal_status(job_id))
    finally:
        connection.close()
        job_table.job_item_delete(job_id)
        drop_database()
    images = 2 * arguments.pages
    print(f"pages: {arguments.pages:,} (+{images:,} image rows), median of {arguments.runs}")
    print(f"job_audit:       {audit_ms:8.1f} ms (of which the DynamoDB read {item_ms:.1f} ms)")
    print(
        f"terminal_status: {baseline_ms:8.1f} ms (baseline: the finish's queries before the audit)"
    )
    print(f"ratio audit / baseline: {audit_ms / baseline_ms:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
