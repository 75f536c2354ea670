"""Jobs whose messages or staged batches vanished with their store.

A LocalStack restart (its community edition keeps no state), or a queue or bucket deleted
and created again, silently drops every message and staged object in it. The job's open
work in Redis then waits for messages that will never come. Rather than let the reaper
find a generic stall minutes later, each pass compares the stores' creation times with
the jobs' start: a store that is missing, or was created after a job started, lost that
job's work, and the job ends FAILED with a reason naming the store.

An unreachable store (connection refused, timeout) proves nothing and is not a loss: the
check is skipped until it answers again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from config.queues import all_queue_specs
from isidorus.integrations.store_epochs import bucket_created_at, queue_created_at
from isidorus.scrapings.jobs import job_finish
from isidorus.scrapings.models import JobStatus, Scraping
from isidorus.scrapings.services.unfinished import job_record_unfinished

logger = logging.getLogger(__name__)
STORE_LOST = "store_lost"
SQS_LOST = "sqs_lost"
S3_LOST = "s3_lost"
QUEUES_NAMED = 3


@dataclass(frozen=True)
class StoreEpoch:
    kind: str  # SQS_LOST or S3_LOST: the reason's prefix
    name: str
    created_at: datetime | None  # None: the store does not exist


def _names(stores: list[StoreEpoch]) -> str:
    names = [store.name for store in stores]
    more = f" and {len(names) - QUEUES_NAMED} more" if len(names) > QUEUES_NAMED else ""
    return ", ".join(names[:QUEUES_NAMED]) + more


def _describe(kind: str, missing: list[StoreEpoch], recreated: list[StoreEpoch]) -> str:
    noun, contents = ("queue", "messages") if kind == SQS_LOST else ("bucket", "staged batches")
    parts = []
    if missing:
        plural = "s" if len(missing) > 1 else ""
        parts.append(f"{noun}{plural} {_names(missing)} not found")
    if recreated:
        plural = "s" if len(recreated) > 1 else ""
        parts.append(f"{noun}{plural} {_names(recreated)} recreated after the job started")
    owner = "its" if len(missing) + len(recreated) == 1 else "their"
    return f"{kind}: {'; '.join(parts)}; {owner} {contents} are gone"


def lost_store_reason(
    job_started: datetime, stores: list[StoreEpoch], *, skew: timedelta
) -> str | None:
    """The reason a job that started at `job_started` lost work, or None if it did not.

    A store created up to `skew` after the start counts as older than the job (clocks of
    the host and of the store differ a little; a job started in the same seconds as a fresh
    bootstrap has not lost anything).
    """
    findings = []
    for kind in (SQS_LOST, S3_LOST):
        of_kind = [store for store in stores if store.kind == kind]
        missing = [store for store in of_kind if store.created_at is None]
        recreated = [
            store
            for store in of_kind
            if store.created_at is not None and store.created_at > job_started + skew
        ]
        if missing or recreated:
            findings.append(_describe(kind, missing, recreated))
    return "; ".join(findings) or None


def store_epochs_read() -> list[StoreEpoch]:
    """Every queue the pipeline uses (dead-letter queues included) and the bucket."""
    stores = []
    for spec in all_queue_specs():
        for name in (spec.name, spec.dlq_name):
            stores.append(StoreEpoch(SQS_LOST, name, queue_created_at(name)))
    stores.append(StoreEpoch(S3_LOST, settings.S3_BUCKET, bucket_created_at(settings.S3_BUCKET)))
    return stores


def jobs_fail_lost_store() -> dict[str, str]:
    """Fail every unfinished job that a lost store took work from; {job id: action}."""
    if not settings.STORE_LOSS_CHECK:
        return {}
    jobs = list(
        Scraping.objects.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).values_list(
            "pk", "created_at"
        )[:500]
    )
    if not jobs:
        return {}
    try:
        stores = store_epochs_read()
    except (BotoCoreError, ClientError) as error:
        logger.warning("store loss check skipped: a store did not answer (%s)", error)
        return {}
    skew = timedelta(seconds=settings.STORE_LOSS_SKEW_SECONDS)
    actions: dict[str, str] = {}
    for job_id, created_at in jobs:
        # The job's first message is sent after its row is created, so created_at bounds
        # from below everything it has put in a store.
        reason = lost_store_reason(created_at, stores, skew=skew)
        if reason is None:
            continue
        key = str(job_id)
        job_finish(key, status=JobStatus.FAILED, reason=reason)
        job_record_unfinished(key, STORE_LOST)
        logger.error("job %s failed: %s", key, reason)
        actions[key] = f"failed: {reason.split(':', 1)[0]}"
    return actions
