"""Admission: a batch of discovered URLs offered to the job in one Lua script
(lua/admit.lua), so the max_pages budget and the owner's quota are race-free across
workers. Each candidate gets a code (codes.Admission); admitted pages are opened before
their message is published."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from isidorus.job_state.codes import Admission as Code
from isidorus.job_state.keys import job_key, tombstone_key
from isidorus.job_state.lifecycle import JobStateLost
from isidorus.job_state.scripts import run


class Candidate(NamedTuple):  # a tuple: one is built for every discovered link
    fingerprint: str
    depth: int
    fetch: bool  # False: recorded as skipped, never fetched
    url: str
    parent_url: str = ""
    parent_fingerprint: str = ""


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
    codes: list[Code]
    duplicates: dict[str, int]  # parent item -> its duplicate links, as first counted


_CODES = {code.value: code for code in Code}


def _json_string(value: str) -> str:
    """`json.dumps(value)`, without its cost for the plain ASCII of canonical URLs."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value)


def admit(
    *,
    job_id: str,
    candidates: list[Candidate],
    max_pages: int,
    quota_key: str,
    quota_limit: int,
    quota_ttl: int,
    max_depth: int,
) -> list[Code]:
    """Admit candidates atomically; returns one code per candidate."""
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
        job_key(job_id, "seen"), job_key(job_id, "open"), job_key(job_id, "budget"), quota_key,
        tombstone_key(job_id), job_key(job_id, "state"), job_key(job_id, "dups"),
    ]  # fmt: skip
    result = run("admit", keys, args)
    if result == [Code.BURIED]:
        return Admission([Code.DUPLICATE] * len(candidates), {t.item: 0 for t in tallies})
    if result == [Code.LOST]:
        raise JobStateLost(job_id)
    codes, pinned = result
    return Admission(
        [_CODES[code] for code in codes],
        {tally.item: int(count) for tally, count in zip(tallies, pinned, strict=True)},
    )
