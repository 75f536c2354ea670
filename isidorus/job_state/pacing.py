"""Fairness between jobs on the shared queues: each job's batches for a paced stage wait
in its own `held` list in Redis, and only a few at a time stand in the stage's queue
(docs/fairness.md).

A queue is first in, first out, so without pacing a new job's first batch waits behind
the whole backlog of every big job already running. Here a job has at most `window`
batches in a stage's line (published, not yet finished); the window is the stage's worker
processes seen recently, times CRAWL_PACE_FACTOR, shared among the jobs paced recently on
that stage (at least CRAWL_PACE_MIN_BATCHES). So each paced queue holds about two rounds
of its fleet's work, whatever the jobs' sizes, and a new job waits behind that, not
behind 20,000 pages. A job whose whole backlog on the stage (held and in line) is at most
CRAWL_PACE_SMALL_BACKLOG batches has it all released at once, and while such a job is
active on the stage, a job with a bigger backlog keeps one batch in line there: a small
job takes its turn ahead of a big one's next rounds instead of sharing every round with
it, and a big job never stops (shortest backlog first).

Paced stages: the scraper (where a job's work multiplies) and the two enrichment stages
(the writer hands each batch's summaries and images over at once, and those stages may
be far slower than the scrapers). The writer is not paced: it gets one message per scrape
batch, so its queue follows the scrapers' pace.

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

from config.queues import IMAGE_EXTRACTOR, PACED_STAGES, PAGE_SUMMARIZER, SCRAPER
from isidorus.integrations.redis_client import as_text, get_redis
from isidorus.job_state.keys import job_key, tombstone_key
from isidorus.job_state.scripts import run

# A stage's processes that finished a batch this recently count towards its window, and
# jobs paced this recently share it. An enrichment batch may wait on a slow LLM for tens of
# seconds, so its processes are remembered longer.
RECENT_SECONDS = {SCRAPER: 30, PAGE_SUMMARIZER: 90, IMAGE_EXTRACTOR: 90}


@dataclass(frozen=True)
class Released:
    task_id: str  # the message's task id: its claim token, and its slot in line
    wire: str  # the message body, JSON


def fleet_key(stage: str) -> str:
    return f"pacing:fleet:{stage}"


def paced_jobs_key(stage: str) -> str:
    return f"pacing:jobs:{stage}"


def small_jobs_key(stage: str) -> str:
    """Jobs whose whole backlog on the stage is small, by when they last paced."""
    return f"pacing:small:{stage}"


def _job_keys(job_id: str, stage: str) -> list[str]:
    return [job_key(job_id, f"{name}:{stage}") for name in ("held", "line", "releasing")]


def line_key(job_id: str, stage: str) -> str:
    return _job_keys(job_id, stage)[1]


def pace(
    *, stage: str, job_id: str, token: str, new: list[str], stage_worker: bool = True
) -> list[Released]:
    """Hold `new` batches (message bodies, JSON) of `stage`, free `token`'s slot in the
    job's line for it, and return the held batches that may be published now, oldest first.

    `stage_worker`: the caller is one of the stage's processes, finishing a batch (it
    counts towards the stage's fleet); the writer handing enrichment over is not.
    Call pace_done(stage, job_id, token) once they are all published."""
    if stage not in PACED_STAGES:
        raise ValueError(f"stage {stage!r} is not paced; paced: {PACED_STAGES}")
    keys = [
        *_job_keys(job_id, stage), fleet_key(stage), paced_jobs_key(stage), tombstone_key(job_id),
        small_jobs_key(stage),
    ]  # fmt: skip
    args: list[str | float | int] = [
        time.time(), token, _worker() if stage_worker else "", job_id,
        settings.CRAWL_PACE_SLOT_SECONDS, RECENT_SECONDS[stage],
        settings.CRAWL_PACE_MIN_BATCHES, settings.CRAWL_PACE_FACTOR,
        settings.CRAWL_PACE_SMALL_BACKLOG,
    ]  # fmt: skip
    args += [f"{uuid.uuid4().hex}\t{wire}" for wire in new]
    released = []
    for raw in run("pace", keys, args):
        task_id, _, wire = as_text(raw).partition("\t")
        released.append(Released(task_id, wire))
    return released


def pace_done(stage: str, job_id: str, token: str) -> None:
    get_redis().hdel(_job_keys(job_id, stage)[2], token)


def pace_reset(job_id: str) -> None:
    """Forget the job's held batches and lines on every stage: the reaper re-publishes all
    its open items."""
    get_redis().delete(*[key for stage in PACED_STAGES for key in _job_keys(job_id, stage)])


def line_newest(stage: str, job_id: str) -> float | None:
    """When the job's newest batch in the stage's line was published (unix seconds), if any."""
    newest = get_redis().zrevrange(line_key(job_id, stage), 0, 0, withscores=True)
    return float(newest[0][1]) if newest else None


def held_counts(stage: str, job_ids: list[str]) -> dict[str, int]:
    """How many batches of the stage each job holds back."""
    pipe = get_redis().pipeline(transaction=False)
    for job_id in job_ids:
        pipe.llen(_job_keys(job_id, stage)[0])
    return {job_id: int(n) for job_id, n in zip(job_ids, pipe.execute(), strict=True)}


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
