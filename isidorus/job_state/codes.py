"""The results of the job-state scripts, defined once: the Lua scripts read them from a
prelude built here (scripts.py), so a code cannot mean one thing in Lua and another here."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Admission(StrEnum):
    """What admission did with one candidate URL."""

    ADMITTED = "A"  # new, charged to the budget, item opened
    SHORTER = "S"  # already admitted, now at a smaller depth
    EXPAND = "E"  # shorter, and an expand item was opened to re-follow its links
    REPUBLISH_EXPAND = "X"  # an expand item this parent opened is still open: crash recovery
    DUPLICATE = "D"
    REPUBLISH = "R"  # admitted by this same parent earlier and still open: crash recovery
    LIMIT = "L"  # max_pages budget exhausted
    QUOTA = "Q"  # owner's daily page quota exhausted
    NEW_SKIP = "N"  # first sighting of a URL that is recorded as skipped
    # Whole-call answers, never a candidate's code:
    BURIED = "T"  # the job was cancelled or deleted: nothing changes
    LOST = "LOST"  # the job's state is gone from Redis


class Seen(StrEnum):
    """A `seen` value besides a depth; followed by the fingerprint of the parent that
    recorded it, so that parent's redelivery records it again."""

    SKIPPED = "x"
    REFUSED = "l"  # by the max_pages budget
    QUOTA = "q"  # by the owner's daily quota


class Result(IntEnum):
    """Numeric answers of the scripts that write a job's state."""

    BURIED = -1  # the job was cancelled or deleted: nothing written
    LOST = -2  # the job's state is gone from Redis


def lua_prelude(item_prefixes: dict[str, str]) -> str:
    """Lua tables C (admission codes), SEEN, R (results) and ITEM (work item prefixes)."""

    def table(pairs: dict[str, str] | dict[str, int]) -> str:
        body = ", ".join(
            f"{name}={value}" if isinstance(value, int) else f"{name}='{value}'"
            for name, value in pairs.items()
        )
        return "{" + body + "}"

    return "\n".join(
        [
            f"local C = {table({code.name: code.value for code in Admission})}",
            f"local SEEN = {table({seen.name: seen.value for seen in Seen})}",
            f"local R = {table({result.name: int(result) for result in Result})}",
            f"local ITEM = {table(item_prefixes)}",
            "",
        ]
    )
