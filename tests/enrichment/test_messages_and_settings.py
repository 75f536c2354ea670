"""Message bodies, retry timing, task registration and start-up checks of enrichment."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from config.celery import app
from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER, queue_name
from isidorus.enrichment.common import Retry, follow_ups_for, retry_delay
from isidorus.enrichment.messages import MalformedMessage, enrichment_message
from tests.support.workers import REPO_ROOT

JOB = "0" * 8 + "-0000-0000-0000-" + "0" * 12


def test_a_valid_body_gives_job_ids_and_attempt() -> None:
    assert enrichment_message({"v": 1, "job": JOB, "pages": [3, 1, 3]}, "summary") == (
        JOB,
        [3, 1],
        0,
    )
    assert enrichment_message({"v": 1, "job": JOB, "images": [7], "a": 2}, "image")[2] == 2


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
        enrichment_message(body, "summary")


def test_retries_back_off_and_honour_retry_after(settings: Any) -> None:
    settings.ENRICHMENT_RETRY_BASE_SECONDS = 2.0
    assert [retry_delay(attempt, None) for attempt in (1, 2, 3)] == [4, 8, 16]
    assert retry_delay(1, 30.0) == 30
    assert retry_delay(20, None) == 900  # SQS's longest delay
    [retry, deferral] = follow_ups_for(0, {5: Retry("rate_limited", 7.0)}, [6])
    assert (retry.ids, retry.attempt, retry.delay_seconds) == ([5], 1, 7)
    assert (deferral.ids, deferral.attempt, deferral.delay_seconds) == ([6], 0, 1)


@pytest.mark.filterwarnings("ignore::celery.exceptions.CDeprecationWarning")
def test_the_tasks_are_registered_with_explicit_names_on_their_own_queues() -> None:
    app.loader.import_default_modules()
    assert app.tasks["isidorus.summarize"].queue == queue_name(PAGE_SUMMARIZER)
    assert app.tasks["isidorus.extract_image"].queue == queue_name(IMAGE_EXTRACTOR)


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
