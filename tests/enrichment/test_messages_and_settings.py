"""Enrichment message bodies, retry timing and start-up checks (every task's routing:
tests/unit/test_contracts.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from isidorus.contracts import EXTRACT_IMAGE, SUMMARIZE, MalformedMessage
from isidorus.enrichment.common import Retry, follow_ups_for, retry_delay
from tests.support.workers import REPO_ROOT

JOB = "0" * 8 + "-0000-0000-0000-" + "0" * 12


def test_a_valid_body_gives_job_ids_and_attempt() -> None:
    summary = SUMMARIZE.read({"v": 1, "job": JOB, "pages": [3, 1, 3]})
    assert (summary.job_id, summary.row_ids, summary.attempt) == (JOB, (3, 1), 0)
    assert EXTRACT_IMAGE.read({"v": 1, "job": JOB, "images": [7], "a": 2}).attempt == 2


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"v": 2, "job": JOB, "pages": [1]},
        {"v": 1, "job": "x", "pages": [1]},
        {"v": 1, "job": JOB, "pages": []},
        {"v": 1, "job": JOB, "pages": ["1"]},
        {"v": 1, "job": JOB, "pages": [True]},
        {"v": 1, "job": JOB, "images": [1]},
        {"v": 1, "job": JOB, "pages": [1], "a": -1},
    ],
)
def test_malformed_bodies_are_refused(body: Any) -> None:
    with pytest.raises(MalformedMessage):
        SUMMARIZE.read(body)


def test_retries_back_off_and_honour_retry_after(settings: Any) -> None:
    settings.ENRICHMENT_RETRY_BASE_SECONDS = 2.0
    assert [retry_delay(attempt, None) for attempt in (1, 2, 3)] == [4, 8, 16]
    assert retry_delay(1, 30.0) == 30
    assert retry_delay(20, None) == 900  # SQS's longest delay
    [retry, deferral] = follow_ups_for(0, {5: Retry("rate_limited", 7.0)}, [6])
    assert (retry.ids, retry.attempt, retry.delay_seconds) == ([5], 1, 7)
    assert (deferral.ids, deferral.attempt, deferral.delay_seconds) == ([6], 0, 1)


def _check_with(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_start_up_fails_when_an_llm_provider_has_no_key() -> None:
    result = _check_with(SUMMARY_PROVIDER="anthropic", ANTHROPIC_API_KEY="")
    assert result.returncode != 0
    assert "ANTHROPIC_API_KEY must be set when a provider is 'anthropic'" in result.stderr


def test_start_up_refuses_an_unknown_provider() -> None:
    result = _check_with(IMAGE_DESCRIBER_PROVIDER="gemini")
    assert result.returncode != 0
    assert "IMAGE_DESCRIBER_PROVIDER='gemini' must be one of none, openai, anthropic, ollama" in (
        result.stderr
    )
