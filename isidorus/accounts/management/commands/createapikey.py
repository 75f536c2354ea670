from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from isidorus.accounts.services import KeyLimitReached, api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it once. It cannot be shown again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username of the key's owner")
        parser.add_argument("--name", required=True, help="a label for the key")
        parser.add_argument("--expires-in", type=int, metavar="DAYS", help="days until expiry")
        parser.add_argument(
            "--create-user", action="store_true", help="create the user first if missing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["user"]
        user = user_model.objects.filter(username=username).first()
        if user is None:
            if not options["create_user"]:
                raise CommandError(f"no user named {username!r} (add --create-user to create it)")
            user = user_model.objects.create_user(username=username)
        expires_in = options["expires_in"]
        if expires_in is not None and expires_in <= 0:
            raise CommandError("--expires-in must be a positive number of days")
        expires_at = timezone.now() + timedelta(days=expires_in) if expires_in else None
        try:
            _, raw = api_key_create(owner=user, name=options["name"], expires_at=expires_at)
        except KeyLimitReached as error:
            raise CommandError(str(error)) from None
        self.stdout.write(raw)
