from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.queues import STAGES
from isidorus.integrations.dead_letters import dlq_depth, dlq_peek, dlq_purge, dlq_redrive


class Command(BaseCommand):
    help = "The dead-letter queues: list (counts, ages), show, redrive (back to the queue), purge."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "show", "redrive", "purge"])
        parser.add_argument("queue", nargs="?", help=f"a stage: {', '.join(STAGES)}")
        parser.add_argument("--max", type=int, default=20, help="show: how many messages")
        parser.add_argument("--yes", action="store_true", help="purge: really empty it")

    def handle(self, *args: Any, **options: Any) -> None:
        action, stage = options["action"], options["queue"]
        if action == "list":
            for name in [stage] if stage else STAGES:
                self._check(name)
                depth = dlq_depth(name)
                age = (
                    "-" if depth.oldest_age_seconds is None else f"{depth.oldest_age_seconds:.0f}s"
                )
                self.stdout.write(f"{depth.dlq:45} {depth.messages:6d} messages  oldest {age}")
            return
        self._check(stage)
        if action == "show":
            for letter in dlq_peek(stage, limit=options["max"]):
                argument = json.dumps(letter.argument)[:200]
                self.stdout.write(
                    f"{letter.message_id}  {letter.task}  received {letter.receives}x  {argument}"
                )
        elif action == "redrive":
            self.stdout.write(f"moved {dlq_redrive(stage)} message(s) back to {stage}")
        elif not options["yes"]:
            raise CommandError("purge deletes every message of the queue: add --yes")
        else:
            dlq_purge(stage)
            self.stdout.write(f"purged the {stage} dead-letter queue")

    def _check(self, stage: str | None) -> None:
        if stage not in STAGES:
            raise CommandError(f"name a queue: one of {', '.join(STAGES)}")
