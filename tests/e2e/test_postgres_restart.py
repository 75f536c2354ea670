"""PostgreSQL restarted under a running crawl: a server of the test's own, in a temporary
directory, stopped at once (`pg_ctl stop -m immediate`, every backend cut off as in a crash)
and started again on the same port and data directory. The workers reconnect and the job
completes exactly. While it is down, /health/ and every endpoint that needs the database
answer 503 with Retry-After in the API's error shape, never a 500.

Without the 503 handling the second test fails on the first API request (a 500
`server_error`). The crawl test fails if a worker keeps a dead connection (every later task
fails and its batch ends in the DLQ), or if a batch whose transaction the stop cut off is
counted as written (pages missing from the exact set).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.test import Client

from config import api_urls
from config.queues import SCRAPER, WRITER
from isidorus.accounts.services import api_key_create
from isidorus.core.errors import DATABASE_RETRY_AFTER_SECONDS
from isidorus.scrapings.models import Page
from tests.e2e.crawling import assert_completed_exactly, start_crawl, wait_terminal
from tests.support.api_routes import ADMIN_REQUESTS, API_REQUESTS
from tests.support.database import django_database_at
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.postgres_server import OwnPostgres
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for
from tests.support.workers import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DATABASE = "isidorus_own"
DOWN_SECONDS = 4.0
DEPTH = 6


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    """One server for the module, migrated once (about 3 s in all)."""
    server = OwnPostgres().init()
    try:
        server.start()
        server.create_database(DATABASE)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=REPO_ROOT, check=True, timeout=120,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings",
                 "DATABASE_URL": server.url(DATABASE)},
        )  # fmt: skip
        yield server
    finally:
        server.destroy()


@pytest.fixture
def on_own_postgres(own_postgres: OwnPostgres) -> Iterator[OwnPostgres]:
    """This process's ORM on the own server too (restored before the test's flush)."""
    with django_database_at(port=own_postgres.port, name=DATABASE):
        yield own_postgres
        if not (own_postgres.data / "postmaster.pid").exists():
            own_postgres.start()  # a test that failed while the server was down


def test_a_postgresql_restart_mid_crawl_completes_exactly(
    on_own_postgres: OwnPostgres, start_worker: Any, redis_clean: Any
) -> None:
    server = on_own_postgres
    routes = generated_routes(100, links_per_page=4, delay=0.2)
    expected = reachable_within(routes, DEPTH)
    with FixtureSite(routes) as site:
        worker = start_worker(
            stages=[SCRAPER, WRITER], name="postgres-restart",
            env={"DATABASE_URL": server.url(DATABASE)},
        )  # fmt: skip
        job_id = start_crawl(site.url("/"), depth=DEPTH)
        wait_for(
            lambda: Page.objects.filter(scraping_id=job_id).count() >= 5,
            timeout=60, message="pages written before the restart",
        )  # fmt: skip
        written_before = Page.objects.filter(scraping_id=job_id).count()
        server.stop()
        time.sleep(DOWN_SECONDS)
        server.start()
        close_old_connections()  # this process's own connection died with the server too
        item = wait_terminal(job_id, timeout=120)

    assert written_before < len(expected)  # the crawl was still going when the server went
    assert_completed_exactly(job_id, item, site.origin, expected, routes)
    # The outage reached the workers (a writer lost its connection and retried its batch),
    # so the exact result above is recovery, not luck of timing.
    assert "database connection lost" in worker.log_path.read_text(errors="replace")


def _assert_unavailable(response: Any, request: str) -> None:
    assert response.status_code == 503, (request, response.status_code, response.content[:300])
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS), request
    assert response.json()["error"]["code"] == "database_unavailable", request
    assert set(response.json()["error"]) == {"code", "message", "fields"}, request


def test_while_postgresql_is_down_every_endpoint_answers_503(
    on_own_postgres: OwnPostgres, redis_clean: Any
) -> None:
    assert set(API_REQUESTS) == {pattern.name for pattern in api_urls.urlpatterns}
    server = on_own_postgres
    owner = get_user_model().objects.create_superuser(username=f"admin-{uuid.uuid4().hex[:8]}")
    _, raw_key = api_key_create(owner=owner, name="outage")
    api = Client(HTTP_X_API_KEY=raw_key, raise_request_exception=False)
    admin = Client(raise_request_exception=False)
    admin.force_login(owner)
    assert api.get("/api/v1/scrapings/").status_code == 200  # up: the key works

    server.stop()
    try:
        health = Client().get("/health/")
        assert health.status_code == 503
        assert health.json()["checks"]["postgresql"]["status"] == "down"
        for requests in API_REQUESTS.values():
            for method, path in requests:
                body = "{}" if method == "post" else ""
                response = api.generic(
                    method.upper(), f"/api/v1/{path}", body, content_type="application/json"
                )
                _assert_unavailable(response, f"{method.upper()} {path}")
        # The schema needs no database: it is served as usual, not refused.
        assert api.get("/api/v1/schema/").status_code == 200
        for method, path in ADMIN_REQUESTS:
            data = {"username": owner.username, "password": "x"} if method == "post" else None
            _assert_unavailable(getattr(admin, method)(path, data=data), f"{method.upper()} {path}")
    finally:
        server.start()

    # A server drops the broken connection at the next request (close_old_connections on
    # request_started, with CONN_HEALTH_CHECKS); the test client leaves that signal out.
    close_old_connections()
    assert api.get("/api/v1/scrapings/").status_code == 200  # back once the server is
