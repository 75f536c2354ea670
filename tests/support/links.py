"""Links as the writer stores them: appended to their page's `links`, read back as rows."""

from __future__ import annotations

import json

from django.db import connection

from isidorus.scrapings.models import Link, Page


def add_link(page: Page, target_url: str, *, internal: bool = True, nofollow: bool = False) -> Link:
    """Append one link to the page's stored links; returns it as its `scrapings_link` row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scrapings_page SET links = links || %s::jsonb, "
            "has_external_links = has_external_links OR %s WHERE id = %s",
            [json.dumps([[target_url, internal, nofollow]]), not internal, page.pk],
        )
    link = Link.objects.filter(page_id=page.pk).order_by("-id").first()
    assert link is not None
    return link
