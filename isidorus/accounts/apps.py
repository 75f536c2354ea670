from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "isidorus.accounts"
    label = "accounts"

    def ready(self) -> None:
        from isidorus.accounts import schema  # noqa: F401 - registers the OpenAPI extension
