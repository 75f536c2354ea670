from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_int, env_list, env_networks
from tests.support.workers import REPO_ROOT


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("off", False)])
def test_env_bool_reads_the_usual_spellings(raw: str, expected: bool) -> None:
    assert env_bool("FLAG", not expected, environ={"FLAG": raw}) is expected


def test_env_bool_refuses_a_value_that_is_not_a_boolean() -> None:
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG", False, environ={"FLAG": "maybe"})


def test_env_int_refuses_text_and_out_of_range_values() -> None:
    with pytest.raises(ImproperlyConfigured, match="COUNT='ten' is not an integer"):
        env_int("COUNT", 1, environ={"COUNT": "ten"})
    with pytest.raises(ImproperlyConfigured, match="COUNT=0 is below the minimum 1"):
        env_int("COUNT", 1, minimum=1, environ={"COUNT": "0"})


def test_missing_or_blank_values_take_the_default() -> None:
    assert env_int("COUNT", 7, environ={"COUNT": "  "}) == 7
    assert env_list("HOSTS", ["a"], environ={}) == ["a"]
    assert env_list("HOSTS", [], environ={"HOSTS": "a, b,,"}) == ["a", "b"]


def test_env_networks_checks_every_entry_and_names_the_bad_one() -> None:
    assert env_networks("NETS", [], environ={"NETS": "10.0.0.0/8, ::1"}) == ["10.0.0.0/8", "::1"]
    with pytest.raises(ImproperlyConfigured, match=r"NETS entry '10\.0\.0\.0/33' is not an IP"):
        env_networks("NETS", [], environ={"NETS": "10.0.0.1,10.0.0.0/33"})


def test_env_choice_names_the_allowed_values() -> None:
    with pytest.raises(ImproperlyConfigured, match="one of dev, test"):
        env_choice("MODE", "dev", ("dev", "test"), environ={"MODE": "prod"})


def _check_with(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_start_up_fails_on_a_bad_boolean_and_names_the_variable() -> None:
    result = _check_with(DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_start_up_fails_on_a_bad_integer_and_names_the_variable() -> None:
    result = _check_with(SQS_VISIBILITY_TIMEOUT="soon")
    assert result.returncode != 0
    assert "SQS_VISIBILITY_TIMEOUT='soon' is not an integer" in result.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {"ISIDORUS_ENV": "production", "DJANGO_SECRET_KEY": ""}
    result = _check_with(**env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_with_debug_on() -> None:
    result = _check_with(ISIDORUS_ENV="production", DJANGO_SECRET_KEY="x" * 50, DJANGO_DEBUG="1")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be off" in result.stderr


def test_the_test_suite_runs_on_its_own_namespace() -> None:
    from django.conf import settings

    # Never the names `make run` uses, so a running stack cannot steal test messages.
    assert settings.ISIDORUS_NAMESPACE != "isidorus"
    assert not settings.REDIS_URL.endswith("/0")
    assert settings.DATABASES["default"]["NAME"] not in ("isidorus", "test_isidorus")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # make test's processes: each on its own names, never the bench's Redis (2)
        assert settings.ISIDORUS_NAMESPACE.endswith(f"-{worker}")
        assert settings.JOBS_TABLE.startswith(settings.ISIDORUS_NAMESPACE)
        assert int(settings.REDIS_URL.rpartition("/")[2]) > 2


def test_manage_py_test_runs_the_pytest_suite() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [
            sys.executable, "manage.py", "test",
            "tests/unit/test_env.py::test_start_up_fails_on_a_bad_boolean_and_names_the_variable",
        ],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
