from __future__ import annotations

import json
import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.celery import app
from config.queues import STAGES, queue_name
from isidorus.contracts import SMOKE_PING
from isidorus.integrations.redis_client import get_redis


class Command(BaseCommand):
    help = "Send a smoke task through every queue and report where each one arrived."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=60.0)

    def handle(self, *args: Any, **options: Any) -> None:
        token = uuid.uuid4().hex
        sent_at = time.monotonic()
        for stage in STAGES:
            app.send_task(SMOKE_PING.name, args=[token, stage], queue=queue_name(stage))
        redis = get_redis()
        deadline = sent_at + options["timeout"]
        arrivals: list[dict[str, Any]] = []
        while time.monotonic() < deadline and len(arrivals) < len(STAGES):
            arrivals = [json.loads(item) for item in redis.lrange(f"smoke:{token}", 0, -1)]
            time.sleep(0.1)
        elapsed = time.monotonic() - sent_at
        by_stage = {arrival["stage"]: arrival for arrival in arrivals}
        for stage in STAGES:
            arrival = by_stage.get(stage)
            where = f"{arrival['queue']} (worker pid {arrival['pid']})" if arrival else "MISSING"
            self.stdout.write(f"{stage:16} -> {where}")
        self.stdout.write(f"{len(by_stage)}/{len(STAGES)} queues answered in {elapsed:.2f}s")
        if len(by_stage) < len(STAGES):
            raise CommandError("some queues did not answer; see the worker logs in .stack/")
