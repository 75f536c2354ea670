"""WriteBatch.effects_done (issue 19): a committed batch's counters and enrichment are
tracked until done, so the finisher can run them for a writer that died after its commit."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scrapings", "0009_link_external_partial_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="writebatch",
            name="effects_done",
            field=models.BooleanField(default=False),
        ),
        # Batches written before this field ran their effects in the old way; marking them
        # done keeps them out of the partial index. The job audit still checks every job.
        migrations.RunSQL(
            "UPDATE scrapings_writebatch SET effects_done = true",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="writebatch",
            index=models.Index(
                condition=models.Q(("effects_done", False)),
                fields=["scraping"],
                name="writebatch_effects_pending",
            ),
        ),
    ]
