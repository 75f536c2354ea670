"""Safe names and cells for exports: zip entry names from URLs, spreadsheet-safe CSV cells."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote, urlsplit

MAX_SEGMENT_CHARS = 60
MAX_NAME_CHARS = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# A cell starting with one of these is run as a formula by spreadsheets (CSV injection);
# tab and carriage return too, as some strip them and read what follows.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """`value`, prefixed with an apostrophe if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


class ZipNames:
    """Relative, unique `.md` names from URLs: `host/path/page.md`.

    Each segment is cut to [A-Za-z0-9._-] (no leading dots, so never `..`), a directory
    URL is its `index.md`, a query adds a short hash of itself, the whole name stays under
    MAX_NAME_CHARS, and a name already given gets `-2`, `-3`, ...
    """

    def __init__(self) -> None:
        self._used: set[str] = set()

    def name_for(self, url: str) -> str:
        parts = urlsplit(url)
        segments = [_segment(parts.hostname or "site")]
        path = [_segment(unquote(piece)) for piece in parts.path.split("/") if piece]
        segments += [piece for piece in path if piece]
        if parts.path.endswith("/") or len(segments) == 1:
            segments.append("index")
        stem = segments[-1].removesuffix(".html").removesuffix(".htm") or "index"
        if parts.query:
            stem += "-" + hashlib.sha1(parts.query.encode()).hexdigest()[:8]
        directory = "/".join(segments[:-1])[: MAX_NAME_CHARS - MAX_SEGMENT_CHARS - 12]
        base = f"{directory.rstrip('/')}/{stem}"
        name, number = f"{base}.md", 1
        while name in self._used:
            number += 1
            name = f"{base}-{number}.md"
        self._used.add(name)
        return name


def _segment(text: str) -> str:
    return _UNSAFE.sub("-", text).lstrip(".-")[:MAX_SEGMENT_CHARS].rstrip(".")
