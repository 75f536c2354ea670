"""A job's optional LLM token budget (Scraping.token_budget), spent through Redis.

Before a call, its estimate (input chars / 4 plus the output cap) is reserved with one
atomic script, refused once the job's spend has reached the budget; after the call the
reservation is settled to the real usage (a failed call refunds it). Concurrent workers
therefore overshoot by at most the calls already in flight, never by a whole batch.
"""

from __future__ import annotations

from isidorus.integrations.redis_client import get_redis
from isidorus.job_state.keys import job_key
from isidorus.job_state.scripts import run

EXHAUSTED = "token_budget_exhausted"
KEY_TTL_SECONDS = 30 * 24 * 3600


def _tokens_key(job_id: str) -> str:
    # Among the job's keys, so deleting the job's state removes it.
    return job_key(job_id, "tokens")


def budget_reserve(job_id: str, budget: int | None, estimate: int) -> bool:
    """Reserve `estimate` tokens; False once the job has spent its budget."""
    if budget is None:
        return True
    result = run("budget_reserve", [_tokens_key(job_id)], [budget, estimate, KEY_TTL_SECONDS])
    return int(result) >= 0


def budget_settle(job_id: str, budget: int | None, estimate: int, actual: int) -> None:
    if budget is not None and actual != estimate:
        get_redis().incrby(_tokens_key(job_id), actual - estimate)


def budget_spent(job_id: str) -> int:
    return int(get_redis().get(_tokens_key(job_id)) or 0)
