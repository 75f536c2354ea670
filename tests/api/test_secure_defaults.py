from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.support.workers import REPO_ROOT

pytestmark = pytest.mark.django_db


def test_cors_is_closed_unless_configured(api: APIClient) -> None:
    response = api.get("/api/v1/keys/", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_no_api_key_exists_unless_someone_creates_one(redis_clean: Any) -> None:
    from isidorus.accounts.models import ApiKey

    assert ApiKey.objects.count() == 0


def test_production_uses_secure_admin_cookies_and_no_debug() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG)"
    )
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "ISIDORUS_ENV": "production",
        "DJANGO_SECRET_KEY": "x" * 50, "DJANGO_DEBUG": "",
        # The suite's own name overrides are a test-only switch that production refuses.
        "ISIDORUS_RESOLVER_OVERRIDES": "",
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.stdout.split() == ["True", "True", "False"], result.stderr[-1000:]
