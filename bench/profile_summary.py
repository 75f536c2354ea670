"""Summaries of py-spy `--format raw` profiles of the bench's Celery workers.

A raw profile is one line per distinct stack, `root;...;leaf count`, each frame written
`function (file:line)`. For each task entry point (scrape_batch, write_batch) this prints
where its samples went: by the function it called directly, and by stage, a stage being
the first of a list of known pipeline functions found on the stack below the task. With
`--idle` samples (wall mode) the shares are shares of wall time inside the task; without
(cpu mode), shares of CPU time.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

# Task entry points, and the fetch threads' entry point (16 threads: their samples add up
# to more than the task's wall time, so they get their own section).
ANCHORS = ("scrape_batch", "write_batch", "_fetch_one")
# Checked leaf-first: the deepest matching frame names the stage of a sample.
STAGES: list[tuple[str, str]] = [
    ("result_iterator", "waiting for the fetch threads"),
    ("robots_rules", "robots_rules (a Redis HGET per call)"),
    ("host_slot", "host_slot (Redis politeness script)"),
    ("http_fetch.py", "HTTP fetch (requests)"),
    ("_make_api_call", "AWS API call (botocore)"),
    ("send_task", "SQS publish (celery send_task)"),
    ("execute_command", "Redis command"),
    ("_execute", "PostgreSQL statement"),
    ("gzip.py", "gzip"),
    ("json/", "json"),
    ("count_terms", "count_terms"),
    ("parse_html", "parse_html"),
    ("url_fingerprint", "url_fingerprint"),
    ("canonicalize", "canonicalize"),
    ("in_scope", "in_scope"),
    ("_fetch_one", "fetch (threads)"),
]
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _parse(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def _name(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"].rsplit("/", 2)
    return f"{match['func']} ({'/'.join(file[-2:])}:{match['line'] or '?'})"


def _deepest_own(frames: list[str]) -> str:
    for frame in reversed(frames):
        if re.search(r"[ (/](isidorus|tasks)/", frame):
            return _name(frame)
    return "?"


def _stage(frames: list[str]) -> str:
    for frame in reversed(frames):
        for needle, stage in STAGES:
            if needle in frame:
                return stage
    return "other (the task's own code)"


def summarize_profile(path: Path, worker: str, mode: str, top: int = 12) -> str:
    if not path.exists():
        return f"(no profile written for the {worker} worker at {path})"
    stacks = _parse(path)
    total = sum(count for _, count in stacks)
    lines = [f"\n== py-spy {mode} profile of the {worker} worker: {total} samples, {path}"]
    for anchor in ANCHORS:
        # Exact function name: `scrape_batch.<locals>.<lambda>` runs in the fetch threads.
        prefix = anchor + " ("
        inside = [
            (frames, count) for frames, count in stacks if any(f.startswith(prefix) for f in frames)
        ]
        samples = sum(count for _, count in inside)
        if not samples:
            continue
        callees: Counter[str] = Counter()
        stages: Counter[str] = Counter()
        own_lines: Counter[str] = Counter()
        for frames, count in inside:
            at = next(i for i, f in enumerate(frames) if f.startswith(prefix))
            below = frames[at + 1 :]
            callees[_name(below[0]) if below else f"{anchor} itself"] += count
            stages[_stage(below)] += count
            own_lines[_deepest_own(frames[at:])] += count
        lines.append(f"-- {anchor}: {samples} samples ({100 * samples / total:.0f}% of all)")
        lines.append("   by stage (deepest known function on the stack):")
        lines += [f"   {100 * n / samples:5.1f}%  {name}" for name, n in stages.most_common(top)]
        lines.append(f"   by direct callee of {anchor}:")
        lines += [f"   {100 * n / samples:5.1f}%  {name}" for name, n in callees.most_common(top)]
        lines.append("   by deepest line of Isidorus's own code (isidorus/, tasks/):")
        lines += [f"   {100 * n / samples:5.1f}%  {name}" for name, n in own_lines.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize_profile(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "?", "?"))
