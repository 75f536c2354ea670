#!/usr/bin/env python3
"""What the main content (isidorus/crawling/main_content.py, markdown.py) adds to parsing.

    make bench-content            # or: .venv/bin/python bench/content_cost.py --pages 200

Runs `parse_html` over the pages of the crawl bench's profiles twice in one invocation:
as the scraper does (title, links, images, full text, main content as Markdown and text),
and with the main-content step switched off. Prints CPU ms per page for both (median of
--repeat passes, `time.process_time`), the difference, and their ratio. The issue 12
budget for the extractor is 2 ms per `typical` page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_site import PROFILES, build_site

from isidorus.crawling import parse
from isidorus.crawling.markdown import Rendered

PAGE_URL = "http://127.0.0.1:8000/page/1.html"


def site_pages(count: int, profile: str) -> list[bytes]:
    site = build_site(count, profile=profile)
    return [
        response.partition(b"\r\n\r\n")[2]
        for path, response in site.responses.items()
        if site.page_index[path] >= 0
    ]


def cpu_ms_per_page(bodies: list[bytes], repeat: int) -> float:
    passes = []
    for _ in range(repeat):
        started = time.process_time()
        for body in bodies:
            parse.parse_html(body, PAGE_URL)
        passes.append((time.process_time() - started) * 1000 / len(bodies))
    return statistics.median(passes)


def without_main_content(bodies: list[bytes], repeat: int) -> float:
    empty = Rendered(markdown="", text="")
    with (
        mock.patch.object(parse, "main_content_root", return_value=None),
        mock.patch.object(parse, "_render_whole_body", return_value=empty),
    ):
        return cpu_ms_per_page(bodies, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args()
    print(f"{'profile':12} {'with content':>13} {'without':>9} {'content':>9} {'ratio':>6}")
    for profile in PROFILES:
        bodies = site_pages(arguments.pages, profile)
        with_content = cpu_ms_per_page(bodies, arguments.repeat)
        without = without_main_content(bodies, arguments.repeat)
        print(
            f"{profile:12} {with_content:10.2f} ms {without:6.2f} ms "
            f"{with_content - without:6.2f} ms {with_content / without:5.2f}x"
        )


if __name__ == "__main__":
    main()
