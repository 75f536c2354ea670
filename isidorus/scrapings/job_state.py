"""A job's live state in Redis: which URLs it has seen, which work items are still open.

Completion is decided by the `open` hash alone (DESIGN "Exact completion"): items are
opened before their message is published, closed only after their final write is
durable, and the one who empties the hash finishes the job. Each operation is one Lua
script per batch, so admission (with the max_pages budget) is race-free across workers.

Keys share the `{job}` hash tag so a Redis Cluster keeps a job's keys on one slot.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from isidorus.integrations.redis_client import as_text, get_redis

ACTIVE_JOBS = "jobs:active"
# seen values besides a depth: a URL recorded as skipped, or refused by the budget.
SEEN_SKIPPED = "x"
SEEN_REFUSED = "l"

SEEN_QUOTA = "q"

ADMITTED = "A"  # new, charged to the budget, item opened
SHORTER = "S"  # already admitted, now at a smaller depth
EXPAND = "E"  # shorter, and an expand item was opened to re-follow its links
REPUBLISH_EXPAND = "X"  # an expand item this parent opened is still open: crash recovery
DUPLICATE = "D"
REPUBLISH = "R"  # admitted by this same parent earlier and still open: crash recovery
LIMIT = "L"  # max_pages budget exhausted
QUOTA = "Q"  # owner's daily page quota exhausted
NEW_SKIP = "N"  # first sighting of a URL that is recorded as skipped


def _k(job_id: str, name: str) -> str:
    return f"job:{{{job_id}}}:{name}"


def page_item(fingerprint: str) -> str:
    return f"page:{fingerprint}"


def expand_item(fingerprint: str, depth: int) -> str:
    return f"expand:{fingerprint}:{depth}"


_ADMIT = """
local seen, open, budget, quota, dups = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[7]
if redis.call('EXISTS', KEYS[5]) == 1 then return {'T'} end
if redis.call('EXISTS', KEYS[6]) == 0 then return {'LOST'} end
local max_pages, quota_limit, quota_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_depth = tonumber(ARGV[4])
local codes = {}
local duplicates_of = {}
-- One candidate per line: fingerprint, depth, kind, parent fingerprint, url and parent url
-- (both as JSON string literals), tab-separated. The open payload is built here, only
-- for the candidates that store one: {"by":..,"d":..,"p":..,"u":..} (keys sorted).
for line in string.gmatch(ARGV[5], '[^\\n]+') do
  local fp, depth, kind, parent, url, parent_url = string.match(
    line, '^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)$')
  local by = ''
  if parent ~= '' then by = '"by":"' .. parent .. '",' end
  local payload = '{' .. by .. '"d":' .. depth .. ',"p":' .. parent_url .. ',"u":' .. url .. '}'
  local item = 'page:' .. fp
  local current = redis.call('HGET', seen, fp)
  local code = 'D'
  -- Skips and refusals remember the parent that recorded them, so a redelivered parent
  -- records them again (the writer's upsert keeps one row) instead of losing them.
  if kind == 's' then
    if not current then
      redis.call('HSET', seen, fp, 'x' .. parent)
      code = 'N'
    elseif current == 'x' .. parent then
      code = 'N'
    end
  elseif not current then
    if tonumber(redis.call('GET', budget) or '0') >= max_pages then
      redis.call('HSET', seen, fp, 'l' .. parent)
      code = 'L'
    elseif tonumber(redis.call('GET', quota) or '0') >= quota_limit then
      redis.call('HSET', seen, fp, 'q' .. parent)
      code = 'Q'
    else
      redis.call('INCR', budget)
      if redis.call('INCR', quota) == 1 then redis.call('EXPIRE', quota, quota_ttl) end
      redis.call('HSET', seen, fp, depth)
      redis.call('HSET', open, item, payload)
      code = 'A'
    end
  elseif tonumber(current) and tonumber(depth) < tonumber(current) then
    redis.call('HSET', seen, fp, depth)
    if redis.call('HEXISTS', open, item) == 1 then redis.call('HSET', open, item, payload) end
    code = 'S'
    if tonumber(depth) < max_depth then
      -- A shorter path may bring this page's links within the depth limit: re-expand it.
      redis.call('HSET', open, 'expand:' .. fp .. ':' .. depth, payload)
      code = 'E'
    end
  elseif current == 'l' .. parent then
    code = 'L'
  elseif current == 'q' .. parent then
    code = 'Q'
  elseif parent ~= '' then
    local marker = '"by":"' .. parent .. '"'
    local open_payload = redis.call('HGET', open, item)
    local expand_payload = redis.call('HGET', open, 'expand:' .. fp .. ':' .. depth)
    if open_payload and string.find(open_payload, marker, 1, true) then
      code = 'R'
    elseif expand_payload and string.find(expand_payload, marker, 1, true) then
      code = 'X'
    end
  end
  -- A link to a URL the job already had is a duplicate, also when it shortens its depth.
  if parent ~= '' and (code == 'D' or code == 'S' or code == 'E' or code == 'X') then
    duplicates_of[parent] = (duplicates_of[parent] or 0) + 1
  end
  codes[#codes + 1] = code
end
-- Pin each parent's duplicate count while its work item is open: a redelivered parent
-- would see the links it admitted, once written, as duplicates; it reports the first count.
-- One parent per line: fingerprint, work item, duplicates dropped before the script, and
-- whether they count (1) or its links were offered, and counted, before (0).
local pinned = {}
for line in string.gmatch(ARGV[6], '[^\\n]+') do
  local parent, item, dropped, counted = string.match(
    line, '^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t([01])$')
  local total = 0
  if counted == '1' then total = tonumber(dropped) + (duplicates_of[parent] or 0) end
  redis.call('HSETNX', dups, item, total)
  pinned[#pinned + 1] = redis.call('HGET', dups, item)
end
return {codes, pinned}
"""

_CLAIM = """
local open = KEYS[1]
local ttl, token = tonumber(ARGV[1]), ARGV[2]
local result = {}
local stopped = redis.call('EXISTS', KEYS[2]) == 1
if not stopped and redis.call('EXISTS', KEYS[3]) == 0 then return {'LOST'} end
for i = 3, #ARGV do
  local item = ARGV[i]
  local payload = redis.call('HGET', open, item)
  if stopped or not payload then
    result[#result + 1] = ''
  elseif redis.call('SET', KEYS[i + 1], token, 'NX', 'EX', ttl) then
    result[#result + 1] = payload
  else
    local holder = redis.call('GET', KEYS[i + 1])
    if holder == token then result[#result + 1] = payload else result[#result + 1] = '' end
  end
end
return result
"""

_CLOSE = """
local open, state, active, dups = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
if redis.call('EXISTS', state) == 0 then return -2 end
local removed = 0
for i = 3, #ARGV do
  removed = removed + redis.call('HDEL', open, ARGV[i])
  redis.call('HDEL', dups, ARGV[i])
end
if removed > 0 then
  redis.call('HSET', state, 'progress_at', ARGV[1])
  if redis.call('ZSCORE', active, ARGV[2]) then redis.call('ZADD', active, ARGV[1], ARGV[2]) end
end
return redis.call('HLEN', open)
"""


# Writes that must not recreate a cancelled or deleted job's keys check its tombstone
# in the same script.
_GUARDED_HSETNX = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
return redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
"""

_GUARDED_HSET_MANY = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

_GUARDED_SET_NX = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[1])) then return 1 end
return 0
"""

_GUARDED_ACTIVATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call('HSET', KEYS[2], 'progress_at', ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
return 1
"""

TOMBSTONE_SECONDS = 7 * 24 * 3600
STATE_LOST_REASON = (
    "the job's state in Redis was lost (Redis restarted without persistence?); "
    "its completion can no longer be proven"
)


class JobStateLost(Exception):
    """The job's Redis state vanished mid-run. Completing would risk missing pages."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"state of job {job_id} is gone from Redis")
        self.job_id = job_id


def state_exists(job_id: str) -> bool:
    return bool(get_redis().exists(_k(job_id, "state")))


def tombstone_key(job_id: str) -> str:
    # Outside the job:{id}:* namespace, so deleting a job's state keeps its tombstone.
    return f"tombstone:{{{job_id}}}"


def bury(job_id: str) -> None:
    """Mark a job cancelled or deleted: from now on, late work for it changes nothing."""
    get_redis().set(tombstone_key(job_id), "1", ex=TOMBSTONE_SECONDS)


def is_buried(job_id: str) -> bool:
    return bool(get_redis().exists(tombstone_key(job_id)))


@dataclass(frozen=True)
class Candidate:
    fingerprint: str
    depth: int
    fetch: bool  # False: recorded as skipped, never fetched
    url: str
    parent_url: str = ""
    parent_fingerprint: str = ""


def _json_string(value: str) -> str:
    """`json.dumps(value)`, without its cost for the plain ASCII of canonical URLs."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value)


def _script(source: str) -> Any:
    return get_redis().register_script(source)


_scripts: dict[str, Any] = {}


def _run(name: str, source: str, keys: list[str], args: list[Any]) -> Any:
    script = _scripts.get(name)
    if script is None:
        script = _scripts[name] = _script(source)
    # Bound to the current client on every call: tests (and settings) may switch servers.
    return script(keys=keys, args=args, client=get_redis())


def admit(
    *,
    job_id: str,
    candidates: list[Candidate],
    max_pages: int,
    quota_key: str,
    quota_limit: int,
    quota_ttl: int,
    max_depth: int,
) -> list[str]:
    """Admit candidates atomically; returns one code per candidate (see the constants)."""
    return admit_counted(
        job_id=job_id,
        candidates=candidates,
        tallies=[],
        max_pages=max_pages,
        quota_key=quota_key,
        quota_limit=quota_limit,
        quota_ttl=quota_ttl,
        max_depth=max_depth,
    ).codes


@dataclass(frozen=True)
class DuplicateTally:
    """A parent's links dropped as repeats before the script (they are duplicates too)."""

    parent_fingerprint: str
    item: str  # the parent's open work item: its count is pinned while the item is open
    dropped: int
    # False when the parent's links were offered, and counted, before (an expand of a page
    # written within the depth limit): a link counts once per page.
    counted: bool = True


@dataclass
class Admission:
    codes: list[str]
    duplicates: dict[str, int]  # parent item -> its duplicate links, as first counted


def admit_counted(
    *,
    job_id: str,
    candidates: list[Candidate],
    tallies: list[DuplicateTally],
    max_pages: int,
    quota_key: str,
    quota_limit: int,
    quota_ttl: int,
    max_depth: int,
) -> Admission:
    """`admit`, and each tallied parent's duplicate links (its D codes plus its dropped
    repeats). The first count is kept until the parent's item closes, so a parent scraped
    again after a crash reports the same number: the writer counts it once, with the row."""
    if not candidates and not tallies:
        return Admission([], {})
    # One string for all candidates: packing thousands of separate arguments cost more
    # than the script itself (bench/crawl_bench.py profile).
    parent_urls: dict[str, str] = {}
    lines = []
    for candidate in candidates:
        parent_url = parent_urls.get(candidate.parent_url)
        if parent_url is None:
            parent_url = parent_urls[candidate.parent_url] = _json_string(candidate.parent_url)
        kind = "f" if candidate.fetch else "s"
        lines.append(
            f"{candidate.fingerprint}\t{candidate.depth}\t{kind}\t{candidate.parent_fingerprint}"
            f"\t{_json_string(candidate.url)}\t{parent_url}"
        )
    pins = "\n".join(
        f"{t.parent_fingerprint}\t{t.item}\t{t.dropped}\t{int(t.counted)}" for t in tallies
    )
    args: list[Any] = [max_pages, quota_limit, quota_ttl, max_depth, "\n".join(lines), pins]
    keys = [
        _k(job_id, "seen"), _k(job_id, "open"), _k(job_id, "budget"), quota_key,
        tombstone_key(job_id), _k(job_id, "state"), _k(job_id, "dups"),
    ]  # fmt: skip
    result = _run("admit", _ADMIT, keys, args)
    if result == ["T"]:
        return Admission([DUPLICATE] * len(candidates), {t.item: 0 for t in tallies})
    if result == ["LOST"]:
        raise JobStateLost(job_id)
    codes, pinned = result
    return Admission(
        [str(code) for code in codes],
        {tally.item: int(count) for tally, count in zip(tallies, pinned, strict=True)},
    )


def claim(*, job_id: str, items: list[str], token: str, ttl: int) -> dict[str, dict[str, Any]]:
    """Claim open items for this delivery; returns the payloads of those it may work on.

    An item that is closed, or claimed by another delivery still within its lease, is
    left out: its message is a duplicate.
    """
    if not items:
        return {}
    keys = [_k(job_id, "open"), tombstone_key(job_id), _k(job_id, "state")]
    keys += [_k(job_id, f"claim:{item}") for item in items]
    payloads = _run("claim", _CLAIM, keys, [ttl, token, *items])
    if payloads == ["LOST"]:
        raise JobStateLost(job_id)
    return {
        item: json.loads(payload) for item, payload in zip(items, payloads, strict=True) if payload
    }


def release_claims(*, job_id: str, items: list[str]) -> None:
    if items:
        get_redis().delete(*[_k(job_id, f"claim:{item}") for item in items])


def close(*, job_id: str, items: list[str]) -> int:
    """Close items (idempotent); returns how many items are still open (-1: job buried)."""
    keys = [_k(job_id, "open"), _k(job_id, "state"), ACTIVE_JOBS, tombstone_key(job_id)]
    keys.append(_k(job_id, "dups"))
    remaining = int(_run("close", _CLOSE, keys, [time.time(), job_id, *items]))
    if remaining == -2:
        raise JobStateLost(job_id)
    return remaining


def open_items(job_id: str) -> dict[str, dict[str, Any]]:
    raw = get_redis().hgetall(_k(job_id, "open"))
    return {as_text(item): json.loads(payload) for item, payload in raw.items()}


def open_new(job_id: str, items: dict[str, dict[str, Any]]) -> None:
    """Open items (open-before-publish). Re-opening an open item only rewrites its payload."""
    args: list[str] = []
    for item, payload in items.items():
        args += [item, json.dumps(payload, separators=(",", ":"))]
    if args:
        keys = [tombstone_key(job_id), _k(job_id, "open")]
        _run("hset_many", _GUARDED_HSET_MANY, keys, args)


def summary_item(page_id: int) -> str:
    return f"summary:{page_id}"


def image_item(image_id: int) -> str:
    return f"image:{image_id}"


def is_open(job_id: str, item: str) -> bool:
    return bool(get_redis().hexists(_k(job_id, "open"), item))


def open_count(job_id: str) -> int:
    return int(get_redis().hlen(_k(job_id, "open")))


def activate(job_id: str) -> None:
    keys = [tombstone_key(job_id), _k(job_id, "state"), ACTIVE_JOBS]
    _run("activate", _GUARDED_ACTIVATE, keys, [time.time(), job_id])


def deactivate(job_id: str) -> None:
    get_redis().zrem(ACTIVE_JOBS, job_id)


def set_flag(job_id: str, flag: str) -> bool:
    """Set a one-time flag on the job; True for the caller who set it first."""
    keys = [tombstone_key(job_id), _k(job_id, "state")]
    return int(_run("hsetnx", _GUARDED_HSETNX, keys, [flag, time.time()])) == 1


def get_flag(job_id: str, flag: str) -> bool:
    if flag == "stopped" and is_buried(job_id):
        return True
    return bool(get_redis().hexists(_k(job_id, "state"), flag))


def republish_once(job_id: str) -> bool:
    """True if the job has progressed since its last re-publish (or never had one).

    Re-publishing resets the stall clock but not the progress mark, so a job that stalls
    again without closing anything is seen here as already re-published.
    """
    state = _k(job_id, "state")
    redis = get_redis()
    progress = redis.hget(state, "progress_at")
    if redis.hget(state, "republished_for") == progress:
        return False
    redis.hset(state, "republished_for", progress or "")
    redis.zadd(ACTIVE_JOBS, {job_id: time.time()}, xx=True)
    return True


def stalled_jobs(older_than_seconds: float) -> list[str]:
    cutoff = time.time() - older_than_seconds
    return [str(job) for job in get_redis().zrangebyscore(ACTIVE_JOBS, "-inf", cutoff)]


def job_keys(job_id: str) -> list[str]:
    redis = get_redis()
    return [str(key) for key in redis.scan_iter(match=f"job:{{{job_id}}}:*", count=1000)]


def delete_state(job_id: str) -> None:
    keys = job_keys(job_id)
    if keys:
        get_redis().delete(*keys)
    deactivate(job_id)


def robots_get(job_id: str, host: str) -> str | None:
    value = get_redis().hget(_k(job_id, "robots"), host)
    return None if value is None else str(value)


def robots_put(job_id: str, host: str, value: str) -> str:
    """Store robots.txt for a host once per job; returns the stored value (first writer wins)."""
    key = _k(job_id, "robots")
    _run("hsetnx", _GUARDED_HSETNX, [tombstone_key(job_id), key], [host, value])
    stored = get_redis().hget(key, host)
    return value if stored is None else str(stored)


def robots_lock(job_id: str, host: str, ttl: int) -> bool:
    keys = [tombstone_key(job_id), _k(job_id, f"robots-lock:{host}")]
    return int(_run("set_nx", _GUARDED_SET_NX, keys, [ttl])) == 1


_LEASE_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lease_acquire(job_id: str, name: str, token: str, ttl: int) -> bool:
    """Hold the job's `name` lease (SET NX with a TTL, so a dead holder's lease expires)."""
    return bool(get_redis().set(_k(job_id, f"lease:{name}"), token, nx=True, ex=ttl))


def lease_release(job_id: str, name: str, token: str) -> None:
    _run("lease_release", _LEASE_RELEASE, [_k(job_id, f"lease:{name}")], [token])
