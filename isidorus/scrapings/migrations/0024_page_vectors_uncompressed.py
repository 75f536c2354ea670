"""A page's search vectors are stored out of line and never compressed (issue 15).

A search ranks every page that matches, reading each one's vector: for a word on all 8,000
pages of a job, 69 ms from uncompressed vectors against 103-107 ms from lz4-compressed ones
(a vector compresses by about 11%, 7.0 KB against 7.9, and each read pays the
decompression). pglz, before 0023, had mostly given up on them and stored them as they were;
EXTERNAL says so, and spares each insert the attempt.
"""

from django.db import migrations

SET_EXTERNAL = (
    "ALTER TABLE scrapings_page ALTER COLUMN search_vector SET STORAGE EXTERNAL, "
    "ALTER COLUMN summary_vector SET STORAGE EXTERNAL"
)
SET_EXTENDED = (
    "ALTER TABLE scrapings_page ALTER COLUMN search_vector SET STORAGE EXTENDED, "
    "ALTER COLUMN summary_vector SET STORAGE EXTENDED"
)


class Migration(migrations.Migration):
    dependencies = [
        ("scrapings", "0023_page_lz4_compression"),
    ]

    operations = [migrations.RunSQL(SET_EXTERNAL, reverse_sql=SET_EXTENDED)]
