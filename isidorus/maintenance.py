"""Periodic repairs: the reaper (stalled jobs, launches that never happened) and the
dead-letter drainer (poison messages become failed pages, so their job still ends)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from config.queues import STAGES, queue_spec
from isidorus import job_state
from isidorus.contracts import (
    DELIVER_WEBHOOK,
    EXPAND,
    EXTRACT_IMAGE,
    SCRAPE,
    SUMMARIZE,
    WRITE,
)
from isidorus.crawling.urls import url_fingerprint
from isidorus.enrichment.recovery import enrichment_record_poisoned, enrichment_republish
from isidorus.integrations.aws import sqs_client
from isidorus.integrations.dead_letters import decode_celery_message
from isidorus.integrations.metrics import DEAD_LETTERS
from isidorus.integrations.queue_heads import queue_heads
from isidorus.scrapings.jobs import job_finish, job_is_stopped
from isidorus.scrapings.models import DeliveryStatus, JobStatus, Scraping, WebhookDelivery
from isidorus.scrapings.retention import jobs_archive_missed
from isidorus.scrapings.services.finish import job_fail_lost_state, job_finish_if_done
from isidorus.scrapings.services.staging_lost import items_record_lost, items_republish
from isidorus.scrapings.services.start import scraping_launch
from isidorus.scrapings.services.store_loss import jobs_fail_lost_store
from isidorus.scrapings.services.unfinished import job_record_unfinished
from isidorus.scrapings.webhooks.delivery import republish_overdue

logger = logging.getLogger(__name__)
STUCK_NAMED = 5
POISON = "poison"
STALLED = "stalled"


def _republish(job_id: str, items: dict[str, dict[str, Any]]) -> None:
    # Every open page goes back through pacing: what the job held or had in line is among
    # them, so that is started afresh rather than published twice.
    job_state.pace_reset(job_id)
    token = f"reaper:{uuid.uuid4().hex}"
    items_republish(job_id, items, token=token)
    enrichment_republish(job_id, items, token=token)


def _waiting_in_line(job_id: str, stall: float) -> bool:
    """The job's paced batches stand in a paced stage's queue behind other jobs' work, and
    the workers are still taking messages from it: it is waiting its turn, not stalled. Its
    batches were published after the newest message a worker has received from the queue
    (isidorus/integrations/queue_heads.py), which a worker received less than `stall` ago.
    With no worker taking messages, the job stalls as before."""
    heads = queue_heads()
    now_ms = time.time() * 1000
    for stage in job_state.PACED_STAGES:
        newest = job_state.line_newest(stage, job_id)
        head = heads.get(queue_spec(stage).name)
        if newest is None or head is None:
            continue
        if now_ms - head.received_ms < stall * 1000 and newest * 1000 > head.sent_ms:
            return True
    return False


def _stuck_reason(stall_seconds: float, items: dict[str, dict[str, Any]]) -> str:
    urls = [str(payload.get("u", item)) for item, payload in sorted(items.items())]
    named = ", ".join(urls[:STUCK_NAMED])
    more = f" and {len(urls) - STUCK_NAMED} more" if len(urls) > STUCK_NAMED else ""
    return f"no progress for {int(stall_seconds)}s; stuck: {named}{more}"


def reap_stalled_jobs(*, stall_seconds: float | None = None) -> dict[str, str]:
    """Fail jobs that lost work with a store; re-publish a stalled job's open items once,
    and fail it if it stalls again after that."""
    stall = float(stall_seconds if stall_seconds is not None else settings.REAPER_STALL_SECONDS)
    # First, so a job whose messages vanished with their store fails naming the store,
    # not later as a generic stall.
    actions = jobs_fail_lost_store()
    for job_id in job_state.stalled_jobs(stall):
        if job_is_stopped(job_id):
            job_state.deactivate(job_id)
            continue
        if _waiting_in_line(job_id, stall):
            actions[job_id] = "waiting in line"
            continue
        items = job_state.open_items(job_id)
        if not items:
            job_finish_if_done(job_id)
            actions[job_id] = "finished"
            continue
        if job_state.republish_once(job_id):
            _republish(job_id, items)
            actions[job_id] = "republished"
        else:
            job_finish(job_id, status=JobStatus.FAILED, reason=_stuck_reason(stall, items))
            job_record_unfinished(job_id, STALLED)
            actions[job_id] = "failed"
    actions.update(_recover_launches(stall))
    actions.update(_fail_jobs_with_lost_state())
    actions.update(jobs_archive_missed())
    republish_overdue()
    return actions


def _fail_jobs_with_lost_state() -> dict[str, str]:
    """Running jobs whose Redis state vanished (e.g. Redis restarted without persistence)
    can never prove completion; without this they would stay RUNNING forever."""
    actions: dict[str, str] = {}
    running = Scraping.objects.filter(status=JobStatus.RUNNING).values_list("pk", flat=True)
    for job_id in running[:500]:
        key = str(job_id)
        if not job_state.state_exists(key) and not job_state.is_buried(key):
            job_fail_lost_state(key)
            actions[key] = "failed: state lost"
    return actions


def _recover_launches(stall: float) -> dict[str, str]:
    """Jobs whose launch (after the row committed) never happened: relaunch once, then fail."""
    actions: dict[str, str] = {}
    cutoff = timezone.now() - timedelta(seconds=stall)
    for job_id in Scraping.objects.filter(
        status=JobStatus.QUEUED, created_at__lt=cutoff
    ).values_list("pk", flat=True)[:100]:
        key = str(job_id)
        if job_state.get_flag(key, job_state.Flag.LAUNCHED):
            continue
        if job_state.set_flag(key, job_state.Flag.LAUNCH_RETRIED):
            try:
                scraping_launch(job_id=key)
                actions[key] = "relaunched"
            except Exception:
                logger.exception("relaunch of job %s failed", key)
        else:
            job_finish(key, status=JobStatus.FAILED, reason="the job could not be started")
            actions[key] = "failed"
    return actions


def _poisoned_items(task: str, argument: Any) -> tuple[str, list[str]] | None:
    """(job id, the work items) of a dead-lettered scrape, expand or write message."""
    if not isinstance(argument, dict) or not isinstance(argument.get("job"), str):
        return None
    listed = [item for item in argument.get("items", []) if isinstance(item, dict | str)]
    entries = [e for e in listed if isinstance(e, dict) and isinstance(e.get("u"), str)]
    if task == SCRAPE.name:
        items = [job_state.page_item(url_fingerprint(e["u"])) for e in entries]
    elif task == EXPAND.name:
        items = [
            job_state.expand_item(url_fingerprint(e["u"]), int(e.get("d", 0))) for e in entries
        ]
    elif task == WRITE.name:
        items = [item for item in listed if isinstance(item, str)]
    else:
        return None
    return argument["job"], items


def record_poisoned(job_id: str, items: list[str]) -> None:
    """Record the still-open items as lost with reason `poison` (failed page rows) and
    close them, so the job still ends."""
    if not items or Scraping.objects.filter(pk=job_id).first() is None or job_is_stopped(job_id):
        return
    open_now = job_state.open_items(job_id)
    entries = {item: open_now[item] for item in items if item in open_now}
    digest = hashlib.sha1(json.dumps(sorted(entries)).encode()).hexdigest()[:24]
    items_record_lost(job_id, f"{POISON}-{digest}", entries, POISON)


def _record_dead_letter(task: str, argument: Any) -> bool:
    """Record a dead-lettered task message's work as failed (poison); False if unknown."""
    if task == DELIVER_WEBHOOK.name:
        delivery = argument.get("delivery") if isinstance(argument, dict) else None
        if not isinstance(delivery, int):
            return False
        WebhookDelivery.objects.filter(pk=delivery, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.GIVEN_UP, last_error=POISON
        )
        return True
    if task in (SUMMARIZE.name, EXTRACT_IMAGE.name):
        if not isinstance(argument, dict) or not isinstance(argument.get("job"), str):
            return False
        kind, body = (
            ("summary", SUMMARIZE.body) if task == SUMMARIZE.name else ("image", EXTRACT_IMAGE.body)
        )
        ids = [int(i) for i in argument.get(body.ROWS_KEY, []) if isinstance(i, int)]
        enrichment_record_poisoned(job_id=argument["job"], kind=kind, ids=ids)
        return True
    poisoned = _poisoned_items(task, argument)
    if poisoned is None:
        return False
    record_poisoned(*poisoned)
    return True


def drain_dead_letters(*, max_messages: int = 200) -> int:
    """Read every stage's DLQ; record each message's work as failed (poison) and close it."""
    sqs = sqs_client()
    handled = 0
    for stage in STAGES:
        url = sqs.get_queue_url(QueueName=queue_spec(stage).dlq_name)["QueueUrl"]
        while handled < max_messages:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                decoded = decode_celery_message(message["Body"])
                if decoded is None or not _record_dead_letter(*decoded):
                    logger.error("dead letter in %s is not a known task message; dropped", stage)
                DEAD_LETTERS.labels(stage).inc()
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1
    return handled
