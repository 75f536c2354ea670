from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Create the local demo account once and print its password (once, as API keys "
        "are); later runs say how to log in. For `make run` on one machine only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--url", default="http://127.0.0.1:8000/dashboard/")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        username = options["username"]
        write = self.stdout.write
        write(f"dashboard: {options['url']}")
        if users.filter(username=username).exists():
            write(
                f"log in as {username!r} with the password printed when the account was "
                f"created (set a new one: manage.py changepassword {username})"
            )
            return
        password = secrets.token_urlsafe(12)
        users.create_user(username=username, password=password)
        write(f"log in as {username!r} with password {password!r} (shown this once)")
