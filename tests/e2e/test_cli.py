"""`manage.py crawl`: the API's options and validation, and Ctrl-C stops the job too;
`manage.py jobs` and `manage.py job ID` read any job back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from isidorus.integrations.job_table import job_item_get
from isidorus.scrapings.models import JobStatus, Scraping

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["ftp://example.com/"], "url:"),
        (["http://127.0.0.1:9/", "--include", "("], "include:"),
        (["http://127.0.0.1:9/", "--depth", "99"], "depth:"),
        (["http://127.0.0.1:9/", "--token-budget", "0"], "token_budget:"),
    ],
)
def test_the_cli_refuses_what_the_api_refuses(
    arguments: list[str], complaint: str, aws_resources: Any, redis_clean: Any
) -> None:
    with pytest.raises(CommandError, match=complaint):
        call_command("crawl", *arguments)
    assert not Scraping.objects.exists()


@pytest.mark.parametrize("robots_flag", ["--no-robots", "--ignore-robots"])
def test_the_cli_passes_every_option(
    robots_flag: str, aws_resources: Any, redis_clean: Any
) -> None:
    call_command(
        "crawl", "http://127.0.0.1:9/", "--depth", "2", "--max-pages", "7", "--scope", "prefix",
        "--include", "/docs/", "--exclude", r"\.pdf$", robots_flag, "--follow-nofollow",
        "--sitemap", "skip", "--no-summaries", "--no-images", "--token-budget", "500",
    )  # fmt: skip
    job = Scraping.objects.get()
    assert (job.depth, job.max_pages, job.scope) == (2, 7, "prefix")
    assert (job.include, job.exclude) == (["/docs/"], [r"\.pdf$"])
    assert (job.respect_robots, job.follow_nofollow, job.sitemap) == (False, True, "skip")
    assert (job.summarize, job.describe_images, job.token_budget) == (False, False, 500)


def test_ctrl_c_while_waiting_cancels_the_job(
    worker_env: dict[str, str], aws_resources: Any, redis_clean: Any
) -> None:
    # No worker runs: the job waits in the queue until the interrupt cancels it.
    command = [sys.executable, "manage.py", "crawl", "http://127.0.0.1:9/", "--wait"]
    env = {**worker_env, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert process.stdout is not None
        header = process.stdout.readline().decode()  # "job <id>: crawling ...": it waits now
        assert ": crawling http://127.0.0.1:9/" in header, header
        job = Scraping.objects.get()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert f"job {job.pk}: cancelled" in output.decode()
    assert job_item_get(str(job.pk))["status"] == "CANCELLED"  # type: ignore[index]
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_jobs_lists_and_job_prints_any_job(aws_resources: Any, redis_clean: Any) -> None:
    call_command("crawl", "http://127.0.0.1:9/", "--user", "alice", stdout=StringIO())
    call_command("crawl", "http://127.0.0.1:9/other", "--user", "bob", stdout=StringIO())
    alice_job = Scraping.objects.get(owner__username="alice")

    listed = StringIO()
    call_command("jobs", stdout=listed)
    lines = listed.getvalue().splitlines()
    assert len(lines) == 3  # the header, then both owners' jobs, newest first
    assert "bob" in lines[1]
    assert "alice" in lines[2]
    only_alice = StringIO()
    call_command("jobs", "--user", "alice", stdout=only_alice)
    assert str(alice_job.pk) in only_alice.getvalue()
    assert "bob" not in only_alice.getvalue()

    printed = StringIO()
    call_command("job", str(alice_job.pk), stdout=printed)
    assert f"job:     {alice_job.pk}  http://127.0.0.1:9/" in printed.getvalue()
    assert "status:  QUEUED" in printed.getvalue()
    as_json = StringIO()
    call_command("job", str(alice_job.pk), "--json", stdout=as_json)
    summary = json.loads(as_json.getvalue())
    assert (summary["id"], summary["status"]) == (str(alice_job.pk), "QUEUED")
    with pytest.raises(CommandError, match="no job"):
        call_command("job", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(CommandError, match="not a job id"):
        call_command("job", "nope")
