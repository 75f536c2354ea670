from __future__ import annotations

from django.apps import AppConfig


class ScrapingsConfig(AppConfig):
    name = "isidorus.scrapings"
    label = "scrapings"
    # What people read in the admin: the unit of work is a "job" (the label stays for URLs).
    verbose_name = "Jobs"
