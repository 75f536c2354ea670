from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from isidorus.accounts.keys import secret_matches, split_key
from isidorus.accounts.models import ApiKey
from isidorus.accounts.services import api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(db: None) -> Client:
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client = Client()
    client.login(username="root", password="pw-123456789")
    return client


def test_admin_create_shows_the_key_once_and_the_hash_verifies(
    admin_client_logged_in: Client, make_user: Any
) -> None:
    user = make_user("carol")
    response = admin_client_logged_in.post(
        "/admin/accounts/apikey/add/", {"owner": user.pk, "name": "from-admin"}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(r"([0-9a-f]{12}\.[A-Za-z0-9_-]{43})", page)
    assert match is not None, "the new key is shown after creation"
    prefix, secret = split_key(match.group(1))
    assert secret_matches(secret, ApiKey.objects.get(prefix=prefix).hashed_secret)
    again = admin_client_logged_in.get("/admin/accounts/apikey/").content.decode()
    assert match.group(1) not in again


def test_admin_revoke_action(
    admin_client_logged_in: Client, make_user: Any, redis_clean: Any
) -> None:
    key, _ = api_key_create(owner=make_user("dave"), name="k")
    admin_client_logged_in.post(
        "/admin/accounts/apikey/",
        {"action": "revoke_selected", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_admin_lists_and_searches_keys(admin_client_logged_in: Client, make_user: Any) -> None:
    api_key_create(owner=make_user("erin"), name="findme")
    page = admin_client_logged_in.get("/admin/accounts/apikey/?q=findme").content.decode()
    assert "findme" in page
    assert admin_client_logged_in.get("/admin/auth/user/?q=erin").status_code == 200


def test_staff_see_every_owners_jobs_in_the_admin(
    admin_client_logged_in: Client, make_user: Any, aws_resources: Any, redis_clean: Any
) -> None:
    from isidorus.scrapings.models import Scraping

    job = Scraping.objects.create(owner=make_user("frank"), url="http://127.0.0.1:1/franks")
    page = admin_client_logged_in.get("/admin/scrapings/scraping/").content.decode()
    assert "franks" in page
    assert "0 of 0 (0 fetched, 0 failed, 0 skipped)" in page  # no live counters yet
    detail = admin_client_logged_in.get(f"/admin/scrapings/scraping/{job.pk}/change/")
    assert detail.status_code == 200


def test_the_admin_calls_a_scraping_a_job(admin_client_logged_in: Client, make_user: Any) -> None:
    from isidorus.scrapings.models import Page, Scraping

    job = Scraping.objects.create(owner=make_user("gina"), url="http://127.0.0.1:1/")
    page = Page.objects.create(scraping=job, url="http://127.0.0.1:1/", url_hash="a" * 40)
    index = admin_client_logged_in.get("/admin/").content.decode()
    assert ">Jobs<" in index
    assert "Scraping" not in index
    jobs = admin_client_logged_in.get("/admin/scrapings/scraping/").content.decode()
    assert "Select job to view" in jobs
    pages = admin_client_logged_in.get("/admin/scrapings/page/").content.decode()
    detail = admin_client_logged_in.get(f"/admin/scrapings/page/{page.pk}/change/").content
    for html in (pages, detail.decode()):
        assert "Scraping" not in html
        assert "Job" in html


def test_jobs_are_cancelled_through_the_service_and_never_deleted_as_bare_rows(
    admin_client_logged_in: Client, make_user: Any, aws_resources: Any, redis_clean: Any
) -> None:
    from isidorus.scrapings.models import JobStatus, Scraping

    queued = Scraping.objects.create(owner=make_user("hal"), url="http://127.0.0.1:1/")
    done = Scraping.objects.create(
        owner=make_user("ida"), url="http://127.0.0.1:1/", status=JobStatus.COMPLETED
    )
    listing = admin_client_logged_in.get("/admin/scrapings/scraping/").content.decode()
    assert 'value="delete_selected"' not in listing
    assert 'value="cancel_jobs"' in listing
    assert 'value="delete_jobs"' in listing
    response = admin_client_logged_in.post(
        "/admin/scrapings/scraping/",
        {"action": "cancel_jobs", "_selected_action": [str(queued.pk), str(done.pk)]},
        follow=True,
    )
    assert "Cancelled 1 job(s); 1 had already finished." in response.content.decode()
    queued.refresh_from_db()
    done.refresh_from_db()
    assert (queued.status, done.status) == (JobStatus.CANCELLED, JobStatus.COMPLETED)


def test_the_job_list_loads_while_dynamodb_does_not_answer(
    admin_client_logged_in: Client, make_user: Any, settings: Any
) -> None:
    """A table that does not exist stands for DynamoDB failing: the list still loads."""
    from isidorus.scrapings.models import Scraping

    settings.JOBS_TABLE = "isidorus-no-such-table"
    Scraping.objects.create(owner=make_user("ivy"), url="http://127.0.0.1:1/ivys")
    page = admin_client_logged_in.get("/admin/scrapings/scraping/")
    assert page.status_code == 200
    assert "unavailable" in page.content.decode()
