"""The real API server (gunicorn, as `make run` starts it, DEBUG off) serves the admin's
CSS and the API docs with every file they load: a new user sees styled pages, offline."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.support.api_server import api_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_admin_css_and_the_api_docs_are_served(
    worker_env: dict[str, str], redis_clean: Any
) -> None:
    with api_server({**worker_env, "DJANGO_DEBUG": "false"}, workers="1") as server:
        css = requests.get(f"{server.origin}/static/admin/css/base.css", timeout=10)
        assert css.status_code == 200
        assert css.headers["Content-Type"].startswith("text/css")
        login = requests.get(f"{server.origin}/admin/login/", timeout=10)
        assert login.status_code == 200
        assert "/static/admin/css/base.css" in login.text
        for page in ("/api/docs/", "/api/redoc/"):
            html = requests.get(f"{server.origin}{page}", timeout=10)
            assert html.status_code == 200
            assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.text)
            assert assets, page
            for asset in assets:
                assert requests.get(f"{server.origin}{asset}", timeout=10).status_code == 200, asset
