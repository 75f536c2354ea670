"""Start an export: check the owner's export slots, fix the header, and stream the rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from isidorus.integrations.job_table import TERMINAL
from isidorus.job_state.limits import slot_give_back, slot_refresh, slot_take
from isidorus.scrapings.exports.formats import EXTENSIONS, FORMATS, WRITERS, ExportHeader
from isidorus.scrapings.exports.rows import export_pages
from isidorus.scrapings.models import Scraping
from isidorus.scrapings.search import Inclusion
from isidorus.scrapings.selectors import scraping_detail

SLOT_NAME = "export"
# A slot frees itself this long after its export stops refreshing it (a killed API worker).
SLOT_LEASE_SECONDS = 300
EXPORT_RETRY_AFTER_SECONDS = 10


class TooManyExports(Exception):
    pass


@dataclass(frozen=True)
class Export:
    stream: ExportStream
    content_type: str
    filename: str


def export_start(*, job: Scraping, file_format: str, include: Inclusion) -> Export:
    """The job's export in `file_format`, streamed; raises TooManyExports past the limit.

    Whether the job had finished is read before the first row: a job that was terminal
    then has every row written, so its export is complete.
    """
    owner_id = job.owner_id
    token = slot_take(
        name=SLOT_NAME,
        owner_id=owner_id,
        limit=settings.ISIDORUS_MAX_CONCURRENT_EXPORTS,
        lease_seconds=SLOT_LEASE_SECONDS,
    )
    if token is None:
        raise TooManyExports
    status = scraping_detail(job=job).status
    header = ExportHeader(job_id=str(job.pk), status=status, finished=status in TERMINAL)
    rows = export_pages(job, include)
    return Export(
        stream=ExportStream(WRITERS[file_format](header, rows), owner_id, token),
        content_type=FORMATS[file_format],
        filename=f"isidorus-{job.pk}.{EXTENSIONS[file_format]}",
    )


class ExportStream(Iterator[bytes]):
    """`chunks`, refreshing the owner's export slot as they go, and giving it back when the
    stream ends or is closed (the server closes it, even unread, when the client leaves)."""

    def __init__(self, chunks: Iterator[bytes], owner_id: int, token: str) -> None:
        self._chunks = chunks
        self._owner_id = owner_id
        self._token: str | None = token
        self._sent = 0

    def __next__(self) -> bytes:
        try:
            chunk = next(self._chunks)
        except BaseException:
            self.close()
            raise
        if self._token is not None and self._sent % 16 == 0:
            slot_refresh(name=SLOT_NAME, owner_id=self._owner_id, token=self._token)
        self._sent += 1
        return chunk

    def close(self) -> None:
        close_chunks = getattr(self._chunks, "close", None)
        if close_chunks is not None:
            close_chunks()
        if self._token is not None:
            slot_give_back(name=SLOT_NAME, owner_id=self._owner_id, token=self._token)
            self._token = None
