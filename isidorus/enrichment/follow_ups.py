"""What a finished enrichment delivery hands on: the rows it could not finish, as retries
(attempt + 1) and deferrals (same attempt), each delayed by SQS; and its slot in the job's
line, which releases the next batch the job held back (docs/fairness.md)."""

from __future__ import annotations

from typing import TypeVar

from isidorus.contracts import Contract, RowsBody
from isidorus.enrichment.common import FollowUp
from isidorus.publishing import publish, publish_paced

R = TypeVar("R", bound=RowsBody)


def publish_follow_ups(contract: Contract[R], job_id: str, follow_ups: list[FollowUp]) -> None:
    for follow_up in follow_ups:
        body = contract.body(job_id, tuple(follow_up.ids), follow_up.attempt)
        publish(contract, body, delay_seconds=follow_up.delay_seconds)


def enrichment_release(contract: Contract[R], job_id: str, token: str) -> None:
    """The delivery `token` is done: free its slot in the job's line on the contract's
    stage and publish the held batches that now have room. Retries and deferrals are not
    paced: they are few, and SQS delays them."""
    publish_paced(contract, [], job_id=job_id, token=token)
