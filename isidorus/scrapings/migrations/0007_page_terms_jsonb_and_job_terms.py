"""Page terms as one jsonb value per page, job term totals in JobTerm (issue 4: about
1,200 term rows a page made them most of the write cost). Fewer redundant FK indexes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scrapings', '0006_filtered_list_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='page',
            name='terms',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='image',
            name='scraping',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='images', to='scrapings.scraping'),
        ),
        migrations.AlterField(
            model_name='link',
            name='scraping',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='scrapings.scraping'),
        ),
        migrations.AlterField(
            model_name='page',
            name='scraping',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='pages', to='scrapings.scraping'),
        ),
        migrations.CreateModel(
            name='JobTerm',
            fields=[
                ('pk', models.CompositePrimaryKey('scraping', 'term', blank=True, editable=False, primary_key=True, serialize=False)),
                ('term', models.CharField(max_length=100)),
                ('total', models.PositiveBigIntegerField()),
                ('pages', models.PositiveIntegerField()),
                ('scraping', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='scrapings.scraping')),
            ],
        ),
        # Term totals change on every batch: leave room on each page for HOT updates.
        migrations.RunSQL(
            sql="ALTER TABLE scrapings_jobterm SET (fillfactor = 70)",
            reverse_sql="ALTER TABLE scrapings_jobterm RESET (fillfactor)",
        ),
        # Existing rows move over: each page's terms into its jsonb, each job's totals.
        migrations.RunSQL(
            sql=[
                "UPDATE scrapings_page SET terms = agg.terms FROM ("
                " SELECT page_id, jsonb_object_agg(term, count) AS terms"
                " FROM scrapings_pageterm GROUP BY page_id) AS agg"
                " WHERE scrapings_page.id = agg.page_id",
                "INSERT INTO scrapings_jobterm (scraping_id, term, total, pages)"
                " SELECT scraping_id, term, sum(count), count(*)"
                " FROM scrapings_pageterm GROUP BY scraping_id, term",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.DeleteModel(
            name='PageTerm',
        ),
    ]
