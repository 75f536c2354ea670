"""One-time flags on a job: set once, by the first caller, never unset."""

from __future__ import annotations

import time
from enum import StrEnum

from isidorus.integrations.redis_client import get_redis
from isidorus.job_state.keys import job_key, tombstone_key
from isidorus.job_state.lifecycle import is_buried
from isidorus.job_state.scripts import run


class Flag(StrEnum):
    LAUNCHED = "launched"  # the start URL was admitted
    LAUNCH_RETRIED = "launch_retried"  # the reaper's one relaunch
    RUNNING = "running"  # the first scrape started (DynamoDB says RUNNING)
    STOPPED = "stopped"  # finished, cancelled or failed: late work is dropped
    AUDIT_REPAIRED = "audit_repaired"  # the end-of-job audit's one repair
    # Per subject (`enriched:<batch>`, `rescraped:<item>`):
    ENRICHED = "enriched"  # a write batch published its enrichment
    RESCRAPED = "rescraped"  # an item whose staged batch was lost was scraped again


def _name(flag: Flag, subject: str) -> str:
    return f"{flag}:{subject}" if subject else str(flag)


def set_flag(job_id: str, flag: Flag, subject: str = "") -> bool:
    """Set a one-time flag on the job; True for the caller who set it first (never for a
    buried job)."""
    keys = [tombstone_key(job_id), job_key(job_id, "state")]
    return int(run("guarded_hsetnx", keys, [_name(flag, subject), time.time()])) == 1


def get_flag(job_id: str, flag: Flag, subject: str = "") -> bool:
    if flag == Flag.STOPPED and is_buried(job_id):
        return True
    return bool(get_redis().hexists(job_key(job_id, "state"), _name(flag, subject)))
