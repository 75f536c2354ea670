from __future__ import annotations

from django.apps import AppConfig


class ScrapingsConfig(AppConfig):
    name = "isidorus.scrapings"
    label = "scrapings"
