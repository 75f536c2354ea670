"""The kinds of work item a job holds open, declared once: their names, who opens and
closes them, and how each recovers. A job completes when its last open item closes
(docs/completion.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemKind:
    name: str
    names: str  # what follows the prefix in an item's name
    opened_by: str
    closed_by: str
    recovers_by: str

    @property
    def prefix(self) -> str:
        return f"{self.name}:"

    def holds(self, item: str) -> bool:
        return item.startswith(self.prefix)

    def row_id(self, item: str) -> int | None:
        """The row id in an enrichment item's name (`summary:17` -> 17)."""
        rest = item.removeprefix(self.prefix)
        return int(rest) if item != rest and rest.isdigit() else None


PAGE = ItemKind(
    name="page",
    names="<url fingerprint>",
    opened_by="admission (the start URL at launch; a link the scraper found) before its "
    "scrape message is published",
    closed_by="the writer, after the page's row (or its failed/skipped record) commits",
    recovers_by="SQS redelivery (claims keyed by the delivery's task id); a re-publish by "
    "the reaper when the job stalls; re-scraped once, then `staging_lost`, when its staged "
    "batch is unreadable; `poison` when its message is dead-lettered",
)
EXPAND = ItemKind(
    name="expand",
    names="<url fingerprint>:<depth>",
    opened_by="admission, when a shorter path reaches a page already admitted (code E)",
    closed_by="the writer, after the skipped rows of the re-followed links commit; or with "
    "the page's own write batch, when its scrape's admission came after the item opened",
    recovers_by="the same parent's redelivery re-publishes it (code X); the reaper; "
    "`expand_staging_lost` / `expand_poison` counters when its work is lost",
)
SUMMARY = ItemKind(
    name="summary",
    names="<page id>",
    opened_by="the writer, in the batch's hand-off after its rows commit (or the end-of-job "
    "audit, re-opening a missing summary)",
    closed_by="the summarizer, after the summary or its `summary_error` commits",
    recovers_by="SQS redelivery; the writer's redelivered hand-off; the reaper; `poison`",
)
IMAGE = ItemKind(
    name="image",
    names="<image id>",
    opened_by="the writer, in the batch's hand-off after its rows commit (or the audit)",
    closed_by="the image extractor, after the image's outcome commits",
    recovers_by="SQS redelivery; the writer's redelivered hand-off; the reaper; `poison`",
)
ITEM_KINDS: tuple[ItemKind, ...] = (PAGE, EXPAND, SUMMARY, IMAGE)
# The prefixes the Lua scripts build item names with (scripts.py's prelude).
LUA_ITEM_PREFIXES = {"PAGE": PAGE.prefix, "EXPAND": EXPAND.prefix}


def page_item(fingerprint: str) -> str:
    return f"{PAGE.prefix}{fingerprint}"


def expand_item(fingerprint: str, depth: int) -> str:
    return f"{EXPAND.prefix}{fingerprint}:{depth}"


def summary_item(page_id: int) -> str:
    return f"{SUMMARY.prefix}{page_id}"


def image_item(image_id: int) -> str:
    return f"{IMAGE.prefix}{image_id}"


def kind_of(item: str) -> ItemKind | None:
    return next((kind for kind in ITEM_KINDS if kind.holds(item)), None)


def markdown_table() -> str:
    """The kinds as the table in docs/completion.md (a test keeps the two the same)."""
    rows = ["| Item | Opened by | Closed by | Recovers by |", "|---|---|---|---|"]
    for kind in ITEM_KINDS:
        cells = [f"`{kind.prefix}{kind.names}`", kind.opened_by, kind.closed_by, kind.recovers_by]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
