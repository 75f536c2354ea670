"""Re-publishing enrichment rows a task could not finish: retries (attempt + 1) and
deferrals (same attempt), each delayed by SQS."""

from __future__ import annotations

from typing import TypeVar

from isidorus.contracts import Contract, RowsBody
from isidorus.enrichment.common import FollowUp
from isidorus.publishing import publish

R = TypeVar("R", bound=RowsBody)


def publish_follow_ups(contract: Contract[R], job_id: str, follow_ups: list[FollowUp]) -> None:
    for follow_up in follow_ups:
        body = contract.body(job_id, tuple(follow_up.ids), follow_up.attempt)
        publish(contract, body, delay_seconds=follow_up.delay_seconds)
