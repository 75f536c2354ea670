"""Fairness between jobs on the shared scrape queue: each job's scrape batches wait in
its own `held` list in Redis, and only a few at a time stand in the queue (docs/fairness.md).

The queue is first in, first out, so without pacing a new job's first batch waits behind
the whole frontier of every big job already running. Here a job has at most `window`
batches in line (published, not yet finished); the window is the scraper processes seen
recently, times CRAWL_PACE_FACTOR, shared among the jobs paced recently (at least
CRAWL_PACE_MIN_BATCHES). So the queue holds about two rounds of the fleet's work,
whatever the jobs' sizes, and a new job waits behind that, not behind 20,000 pages.

Held batches are already admitted: their items are open, so completion is unchanged. A
delivery that released batches records them under its token until it has published them,
so its redelivery after a crash publishes them again (duplicates are dropped by the
claims). A slot in line expires after CRAWL_PACE_SLOT_SECONDS, so a lost message cannot
narrow a job's window for good.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

from django.conf import settings

from isidorus.integrations.redis_client import as_text, get_redis
from isidorus.job_state.keys import job_key, tombstone_key
from isidorus.job_state.scripts import run

# Scraper processes that finished a batch this recently count towards the window, and
# jobs that were paced this recently share it.
RECENT_SECONDS = 30
FLEET = "pacing:fleet"
PACED_JOBS = "pacing:jobs"


@dataclass(frozen=True)
class Released:
    task_id: str  # the message's task id: its claim token, and its slot in line
    wire: str  # the scrape message body, JSON


def pace(*, job_id: str, token: str, new: list[str]) -> list[Released]:
    """Hold `new` batches (message bodies, JSON), free `token`'s slot in the job's line,
    and return the held batches that may be published now, oldest first.

    Call pace_done(job_id, token) once they are all published."""
    keys = [
        job_key(job_id, "held"), job_key(job_id, "line"), job_key(job_id, "releasing"),
        FLEET, PACED_JOBS, tombstone_key(job_id),
    ]  # fmt: skip
    args: list[str | float | int] = [
        time.time(), token, _worker(), job_id,
        settings.CRAWL_PACE_SLOT_SECONDS, RECENT_SECONDS,
        settings.CRAWL_PACE_MIN_BATCHES, settings.CRAWL_PACE_FACTOR,
    ]  # fmt: skip
    args += [f"{uuid.uuid4().hex}\t{wire}" for wire in new]
    released = []
    for raw in run("pace", keys, args):
        task_id, _, wire = as_text(raw).partition("\t")
        released.append(Released(task_id, wire))
    return released


def pace_done(job_id: str, token: str) -> None:
    get_redis().hdel(job_key(job_id, "releasing"), token)


def pace_reset(job_id: str) -> None:
    """Forget the job's held batches and line: the reaper re-publishes all its open items."""
    names = ("held", "line", "releasing")
    get_redis().delete(*[job_key(job_id, name) for name in names])


def line_newest(job_id: str) -> float | None:
    """When the job's newest batch in line was published (unix seconds), if any."""
    newest = get_redis().zrevrange(job_key(job_id, "line"), 0, 0, withscores=True)
    return float(newest[0][1]) if newest else None


def held_counts(job_ids: list[str]) -> dict[str, int]:
    """How many batches each job holds back."""
    pipe = get_redis().pipeline(transaction=False)
    for job_id in job_ids:
        pipe.llen(job_key(job_id, "held"))
    return {job_id: int(n) for job_id, n in zip(job_ids, pipe.execute(), strict=True)}


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
