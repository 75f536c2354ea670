"""Redis key names of a job's state. They share the `{job}` hash tag, so a Redis Cluster
keeps a job's keys on one slot."""

from __future__ import annotations

# Running jobs, scored by their last progress (the reaper's stall clock).
ACTIVE_JOBS = "jobs:active"


def job_key(job_id: str, name: str) -> str:
    return f"job:{{{job_id}}}:{name}"


def job_key_pattern(job_id: str) -> str:
    return f"job:{{{job_id}}}:*"


def tombstone_key(job_id: str) -> str:
    # Outside the job:{id}:* namespace, so deleting a job's state keeps its tombstone.
    return f"tombstone:{{{job_id}}}"
