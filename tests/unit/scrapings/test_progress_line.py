"""The CLI's progress line: pages and enrichment apart, rate and ETA."""

from __future__ import annotations

from isidorus.scrapings.progress import JobProgress, StageProgress
from isidorus.scrapings.services.progress_line import eta_seconds, progress_line


def test_pages_and_enrichment_are_shown_apart_with_rate_and_eta() -> None:
    progress = JobProgress(pages=StageProgress(30, 10), enrichment=StageProgress(5, 25))
    line = progress_line(progress, elapsed=10.0)
    assert "pages [##################......] 30/40" in line
    assert "3.0 pages/s" in line
    assert "ETA 3s" in line  # 10 open pages at 3 a second
    assert line.endswith("enrichment 5/30")


def test_unknown_open_counts_show_as_unknown_and_no_eta() -> None:
    progress = JobProgress(pages=StageProgress(7, None), enrichment=StageProgress(0, None))
    line = progress_line(progress, elapsed=2.0)
    assert "7/?" in line
    assert "enrichment 0/?" in line
    assert "ETA" not in line


def test_eta_is_the_open_items_at_the_rate() -> None:
    assert eta_seconds(StageProgress(0, 120), 2.0) == 60.0
    assert eta_seconds(StageProgress(0, 120), 0.0) is None
    assert eta_seconds(StageProgress(0, None), 2.0) is None
