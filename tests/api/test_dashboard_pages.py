"""The dashboard's pages as served: login required, a user's own jobs only (staff see all
and are told so), a strict Content Security Policy, and a login limited per address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from isidorus.scrapings.models import Scraping

pytestmark = pytest.mark.django_db


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_need_a_login_and_show_only_what_the_user_may_read(
    make_user: Callable[..., Any], make_job: Callable[..., Scraping], redis_clean: Any
) -> None:
    alice_job = make_job()
    bob_job = make_job(owner=make_user("bob"))
    assert Client().get("/").url == "/dashboard/"
    anonymous = Client().get(f"/dashboard/jobs/{alice_job.pk}/")
    assert anonymous.status_code == 302
    assert anonymous.url.startswith("/dashboard/login/")

    alice = _signed_in(alice_job.owner)
    page = alice.get("/dashboard/")
    assert page.status_code == 200
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert "unsafe-inline" not in page["Content-Security-Policy"]
    assert b"Staff view" not in page.content
    assert alice.get(f"/dashboard/jobs/{alice_job.pk}/").status_code == 200
    assert alice.get(f"/dashboard/jobs/{bob_job.pk}/").status_code == 404

    staff = _signed_in(make_user("operator", is_staff=True))
    assert b"Staff view" in staff.get("/dashboard/").content
    assert staff.get(f"/dashboard/jobs/{bob_job.pk}/").status_code == 200


def test_the_login_is_limited_per_address(
    make_user: Callable[..., Any], settings: Any, redis_clean: Any
) -> None:
    settings.ISIDORUS_AUTH_FAILURE_LIMIT = 3
    user = make_user("carol")
    user.set_password("right password")
    user.save()
    client = Client()
    for _ in range(3):
        wrong = client.post("/dashboard/login/", {"username": "carol", "password": "wrong"})
        assert wrong.status_code == 200
    refused = client.post("/dashboard/login/", {"username": "carol", "password": "right password"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    other = Client(REMOTE_ADDR="127.0.0.9")
    signed_in = other.post("/dashboard/login/", {"username": "carol", "password": "right password"})
    assert signed_in.status_code == 302
    assert signed_in.url == "/dashboard/"
