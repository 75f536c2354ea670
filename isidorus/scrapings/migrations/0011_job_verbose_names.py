"""The admin names a Scraping a "job" (issue 17, one word). Names only: no SQL runs."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scrapings", "0010_writebatch_effects_done"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="scraping",
            options={
                "ordering": ["-created_at", "-id"],
                "verbose_name": "job",
                "verbose_name_plural": "jobs",
            },
        ),
        migrations.AlterField(
            model_name="page",
            name="scraping",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="pages",
                to="scrapings.scraping",
                verbose_name="job",
            ),
        ),
    ]
