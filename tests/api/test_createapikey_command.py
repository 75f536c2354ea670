from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from isidorus.accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def test_createapikey_prints_a_working_key_once(make_user: Any, redis_clean: Any) -> None:
    make_user("bob")
    out = StringIO()
    call_command(
        "createapikey", "--user", "bob", "--name", "laptop", "--expires-in", "30", stdout=out
    )
    raw = out.getvalue().strip()
    key = ApiKey.objects.get()
    assert raw.startswith(f"{key.prefix}.")
    assert key.expires_at is not None
    assert raw not in str(ApiKey.objects.values_list())
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get("/api/v1/keys/").status_code == 200


def test_createapikey_refuses_an_unknown_user(db: None) -> None:
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("createapikey", "--user", "ghost", "--name", "x")


def test_createapikey_can_create_the_user(db: None) -> None:
    call_command("createapikey", "--user", "new", "--name", "x", "--create-user", stdout=StringIO())
    assert ApiKey.objects.get().owner.username == "new"
