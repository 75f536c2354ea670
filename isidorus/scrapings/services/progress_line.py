"""The CLI's one-line progress: pages and enrichment apart, each done of admitted, with
the page rate and an estimate of the time left."""

from __future__ import annotations

from isidorus.scrapings.progress import JobProgress, StageProgress

BAR_WIDTH = 24


def _bar(stage: StageProgress) -> str:
    admitted = stage.admitted
    if admitted is None:
        return f"[{'?' * BAR_WIDTH}] {_of(stage)}"
    filled = BAR_WIDTH * stage.done // admitted if admitted else 0
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {_of(stage)}"


def eta_seconds(stage: StageProgress, rate: float) -> float | None:
    """Time left at `rate` items a second; None while unknown. The admitted total grows
    as links are found, so this is a floor while the crawl still discovers pages."""
    if stage.open is None or rate <= 0:
        return None
    return stage.open / rate


def _of(stage: StageProgress) -> str:
    return f"{stage.done}/{'?' if stage.admitted is None else stage.admitted}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def progress_line(progress: JobProgress, elapsed: float) -> str:
    rate = progress.pages.done / elapsed if elapsed > 0 else 0.0
    eta = eta_seconds(progress.pages, rate)
    parts = [
        f"pages {_bar(progress.pages)}",
        f"{rate:.1f} pages/s",
        f"ETA {_duration(eta)}" if eta is not None and progress.pages.open else "",
        f"enrichment {_of(progress.enrichment)}",
    ]
    return "  ".join(part for part in parts if part)
