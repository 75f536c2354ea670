"""GET /metrics: Prometheus' text for this host's processes (isidorus/integrations/metrics.py),
with what is read at scrape time: each queue's and dead-letter queue's depth (SQS) and
oldest message's age, the scrape batches held back for fairness (Redis), and the jobs by
status (PostgreSQL).

Only for a client in METRICS_ALLOWED_NETWORKS (loopback by default) or one that sends
`Authorization: Bearer <METRICS_TOKEN>`; anyone else gets a 404, as for a page that is not
there. A store that does not answer leaves its series out for that scrape, rather than
failing the whole scrape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import redis
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from config.queues import STAGES, queue_spec
from isidorus import job_state
from isidorus.core.client_address import client_address, trusted_networks
from isidorus.core.metrics_access import scrape_allowed
from isidorus.integrations.aws import sqs_client
from isidorus.integrations.dead_letters import dlq_depth
from isidorus.integrations.metrics import exposition
from isidorus.integrations.queue_heads import QueueHead, queue_heads
from isidorus.integrations.redis_client import get_redis
from isidorus.scrapings.models import JobStatus, Scraping

logger = logging.getLogger(__name__)
_DEPTH_ATTRIBUTES = {
    "visible": "ApproximateNumberOfMessages",
    "in_flight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}


class QueueCollector(Collector):
    """Each stage's queue depth by state and its oldest message's age (an upper bound, from
    the send times the workers note: isidorus/integrations/queue_heads.py), and its DLQ's
    depth and oldest message's age (sampled from the DLQ itself)."""

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "isidorus_queue_messages", "Messages in a stage's queue, by state",
            labels=["queue", "state"],
        )  # fmt: skip
        dlq = GaugeMetricFamily(
            "isidorus_dlq_messages", "Messages in a stage's dead-letter queue", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "isidorus_dlq_oldest_message_age_seconds",
            "Age of the oldest dead letter seen (sampled)",
            labels=["queue"],
        )
        oldest = GaugeMetricFamily(
            "isidorus_queue_oldest_message_age_seconds",
            "Age of a stage queue's oldest waiting message (upper bound; 0 when empty)",
            labels=["queue"],
        )
        heads = self._heads()
        now_ms = time.time() * 1000
        sqs = sqs_client()
        for stage in STAGES:
            spec = queue_spec(stage)
            try:
                url = sqs.get_queue_url(QueueName=spec.name)["QueueUrl"]
                found = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=list(_DEPTH_ATTRIBUTES.values())
                )["Attributes"]
                letters = dlq_depth(stage)
            except (BotoCoreError, ClientError) as error:
                logger.warning("metrics: queue %s unreadable: %s", spec.name, error)
                continue
            for state, attribute in _DEPTH_ATTRIBUTES.items():
                depth.add_metric([spec.name, state], float(found.get(attribute, 0)))
            waiting = int(found.get(_DEPTH_ATTRIBUTES["visible"], 0))
            if not waiting:
                oldest.add_metric([spec.name], 0.0)
            elif spec.name in heads:
                oldest.add_metric([spec.name], max(0.0, (now_ms - heads[spec.name].sent_ms) / 1000))
            dlq.add_metric([spec.dlq_name], float(letters.messages))
            if letters.oldest_age_seconds is not None:
                age.add_metric([spec.dlq_name], letters.oldest_age_seconds)
        yield from (depth, oldest, dlq, age)

    @staticmethod
    def _heads() -> dict[str, QueueHead]:
        try:
            return queue_heads()
        except redis.RedisError as error:
            logger.warning("metrics: queue heads unreadable: %s", error)
            return {}


class HeldCollector(Collector):
    """Batches the running jobs hold back for fairness on each paced stage
    (isidorus/job_state/pacing.py): backlog that SQS's depth does not show, for scaling
    that stage's workers on."""

    def collect(self) -> Iterator[Metric]:
        held = GaugeMetricFamily(
            "isidorus_held_batches", "Batches held back by pacing, all jobs", labels=["stage"]
        )
        try:
            active = [str(job) for job in get_redis().zrange(job_state.ACTIVE_JOBS, 0, -1)]
            stages = job_state.PACED_STAGES
            counts = {stage: job_state.held_counts(stage, active) for stage in stages}
        except redis.RedisError as error:
            logger.warning("metrics: held batches unreadable: %s", error)
            return
        for stage, by_job in counts.items():
            held.add_metric([stage], float(sum(by_job.values())))
        yield held


class JobCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("isidorus_jobs", "Jobs, by status", labels=["status"])
        try:
            counts = dict(
                Scraping.objects.values_list("status")
                .annotate(n=Count("pk"))
                .values_list("status", "n")
            )
        except DatabaseError as error:
            logger.warning("metrics: jobs unreadable: %s", error)
            return
        for status in JobStatus.values:
            jobs.add_metric([status], float(counts.get(status, 0)))
        yield jobs


def _allowed(request: HttpRequest) -> bool:
    address = client_address(
        peer=str(request.META.get("REMOTE_ADDR") or ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        proxies=trusted_networks(tuple(settings.ISIDORUS_TRUSTED_PROXIES)),
    )
    return scrape_allowed(address, request.headers.get("Authorization", ""))


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404
    body, content_type = exposition([QueueCollector(), HeldCollector(), JobCollector()])
    return HttpResponse(body, content_type=content_type)
