"""A page's links become one jsonb value on its row (issue 15), and `scrapings_link` a view.

About 130 link rows a page, each with two index entries, were the bulkiest rows the writer
made. The links move to `Page.links` as [[target url, internal, nofollow], ...] in their
old id order; `has_external_links` marks the pages an `internal=false` list must read. The
view keeps the rows' shape (id = page id x 2^20 + position: link ids change once, here).
"""

from django.db import migrations, models

COPY_LINKS = """
UPDATE scrapings_page AS page
SET links = grouped.links, has_external_links = grouped.has_external
FROM (
    SELECT page_id,
           jsonb_agg(jsonb_build_array(target_url, internal, nofollow) ORDER BY id) AS links,
           bool_or(NOT internal) AS has_external
    FROM scrapings_link
    GROUP BY page_id
) AS grouped
WHERE grouped.page_id = page.id
"""

# LINK_ID_PAGE_FACTOR (models.py) is 2^20 = 1048576.
CREATE_VIEW = """
CREATE VIEW scrapings_link AS
SELECT page.id * 1048576 + (link.ordinality - 1) AS id,
       page.scraping_id,
       page.id AS page_id,
       (link.ordinality - 1)::integer AS position,
       link.value ->> 0 AS target_url,
       (link.value ->> 1)::boolean AS internal,
       (link.value ->> 2)::boolean AS nofollow
FROM scrapings_page AS page
CROSS JOIN LATERAL jsonb_array_elements(page.links) WITH ORDINALITY AS link (value, ordinality)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("scrapings", "0021_expand_counted"),
    ]

    operations = [
        migrations.AddField(
            model_name="page",
            name="has_external_links",
            field=models.BooleanField(db_default=False),
        ),
        migrations.AddField(
            model_name="page",
            name="links",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunSQL(COPY_LINKS, reverse_sql=migrations.RunSQL.noop),
        migrations.DeleteModel(name="Link"),
        migrations.CreateModel(
            name="Link",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("position", models.PositiveIntegerField()),
                ("target_url", models.TextField()),
                ("internal", models.BooleanField()),
                ("nofollow", models.BooleanField()),
                (
                    "page",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="scrapings.page",
                    ),
                ),
                (
                    "scraping",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="scrapings.scraping",
                    ),
                ),
            ],
            options={"db_table": "scrapings_link", "ordering": ["id"], "managed": False},
        ),
        migrations.RunSQL(CREATE_VIEW, reverse_sql="DROP VIEW scrapings_link"),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("has_external_links", True)),
                fields=["scraping", "id"],
                name="page_scraping_external_links",
            ),
        ),
    ]
