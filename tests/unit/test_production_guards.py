"""Test-only switches stop a production process at start-up, naming the variable."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

from tests.support.workers import REPO_ROOT

# A value that turns each switch on.
SWITCHED_ON = {
    "ISIDORUS_DUPLICATE_PUBLISHES": "true",
    "ISIDORUS_FAULT_SCRAPE_URL_REGEX": "/poison",
    "ISIDORUS_RESOLVER_OVERRIDES": "example.com=127.0.0.1",
}


def _import_settings(env_name: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ISIDORUS_ENV": env_name,
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_DEBUG": "",
        **dict.fromkeys(SWITCHED_ON, ""),
        **overrides,
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_every_test_only_switch_is_checked_here() -> None:
    assert set(settings.TEST_ONLY_VARIABLES) == set(SWITCHED_ON)


def test_the_readme_marks_exactly_the_refused_variables_as_test_only() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    marked = {
        name
        for names, meaning in re.findall(r"^\| (`[A-Z_`, ]+`) \| [^|]+ \| (.+) \|$", readme, re.M)
        if meaning.startswith("Test-only")
        for name in re.findall(r"`([A-Z_]+)`", names)
    }
    assert marked == set(settings.TEST_ONLY_VARIABLES)


@pytest.mark.parametrize("name", sorted(SWITCHED_ON))
def test_production_refuses_to_start_with_a_test_only_switch_on(name: str) -> None:
    result = _import_settings("production", **{name: SWITCHED_ON[name]})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name}: test-only, refused when ISIDORUS_ENV=production" in result.stderr


def test_production_starts_with_every_switch_off_and_tests_may_turn_them_on() -> None:
    off = _import_settings("production", ISIDORUS_DUPLICATE_PUBLISHES="false")
    assert off.returncode == 0, off.stderr[-2000:]
    switched = _import_settings("test", **SWITCHED_ON)
    assert switched.returncode == 0, switched.stderr[-2000:]
