from __future__ import annotations

import pytest

from isidorus.scrapings.jobs import JobConfig
from isidorus.scrapings.services import discover

JOB = JobConfig(
    id="memo-job", owner_id=1, url="http://site.test/", depth=3, max_pages=100,
    scope="host", include=(), exclude=(), respect_robots=False,
)  # fmt: skip


def test_a_full_memo_keeps_the_urls_read_since_its_last_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    computed: list[str] = []

    def counting(job: JobConfig, url: str) -> str | None:
        computed.append(url)
        return None if url.startswith("http://site.test/") else "out_of_scope"

    monkeypatch.setattr(discover, "_skip_reason", counting)
    monkeypatch.setattr(discover, "_skip_reasons", {})
    monkeypatch.setattr(discover, "_skip_reasons_before", {})
    monkeypatch.setattr(discover, "_SKIP_REASONS_LIMIT", 3)
    menu = "http://site.test/menu"
    pages = [f"http://site.test/p{number}" for number in range(8)]

    assert discover.skip_reason(JOB, menu) is None
    for page in pages:
        discover.skip_reason(JOB, page)
        assert discover.skip_reason(JOB, menu) is None  # the menu link, on every page
    assert discover.skip_reason(JOB, "http://elsewhere.test/") == "out_of_scope"

    assert computed.count(menu) == 1
    assert sorted(set(computed) - {menu}) == sorted([*pages, "http://elsewhere.test/"])
