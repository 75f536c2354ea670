"""Choose the main-content extractor by measurement (issue 12).

Runs each candidate on the hand-labelled pages of tests/fixtures/extraction and prints,
per candidate and per half of the corpus (tuning, held-out), word-level precision,
recall and F1 against the labels and the CPU time per page; then the CPU time per page
on 200 pages of the crawl bench's `typical` profile (bench/synthetic_site.py).

Words: the text is NFKC-normalised and case-folded; a word is a run of letters and digits
(`[^\\W_]+`), except that each Han, Hiragana or Katakana character is a word of its own
(Japanese is written without spaces). Matching is bag-of-words with counts: the words
both texts share, counted min(extracted, label) times each. Per page, precision = shared
/ extracted words and recall = shared / label words (an empty output scores 0 and 0);
F1 is per page; a half's figures are the means over its pages.

CPU: time.process_time around all pages of a set, repeated --repeat times; the median
repetition divided by the page count.

Run: make bench-extract (builds its venv from bench/requirements-extract.txt), or
     <that venv>/bin/python bench/extract_bench.py [--half tuning] [--dump DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from main_content import extract_main_text
from synthetic_site import build_site

from isidorus.crawling.parse import parse_html

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "extraction"
PAGE_URL = "http://fixtures.test/page.html"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")

Extractor = Callable[[bytes], str]


def words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def score(extracted: str, label: str) -> Score:
    got, wanted = words(extracted), words(label)
    shared = sum((got & wanted).values())
    if not got or not wanted:
        return Score(0.0, 0.0)
    return Score(shared / sum(got.values()), shared / sum(wanted.values()))


# ------------------------------------------------------------------------ the candidates


def _decoded(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def full_visible_text(body: bytes) -> str:
    """Today's page text: every visible string (isidorus/crawling/parse.py)."""
    return parse_html(body, PAGE_URL).text


def trafilatura_text(body: bytes) -> str:
    import trafilatura

    return str(trafilatura.extract(body, include_comments=False, include_tables=True) or "")


def trafilatura_fast_text(body: bytes) -> str:
    import trafilatura

    text = trafilatura.extract(body, include_comments=False, include_tables=True, fast=True)
    return str(text or "")


def readability_text(body: bytes) -> str:
    import lxml.html
    from readability import Document

    summary = Document(_decoded(body)).summary(html_partial=True)
    return str(lxml.html.fromstring(summary).text_content())


def resiliparse_text(body: bytes) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return str(extract_plain_text(_decoded(body), main_content=True))


CANDIDATES: dict[str, Extractor] = {
    "full-text (today)": full_visible_text,
    "selectolax (ours)": extract_main_text,
    "trafilatura": trafilatura_text,
    "trafilatura fast": trafilatura_fast_text,
    "readability-lxml": readability_text,
    "resiliparse": resiliparse_text,
}


def markdown_outputs(body: bytes) -> dict[str, str]:
    """What the candidates that can give Markdown give, for --dump."""
    import trafilatura
    from markdownify import markdownify
    from readability import Document

    summary = Document(_decoded(body)).summary(html_partial=True)
    return {
        "trafilatura": str(
            trafilatura.extract(
                body, output_format="markdown", include_comments=False, include_tables=True
            )
            or ""
        ),
        "readability-lxml+markdownify": str(markdownify(summary, heading_style="ATX")),
    }


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Page:
    name: str
    half: str
    body: bytes
    label: str


def load_pages() -> list[Page]:
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    return [
        Page(
            name=entry["name"],
            half=entry["half"],
            body=(FIXTURES / "pages" / f"{entry['name']}.html").read_bytes(),
            label=(FIXTURES / "pages" / f"{entry['name']}.main.txt").read_text(encoding="utf-8"),
        )
        for entry in manifest["pages"]
    ]


def typical_pages(count: int) -> list[bytes]:
    site = build_site(count, profile="typical")
    return [
        response.partition(b"\r\n\r\n")[2]
        for path, response in site.responses.items()
        if site.page_index[path] >= 0
    ]


def cpu_ms_per_page(extract: Extractor, bodies: list[bytes], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        for body in bodies:
            extract(body)
        runs.append(time.process_time() - start)
    return statistics.median(runs) * 1000 / len(bodies)


def report_half(half: str, pages: list[Page], repeat: int, dump: Path | None) -> None:
    print(f"\n## {half} half: {len(pages)} pages ({', '.join(p.name for p in pages)})")
    print(f"{'candidate':<20} {'precision':>9} {'recall':>7} {'F1':>6} {'CPU ms/page':>12}")
    per_page: dict[str, list[str]] = {}
    for name, extract in CANDIDATES.items():
        scores = []
        for page in pages:
            text = extract(page.body)
            page_score = score(text, page.label)
            scores.append(page_score)
            per_page.setdefault(page.name, []).append(
                f"{name}: P {page_score.precision:.2f} R {page_score.recall:.2f}"
            )
            if dump is not None:
                slug = re.sub(r"\W+", "-", name).strip("-")
                (dump / f"{page.name}.{slug}.txt").write_text(text, encoding="utf-8")
        cpu = cpu_ms_per_page(extract, [page.body for page in pages], repeat)
        precision = statistics.mean(s.precision for s in scores)
        recall = statistics.mean(s.recall for s in scores)
        f1 = statistics.mean(s.f1 for s in scores)
        print(f"{name:<20} {precision:>9.3f} {recall:>7.3f} {f1:>6.3f} {cpu:>12.2f}")
    print("\nper page:")
    for page_name, lines in per_page.items():
        print(f"  {page_name}: " + "; ".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--half", choices=("tuning", "held-out", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5, help="timing repetitions (median)")
    parser.add_argument("--typical-pages", type=int, default=200)
    parser.add_argument("--dump", type=Path, help="write every output (and Markdown) here")
    args = parser.parse_args()
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)

    pages = load_pages()
    halves = ("tuning", "held-out") if args.half == "both" else (args.half,)
    for half in halves:
        report_half(half, [p for p in pages if p.half == half], args.repeat, args.dump)
    if args.dump is not None:
        for page in pages:
            if page.half in halves:
                for name, markdown in markdown_outputs(page.body).items():
                    (args.dump / f"{page.name}.{name}.md").write_text(markdown, encoding="utf-8")

    bodies = typical_pages(args.typical_pages)
    size_kb = statistics.mean(len(b) for b in bodies) / 1024
    print(f"\n## typical pages: {len(bodies)} from bench/synthetic_site.py, {size_kb:.1f} KB mean")
    print(f"{'candidate':<20} {'CPU ms/page':>12}")
    for name, extract in CANDIDATES.items():
        print(f"{name:<20} {cpu_ms_per_page(extract, bodies, args.repeat):>12.2f}")


if __name__ == "__main__":
    main()
