"""What-if experiments: candidate pipeline changes, applied at run time in the bench's
workers only (`--whatif NAME,...`), so their gain can be measured without editing the
pipeline. NOT the shipped code: each one is a sketch of a suggested change.

- link-rows-off: write no Link rows (the writer still counts them). An upper bound for
  what storing a page's links another way (one jsonb value per page, as its terms are)
  could save: about 134 rows and four index entries each per page here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)
WHATIFS = ("link-rows-off",)
ENV = "BENCH_WHATIF"


def selected() -> list[str]:
    names = [n for n in os.environ.get(ENV, "").split(",") if n]
    unknown = set(names) - set(WHATIFS)
    if unknown:
        raise ValueError(f"unknown what-if {sorted(unknown)}; known: {WHATIFS}")
    return names


def apply(names: list[str]) -> None:
    for name in names:
        globals()["_" + name.replace("-", "_")]()
        logger.warning("what-if applied: %s", name)


def _link_rows_off() -> None:
    from isidorus.scrapings.services import write

    def copy_links(job_id: str, pages: list[dict[str, Any]], inserted: dict[str, int]) -> int:
        return sum(len(page["links"]) for page in pages)

    write._copy_links = copy_links
