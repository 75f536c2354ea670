"""The summary gets its own search vector (Page.summary_vector), so writing a summary
recomputes that short vector only, not the whole text's (see Page.search_vector).

PostgreSQL cannot change a generated column's expression: search_vector is dropped and
added again, which computes it for every page (a table rewrite: on a large database this
migration takes as long as indexing every page's text once; run it between crawls).
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scrapings", "0017_image_url_lookup"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="page", name="page_search_vector"),
        migrations.RemoveField(model_name="page", name="search_vector"),
        migrations.AddField(
            model_name="page",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.SearchVector(
                        "title", config="english", weight="A"
                    ),
                    "||",
                    django.contrib.postgres.search.SearchVector(
                        "text", config="english", weight="C"
                    ),
                    django.contrib.postgres.search.SearchConfig("english"),
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddField(
            model_name="page",
            name="summary_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.SearchVector(
                    "summary", config="english", weight="B"
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="page_search_vector"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["summary_vector"], name="page_summary_vector"
            ),
        ),
    ]
