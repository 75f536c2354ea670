"""A job's live state in Redis, in one package: admission (with the max_pages budget and
the owner's daily quota), open work items and their claims, flags, leases, the robots.txt
cache, per-host politeness, the LLM token budget and per-owner API limits.

Completion is decided by the job's open items alone (docs/completion.md): items are
opened before their message is published, closed only after their final write is
durable, and whoever empties them finishes the job. Every write is one Lua script
(lua/, run by scripts.py), whose result codes are defined once in codes.py. The work
item kinds, with who opens and closes each and how it recovers, are in items.py.

Callers use this module's names: `from isidorus import job_state`, `job_state.claim(...)`.
"""

from config.queues import PACED_STAGES
from isidorus.job_state.admission import Admission, Candidate, DuplicateTally, admit, admit_counted
from isidorus.job_state.codes import Admission as Code
from isidorus.job_state.codes import Result, Seen
from isidorus.job_state.flags import Flag, get_flag, set_flag
from isidorus.job_state.items import (
    EXPAND,
    IMAGE,
    ITEM_KINDS,
    PAGE,
    SUMMARY,
    ItemKind,
    expand_item,
    image_item,
    kind_of,
    page_item,
    summary_item,
)
from isidorus.job_state.keys import ACTIVE_JOBS, tombstone_key
from isidorus.job_state.leases import (
    hold_key,
    lease_acquire,
    lease_release,
    release_key,
    robots_get,
    robots_lock,
    robots_put,
)
from isidorus.job_state.lifecycle import (
    STATE_LOST_REASON,
    TOMBSTONE_SECONDS,
    JobStateLost,
    activate,
    bury,
    deactivate,
    delete_state,
    expire_state,
    is_buried,
    job_keys,
    republish_once,
    stalled_jobs,
    state_exists,
)
from isidorus.job_state.pacing import (
    Released,
    held_counts,
    line_newest,
    pace,
    pace_done,
    pace_reset,
)
from isidorus.job_state.work import (
    claim,
    close,
    is_open,
    open_by_kind,
    open_count,
    open_items,
    open_new,
    open_payloads,
    release_claims,
    which_open,
)

__all__ = [
    "ACTIVE_JOBS",
    "EXPAND",
    "IMAGE",
    "ITEM_KINDS",
    "PACED_STAGES",
    "PAGE",
    "STATE_LOST_REASON",
    "SUMMARY",
    "TOMBSTONE_SECONDS",
    "Admission",
    "Candidate",
    "Code",
    "DuplicateTally",
    "Flag",
    "ItemKind",
    "JobStateLost",
    "Released",
    "Result",
    "Seen",
    "activate",
    "admit",
    "admit_counted",
    "bury",
    "claim",
    "close",
    "deactivate",
    "delete_state",
    "expand_item",
    "expire_state",
    "get_flag",
    "held_counts",
    "hold_key",
    "image_item",
    "is_buried",
    "is_open",
    "job_keys",
    "kind_of",
    "lease_acquire",
    "lease_release",
    "line_newest",
    "open_by_kind",
    "open_count",
    "open_items",
    "open_new",
    "open_payloads",
    "pace",
    "pace_done",
    "pace_reset",
    "page_item",
    "release_claims",
    "release_key",
    "republish_once",
    "robots_get",
    "robots_lock",
    "robots_put",
    "set_flag",
    "stalled_jobs",
    "state_exists",
    "summary_item",
    "tombstone_key",
    "which_open",
]
