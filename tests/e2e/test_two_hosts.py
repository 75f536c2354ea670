"""Two worker "hosts" share one job, and one of them dies mid-crawl (issue 14).

Each host's workers (a scraper and a writer) run in their own UTS and mount namespaces
(`unshare -u -m`): their own host name, HOME, TMPDIR (a tmpfs in their mount namespace) and
Prometheus directory; only the loopback network, and so the stores, are shared, as
between machines. Host A is SIGKILLed, every process of it, once pages are being written;
the job must still complete exactly on host B.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from isidorus.scrapings.models import Page
from scripts.processes import STACK_DIR
from tests.e2e.crawling import assert_completed_exactly, start_crawl, wait_terminal
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for

# Needs root (unshare's namespaces), as make test runs here; never skipped.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
# The worker starts with a host name and a TMPDIR of its own (a tmpfs mounted in its mount
# namespace: the other host and the test see an empty directory), then execs its command.
HOST = 'hostname "$0" && mount -t tmpfs tmpfs "$TMPDIR" && exec "$@"'


def _host(name: str, root: Path) -> tuple[list[str], dict[str, str]]:
    home, tmp, metrics = root / name / "home", root / name / "tmp", root / name / "metrics"
    for directory in (home, tmp, metrics):
        directory.mkdir(parents=True)
    wrapper = ["unshare", "--uts", "--mount", "sh", "-c", HOST, name]
    env = {"HOME": str(home), "TMPDIR": str(tmp), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    return wrapper, env


@pytest.fixture
def hosts_root() -> Iterator[Path]:
    """The hosts' directories, beside the test workers' logs."""
    root = STACK_DIR / "test-hosts" / f"{os.getpid()}-{time.monotonic_ns()}"
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_two_hosts_share_a_job_and_one_dying_loses_nothing(
    start_worker: Any, redis_clean: Any, hosts_root: Path
) -> None:
    routes = generated_routes(60, links_per_page=4, delay=0.15)
    expected = reachable_within(routes, 6)
    hosts = {name: _host(name, hosts_root) for name in ("host-a", "host-b")}
    with FixtureSite(routes) as site:
        workers = {
            (name, stage): start_worker(
                stages=[stage], name=f"{stage}-{name}", concurrency=1, wrapper=wrapper, env=env
            )
            for name, (wrapper, env) in hosts.items()
            for stage in ("scraper", "writer")
        }
        job_id = start_crawl(site.url("/"), depth=6)
        wait_for(
            lambda: Page.objects.filter(scraping_id=job_id).count() >= 8,
            timeout=60, message="pages written by both hosts before the kill",
        )  # fmt: skip
        for stage in ("scraper", "writer"):
            workers[("host-a", stage)].kill()
        item = wait_terminal(job_id, timeout=180)

    assert_completed_exactly(job_id, item, site.origin, expected)
    # Each worker ran on its own host name and did work there.
    for (name, stage), worker in workers.items():
        log = worker.log_path.read_text(errors="replace")
        assert f"{stage}-{name}@{name}" in log
        assert "succeeded" in log, (name, stage)
    for name in hosts:
        assert any((hosts_root / name / "metrics").iterdir()), name
