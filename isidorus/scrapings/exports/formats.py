"""An export's byte stream in each format, written as the rows are read.

- `jsonl`: one JSON object per page (`"type": "page"`), then one summary record
  (`"type": "summary"`: the number of pages and whether the job had finished when the
  export began, so a client can tell a complete export from a cut or partial one).
- `csv`: a header row, then one row per page; list fields are JSON in their cell, and
  cells a spreadsheet would run as formulas are neutralised (names.py).
- `markdown`: a zip of one `.md` file per page with content (front matter with its URL,
  title and summary, then its Markdown), then `manifest.json` (the same summary). The zip
  is written to a pipe, never seeked: entries carry data descriptors.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from isidorus.scrapings.exports.names import ZipNames, neutralise_cell
from isidorus.scrapings.exports.rows import ExportPage

FORMATS = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "markdown": "application/zip",
}
EXTENSIONS = {"jsonl": "jsonl", "csv": "csv", "markdown": "zip"}
CSV_COLUMNS = (
    "url", "final_url", "status_code", "outcome", "reason", "depth", "title", "summary",
    "content_source", "markdown", "top_terms", "link_count", "images",
)  # fmt: skip
_FLUSH_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExportHeader:
    job_id: str
    status: str
    finished: bool


def page_record(row: ExportPage) -> dict[str, Any]:
    page = row.page
    return {
        "type": "page",
        "url": page["url"],
        "final_url": page["final_url"],
        "status_code": page["status_code"],
        "outcome": page["outcome"],
        "reason": page["reason"],
        "depth": page["depth"],
        "title": page["title"],
        "summary": page["summary"],
        "summary_model": page["summary_model"],
        "content_source": page["content_source"],
        "markdown": page["content_markdown"],
        "top_terms": row.top_terms,
        "link_count": row.link_count,
        "images": row.images,
        "noindex": page["noindex"],
        "canonical_url": page["canonical_url"],
        "is_canonical": page["is_canonical"],
    }


def _summary(header: ExportHeader, pages: int) -> dict[str, Any]:
    return {
        "type": "summary",
        "job": header.job_id,
        "pages": pages,
        "status": header.status,
        "finished": header.finished,
    }


def jsonl(header: ExportHeader, rows: Iterable[ExportPage]) -> Iterator[bytes]:
    buffer: list[bytes] = []
    size = count = 0
    for row in rows:
        line = json.dumps(page_record(row), ensure_ascii=False).encode() + b"\n"
        buffer.append(line)
        size += len(line)
        count += 1
        if size >= _FLUSH_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    buffer.append(json.dumps(_summary(header, count)).encode() + b"\n")
    yield b"".join(buffer)


def csv_rows(header: ExportHeader, rows: Iterable[ExportPage]) -> Iterator[bytes]:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        record = page_record(row)
        cells = []
        for column in CSV_COLUMNS:
            value = record[column]
            if isinstance(value, list):
                value = json.dumps(value, ensure_ascii=False)
            cells.append(neutralise_cell("" if value is None else str(value)))
        writer.writerow(cells)
        if text.tell() >= _FLUSH_BYTES:
            yield text.getvalue().encode()
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode()


class _Pipe(io.RawIOBase):
    """A write-only, unseekable sink whose bytes the generator hands on and forgets."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def markdown_zip(header: ExportHeader, rows: Iterable[ExportPage]) -> Iterator[bytes]:
    pipe = _Pipe()
    names = ZipNames()
    count = 0
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for row in rows:
            if not row.page["content_markdown"]:
                continue
            archive.writestr(names.name_for(row.page["url"]), _markdown_file(row))
            count += 1
            if sum(map(len, pipe.chunks)) >= _FLUSH_BYTES:
                yield pipe.take()
        manifest = {**_summary(header, count), "files": count}
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    yield pipe.take()


def _markdown_file(row: ExportPage) -> str:
    page = row.page
    front = {"url": page["url"], "title": page["title"], "summary": page["summary"]}
    # JSON strings are valid YAML scalars: quotes and newlines in titles stay harmless.
    fields = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in front.items()]
    return "\n".join(["---", *fields, "---", "", page["content_markdown"], ""])


WRITERS = {"jsonl": jsonl, "csv": csv_rows, "markdown": markdown_zip}
