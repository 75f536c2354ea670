"""A page's large values are compressed with lz4 instead of pglz (issue 15).

PostgreSQL compresses every value over about 2 KB before it stores it out of line: a page's
text, Markdown, full text, terms and links are 30-90 KB in all. (Its search vectors are
not compressed at all: migration 0024.) With pglz,
the default, that compression was about 0.5 ms of the database's CPU a page on `typical`
(600 pages inserted: 495 ms against 182 with lz4), and reading the values back costs more
too. lz4 stores about 18% more.

Only the columns' setting changes (no table rewrite); rows written before keep pglz and
read as before. A server built without lz4 (it is optional at PostgreSQL's build) keeps
pglz: the migration checks what the server offers.
"""

from typing import Any

from django.db import migrations

COLUMNS = (
    "text",
    "content_markdown",
    "full_text",
    "terms",
    "links",
    "summary",
)


def _offers_lz4(cursor: Any) -> bool:
    cursor.execute(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def _set_compression(method: str) -> Any:
    def apply(apps: Any, schema_editor: Any) -> None:
        with schema_editor.connection.cursor() as cursor:
            if not _offers_lz4(cursor):
                return
            changes = ", ".join(f"ALTER COLUMN {name} SET COMPRESSION {method}" for name in COLUMNS)
            cursor.execute(f"ALTER TABLE scrapings_page {changes}")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("scrapings", "0022_page_links_jsonb"),
    ]

    operations = [
        migrations.RunPython(_set_compression("lz4"), reverse_code=_set_compression("pglz")),
    ]
