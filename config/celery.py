"""The Celery app: `celery -A config worker -Q <queue>`.

Broker is SQS through kombu. Settings are built here from Django settings so that each
choice sits next to its reason.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from celery.signals import task_postrun, task_prerun, task_retry, worker_init, worker_process_init
from kombu.entity import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("isidorus")
# Reuses before Celery's Django fixup force-closes a connection: never, in practice.
_NEVER = 2**62


def _broker_url(endpoint: str | None) -> tuple[str, bool]:
    """kombu derives the SQS endpoint from the broker URL's host; no host means real AWS."""
    if endpoint is None:
        return "sqs://", True
    parts = urlsplit(endpoint)
    port = f":{parts.port}" if parts.port else ""
    return f"sqs://@{parts.hostname}{port}", parts.scheme == "https"


def build_celery_config() -> dict[str, Any]:
    from django.conf import settings

    from config import queues

    broker_url, is_secure = _broker_url(settings.AWS_ENDPOINTS["sqs"])
    return {
        "broker_url": broker_url,
        # kombu's SQS transport, made to outlive an SQS endpoint or queue that goes away
        # (config/sqs_transport.py).
        "broker_transport": "config.sqs_transport:Transport",
        "broker_transport_options": {
            "region": settings.AWS_REGION,
            "is_secure": is_secure,
            "visibility_timeout": settings.SQS_VISIBILITY_TIMEOUT,
            # kombu polls one queue at a time: a long wait on an empty queue delays the
            # others, so keep the server-side wait short and the client sleep tiny.
            "wait_time_seconds": settings.SQS_WAIT_TIME_SECONDS,
            "polling_interval": settings.SQS_POLLING_INTERVAL,
            # Each message's send time, for how long the queue's head waited (metrics).
            "fetch_message_attributes": ["SentTimestamp"],
        },
        "broker_connection_retry_on_startup": True,
        # No result backend: chains pass results in the next message, and every side
        # effect lands in PostgreSQL, Redis or DynamoDB.
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_queues": [
            Queue(spec.name, routing_key=spec.name) for spec in queues.all_queue_specs()
        ],
        "task_default_queue": queues.queue_name(queues.SCRAPER),
        "task_create_missing_queues": False,
        # At-least-once: a message is deleted only after its task returns. A killed
        # worker's message reappears after the visibility timeout.
        "task_acks_late": True,
        # Celery's default acknowledges failed or timed-out tasks, so nothing would reach a
        # DLQ. Rejected instead, the message stays in SQS (kombu keeps it when the queue has
        # a redrive policy) and moves to the DLQ after SQS_MAX_RECEIVES receives.
        "task_acks_on_failure_or_timeout": False,
        # A pool child killed mid-task (OOM, SIGKILL) puts its message straight back.
        "task_reject_on_worker_lost": True,
        # Prefetched-but-unstarted messages age against the visibility timeout, so take
        # one at a time per process.
        "worker_prefetch_multiplier": 1,
        # Hard limit below the visibility timeout, so a message is never visible to another
        # worker while its first run is still going.
        "task_time_limit": settings.CELERY_TASK_TIME_LIMIT,
        "task_soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
        # SQS has no fanout: remote control and events would need pidbox queues.
        "worker_enable_remote_control": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        "worker_consumer": "config.celery_consumer:DeadLetteringConsumer",
        "worker_hijack_root_logger": False,
        # Celery's Django fixup closes every database connection before and after every
        # task unless this is set: each writer batch then paid for a new PostgreSQL backend
        # (fork, authentication, cold catalog caches and plans). Connections are recycled
        # the way Django does per request instead: close_old_connections() before each
        # task applies CONN_MAX_AGE and CONN_HEALTH_CHECKS (_recycle_old_connections).
        "CELERY_DB_REUSE_MAX": _NEVER,
        "include": [
            "tasks.smoke",
            "tasks.scrape",
            "tasks.expand",
            "tasks.write",
            "tasks.maintenance",
            "tasks.images",
            "tasks.summaries",
            "tasks.webhooks",
        ],
        # Periodic repairs; run `celery -A config beat` once per deployment.
        "beat_schedule": {
            "reap-stalled-jobs": {
                "task": "isidorus.reap",
                "schedule": float(settings.REAPER_INTERVAL_SECONDS),
            },
            "drain-dead-letters": {
                "task": "isidorus.drain_dead_letters",
                "schedule": float(settings.REAPER_INTERVAL_SECONDS),
            },
        },
        "beat_schedule_filename": settings.CELERY_BEAT_SCHEDULE_FILE,
    }


app.config_from_object(build_celery_config())
# The worker's own /metrics and /health/live port, when WORKER_METRICS_ADDRESS is set.
app.steps["worker"].add("isidorus.core.worker_port:WorkerPortStep")


def _warm_worker_process(**_: Any) -> None:
    from isidorus.core.warmup import warm_worker_process

    warm_worker_process(app)


def _refuse_an_evicting_redis(**_: Any) -> None:
    import sys

    from isidorus.integrations.redis_client import eviction_problem, get_redis

    problem = eviction_problem(get_redis())
    if problem is not None:
        sys.exit(f"isidorus worker refuses to start: {problem}")


def _recycle_old_connections(**_: Any) -> None:
    from django.db import close_old_connections

    close_old_connections()


def _bind_log_fields(
    task_id: str | None = None, task: Any = None, args: Any = None, **_: Any
) -> None:
    """Every line the task logs says its task, job, batch and owner (isidorus/core/logs.py)."""
    from django.db import DatabaseError

    from isidorus.core.logs import bind, task_fields
    from isidorus.scrapings.jobs import job_config

    fields = task_fields(str(getattr(task, "name", "")), task_id, args)
    owner: int | None = None
    if fields["job_id"]:
        try:
            config = job_config(fields["job_id"])  # cached per process: the task reads it too
        except DatabaseError:
            config = None  # the task meets the outage itself, and says so
        owner = config.owner_id if config is not None else None
    bind(**fields, owner=owner)


_task_started: dict[str, float] = {}


def _start_task_timer(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _task_started[task_id] = time.monotonic()


def _note_queue_wait(task: Any = None, **_: Any) -> None:
    """How long the message waited in its queue (config/sqs_transport.py stamps it)."""
    request = getattr(task, "request", None)
    sent_ms = getattr(request, "sqs_sent_ms", None)
    queue = (getattr(request, "delivery_info", None) or {}).get("routing_key")
    if not isinstance(sent_ms, int) or not queue:
        return  # run eagerly, or from a broker that does not say
    from isidorus.integrations.metrics import QUEUE_WAIT_SECONDS
    from isidorus.integrations.queue_heads import queue_head_note

    QUEUE_WAIT_SECONDS.labels(queue).observe(max(0.0, time.time() - sent_ms / 1000))
    queue_head_note(queue, sent_ms)


def _observe_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    started = _task_started.pop(task_id or "", None)
    if started is not None:
        from isidorus.integrations.metrics import TASK_SECONDS

        TASK_SECONDS.labels(str(getattr(task, "name", ""))).observe(time.monotonic() - started)


def _flush_cpu_steps(**_: Any) -> None:
    from isidorus.integrations.cpu_steps import cpu_steps_flush

    cpu_steps_flush()


def _count_retry(sender: Any = None, **_: Any) -> None:
    from isidorus.integrations.metrics import TASK_RETRIES

    TASK_RETRIES.labels(str(getattr(sender, "name", ""))).inc()


# Receivers are connected by a plain call rather than `@signal.connect`: Celery is untyped,
# so the decorator would make the functions untyped (the call is what the decorator does).
worker_init.connect(_refuse_an_evicting_redis)
worker_process_init.connect(_warm_worker_process)
task_prerun.connect(_recycle_old_connections)
task_prerun.connect(_bind_log_fields)
task_prerun.connect(_start_task_timer)
task_prerun.connect(_note_queue_wait)
task_postrun.connect(_observe_task)
task_postrun.connect(_flush_cpu_steps)
task_retry.connect(_count_retry)
