#!/usr/bin/env python3
"""Run the crash tests N times in a row and count the passes (issue 7: "ten repeated runs of
the crash tests all pass").

    .venv/bin/python scripts/repeat_crash_tests.py --runs 10
    .venv/bin/python scripts/repeat_crash_tests.py --scenario enrichment --runs 20
    .venv/bin/python scripts/repeat_crash_tests.py --runs 10 --workers 2   (as make test runs)

Each run is one pytest session. The `crash` scenario (the default) runs the crash tests
(real workers SIGKILLed, a PostgreSQL backend terminated, PostgreSQL restarted, Redis
restarted, Redis and DynamoDB frozen, duplicate and poison messages). The `enrichment`
scenario (issue 19) runs the enrichment crash loop on a 1,500-page site, killing the
scraper, writer and image-extractor groups twice at times drawn at random for each run
(seeded by --seed, so a failing run can be replayed). The local stack must be up
(`make stack-up`); the test settings pick the database, Redis DB and queue namespace, so
the usual DATABASE_URL / REDIS_URL / ISIDORUS_NAMESPACE overrides apply. Prints one line
per run and a summary; exits 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from isidorus.core.local_aws import local_aws_environment  # noqa: E402

CRASH_TESTS = (
    "tests/e2e/test_completion.py::test_a_worker_killed_mid_crawl_loses_and_duplicates_nothing",
    "tests/e2e/test_enrichment_crash.py",
    "tests/e2e/test_database_drop.py",
    "tests/e2e/test_redis_restart.py",
    "tests/e2e/test_store_pauses.py",
    "tests/e2e/test_localstack_restart.py",
    "tests/e2e/test_postgres_restart.py::test_a_postgresql_restart_mid_crawl_completes_exactly",
    "tests/e2e/test_completion.py::test_every_message_delivered_twice_gives_the_same_results",
    "tests/e2e/test_completion.py::test_a_poison_url_is_recorded_as_failed_and_the_job_still_ends",
    "tests/e2e/test_completion.py::test_the_reaper_fails_a_job_whose_workers_are_gone",
    "tests/e2e/test_celery_sqs.py::test_a_worker_killed_mid_task_gets_its_message_back",
    "tests/e2e/test_celery_sqs.py::test_a_poison_task_ends_in_the_dead_letter_queue",
    "tests/e2e/test_celery_sqs.py::test_an_undecodable_message_ends_in_the_dead_letter_queue",
    "tests/e2e/test_crash_loop_enrichment.py",
)
ENRICHMENT_LOOP = ("tests/e2e/test_crash_loop_enrichment.py",)
ENRICHMENT_PAGES = 1500

# The same local endpoints and fixed credentials as `make test`: nothing reaches real AWS.
LOCAL_AWS = local_aws_environment()


@dataclass
class RunResult:
    number: int
    seconds: float
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    exit_code: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.failed and bool(self.passed)


def _read_report(path: Path, result: RunResult) -> None:
    if not path.exists():
        return
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        broken = case.find("failure") is not None or case.find("error") is not None
        if broken:
            result.failed.append(name)
        elif case.find("skipped") is None:
            result.passed.append(name)


def enrichment_environment(rng: random.Random) -> dict[str, str]:
    """A 1,500-page run with two kills: the first 2-12 s into the crawl (the scrape takes
    about 12 s here, enrichment about 30 s more), the second 6-16 s after it (the workers take
    about 5 s to start again)."""
    first = rng.uniform(2, 12)
    second = first + rng.uniform(6, 16)
    return {
        "CRASH_LOOP_PAGES": str(ENRICHMENT_PAGES),
        "CRASH_LOOP_PAGE_DELAY": "0.05",
        "CRASH_LOOP_KILL_AT": f"{first:.1f},{second:.1f}",
    }


def run_once(
    number: int, tests: list[str], log_dir: Path, extra: list[str], env_extra: dict[str, str]
) -> RunResult:
    report = log_dir / f"run-{number:02d}.xml"
    log = log_dir / f"run-{number:02d}.log"
    command = [sys.executable, "-m", "pytest", "-q", "-rP", f"--junitxml={report}", *extra, *tests]
    env = {**LOCAL_AWS, **os.environ, **env_extra}
    started = time.monotonic()
    with log.open("wb") as output:
        completed = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, check=False
        )
    result = RunResult(number, time.monotonic() - started, exit_code=completed.returncode)
    _read_report(report, result)
    text = log.read_text(errors="replace")
    result.details = re.findall(r"^\d+ pages, done in .*$|^[\d.]+s \(.*\)$", text, re.MULTILINE)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="how many runs (default 10)")
    parser.add_argument("--log-dir", type=Path, help="keep each run's output and report here")
    parser.add_argument("-k", dest="keyword", help="only the crash tests matching this")
    parser.add_argument("--scenario", choices=("crash", "enrichment"), default="crash")
    parser.add_argument("--seed", type=int, default=19, help="seed of the enrichment kill times")
    parser.add_argument(
        "--workers", type=int, default=0,
        help="pytest-xdist processes per run, as make test runs them (default 0: one process)",
    )  # fmt: skip
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    tests = list(ENRICHMENT_LOOP if arguments.scenario == "enrichment" else CRASH_TESTS)

    log_dir = arguments.log_dir or Path(tempfile.mkdtemp(prefix="isidorus-crash-runs-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    extra = ["-k", arguments.keyword] if arguments.keyword else []
    if arguments.workers:
        extra += ["-n", str(arguments.workers), "--dist", "worksteal"]
    selections = f"{len(tests)} {arguments.scenario} test selection(s)"
    print(f"{arguments.runs} runs of {selections}; logs in {log_dir}")
    results: list[RunResult] = []
    for number in range(1, arguments.runs + 1):
        env_extra = enrichment_environment(rng) if arguments.scenario == "enrichment" else {}
        if env_extra:
            print(f"run {number:2d}: kills at {env_extra['CRASH_LOOP_KILL_AT']} s", flush=True)
        result = run_once(number, tests, log_dir, extra, env_extra)
        results.append(result)
        verdict = "PASS" if result.ok else f"FAIL (pytest exit {result.exit_code})"
        print(
            f"run {number:2d}/{arguments.runs}: {verdict}: {len(result.passed)} passed, "
            f"{len(result.failed)} failed in {result.seconds:.0f}s",
            flush=True,
        )
        for name in result.failed:
            print(f"    failed: {name}", flush=True)
        for line in result.details:
            print(f"    {line}", flush=True)

    passes = sum(result.ok for result in results)
    seconds = [result.seconds for result in results]
    print(
        f"\n{passes}/{len(results)} runs passed; wall time per run: min {min(seconds):.0f}s, "
        f"median {statistics.median(seconds):.0f}s, max {max(seconds):.0f}s"
    )
    failures = Counter(name for result in results for name in result.failed)
    for name, count in failures.most_common():
        print(f"  {count} failure(s): {name}")
    return 0 if passes == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
