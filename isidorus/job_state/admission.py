"""Admission: a batch of discovered URLs offered to the job in one Lua script
(lua/admit.lua), so the max_pages budget and the owner's quota are race-free across
workers. Each candidate gets a code (codes.Admission); admitted pages are opened before
their message is published."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import NamedTuple

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
    keys = [
        job_key(job_id, "seen"), job_key(job_id, "open"), job_key(job_id, "budget"), quota_key,
        tombstone_key(job_id), job_key(job_id, "state"), job_key(job_id, "dups"),
    ]  # fmt: skip
    limits = [max_pages, quota_limit, quota_ttl, max_depth]
    admission = Admission([], {})
    for part, part_tallies in script_parts(candidates, tallies):
        result = run("admit", keys, [*limits, _candidate_lines(part), _pin_lines(part_tallies)])
        if result == [Code.BURIED]:
            return Admission([Code.DUPLICATE] * len(candidates), {t.item: 0 for t in tallies})
        if result == [Code.LOST]:
            raise JobStateLost(job_id)
        codes, pinned = result
        admission.codes.extend(_CODES[code] for code in codes)
        admission.duplicates.update(
            (tally.item, int(count)) for tally, count in zip(part_tallies, pinned, strict=True)
        )
    return admission


# Redis runs one script at a time, and every other client (the API's request throttle, the
# writers' counters) waits until it ends: a batch's 4,000-5,000 links took 10-20 ms in one
# script, which was most of the API's tail latency beside a crawl. Its candidates are
# offered in scripts of at most this many instead (~2-3 ms each), at a parent's boundary.
CANDIDATES_PER_SCRIPT = 500


def script_parts(
    candidates: list[Candidate], tallies: list[DuplicateTally]
) -> list[tuple[list[Candidate], list[DuplicateTally]]]:
    """The candidates and tallies in consecutive parts, each with all of its parents'
    links and tallies: the script counts and pins a parent's duplicates from the links it
    sees, so a parent is never split. Parts run in order, so a URL offered by two parents
    meets the same state as in one script. A parent whose links are not consecutive (not
    how discovery builds them) keeps everything in one script."""
    if len(candidates) <= CANDIDATES_PER_SCRIPT:
        return [(candidates, tallies)]
    runs: list[tuple[str, list[Candidate]]] = []
    for candidate in candidates:
        if runs and runs[-1][0] == candidate.parent_fingerprint:
            runs[-1][1].append(candidate)
        else:
            runs.append((candidate.parent_fingerprint, [candidate]))
    if len({parent for parent, _ in runs}) < len(runs):
        return [(candidates, tallies)]
    parts: list[tuple[list[Candidate], set[str]]] = []
    for parent, links in runs:
        if not parts or len(parts[-1][0]) + len(links) > CANDIDATES_PER_SCRIPT:
            parts.append(([], set()))
        parts[-1][0].extend(links)
        parts[-1][1].add(parent)
    part_of = {parent: index for index, (_, parents) in enumerate(parts) for parent in parents}
    part_tallies: list[list[DuplicateTally]] = [[] for _ in parts]
    for tally in tallies:  # a parent without links here pins only what it dropped: any part
        part_tallies[part_of.get(tally.parent_fingerprint, 0)].append(tally)
    return [(links, part_tallies[index]) for index, (links, _) in enumerate(parts)]


def _candidate_lines(candidates: list[Candidate]) -> str:
    """One string for all candidates: packing thousands of separate arguments cost more
    than the script itself (bench/crawl_bench.py profile)."""
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
    return "\n".join(lines)


def _pin_lines(tallies: list[DuplicateTally]) -> str:
    return "\n".join(
        f"{t.parent_fingerprint}\t{t.item}\t{t.dropped}\t{int(t.counted)}" for t in tallies
    )
