"""The "selectolax (ours)" candidate of extract_bench: the crawler's own extractor.

Since the bench chose it, the extractor lives in isidorus/crawling/main_content.py and its
Markdown walk in isidorus/crawling/markdown.py; this runs both the way `parse_html` does,
on a tree of its own (decoding and parsing included in the measured cost), and returns
the content's plain text, which the bench scores.
"""

from __future__ import annotations

import sys
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from isidorus.crawling.charset import decode_html
from isidorus.crawling.main_content import main_content_root
from isidorus.crawling.markdown import render
from isidorus.crawling.nesting import truncate_pathological_nesting
from isidorus.crawling.urls import canonicalize

PAGE_URL = "http://fixtures.test/page.html"
MAX_CHARS = 200_000


def extract_main_text(body: bytes, *, header_charset: str | None = None) -> str:
    """The main content of an HTML page as text, one block per line."""
    html, _ = decode_html(body, header_charset)
    tree = LexborHTMLParser(truncate_pathological_nesting(html).encode("utf-8", errors="replace"))
    root = main_content_root(tree)
    if root is None:
        return ""
    return render(root, lambda raw: canonicalize(raw, PAGE_URL), max_chars=MAX_CHARS).text
