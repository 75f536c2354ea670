"""A job's optional LLM token budget (Scraping.token_budget), spent through Redis.

Before a call, its estimate (input chars / 4 plus the output cap) is reserved with one
atomic script, refused once the job's spend has reached the budget; after the call the
reservation is settled to the real usage (a failed call refunds it). Concurrent workers
therefore overshoot by at most the calls already in flight, never by a whole batch.
"""

from __future__ import annotations

from redis.commands.core import Script

from isidorus.integrations.redis_client import get_redis

EXHAUSTED = "token_budget_exhausted"
KEY_TTL_SECONDS = 30 * 24 * 3600

_RESERVE = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent >= tonumber(ARGV[1]) then return -1 end
local now = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return now
"""
_scripts: list[Script] = []


def _tokens_key(job_id: str) -> str:
    # Same hash tag as the rest of the job's state, so deleting the job's keys removes it.
    return f"job:{{{job_id}}}:tokens"


def budget_reserve(job_id: str, budget: int | None, estimate: int) -> bool:
    """Reserve `estimate` tokens; False once the job has spent its budget."""
    if budget is None:
        return True
    if not _scripts:
        _scripts.append(get_redis().register_script(_RESERVE))
    script = _scripts[0]
    result = script(keys=[_tokens_key(job_id)], args=[budget, estimate, KEY_TTL_SECONDS])
    return int(result) >= 0


def budget_settle(job_id: str, budget: int | None, estimate: int, actual: int) -> None:
    if budget is not None and actual != estimate:
        get_redis().incrby(_tokens_key(job_id), actual - estimate)


def budget_spent(job_id: str) -> int:
    return int(get_redis().get(_tokens_key(job_id)) or 0)
