"""`make run`'s demo account: created once with a printed password; later runs never
print or change it."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_demo_account_is_created_once_and_its_password_printed_once() -> None:
    first = StringIO()
    call_command("demo_account", stdout=first)
    assert "dashboard: http://127.0.0.1:8000/dashboard/" in first.getvalue()
    password = re.search(r"with password '([^']+)'", first.getvalue())
    assert password is not None
    assert authenticate(username="demo", password=password.group(1)) is not None

    again = StringIO()
    call_command("demo_account", stdout=again)
    assert password.group(1) not in again.getvalue()
    assert "changepassword demo" in again.getvalue()
    assert get_user_model().objects.filter(username="demo").count() == 1
    assert authenticate(username="demo", password=password.group(1)) is not None
