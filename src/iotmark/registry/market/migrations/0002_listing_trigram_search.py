"""On PostgreSQL, a trigram index so a free-text search (LIKE '%word%') over the listing does not scan the table.
SQLite has no such index type; the migration does nothing there."""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS listing_search_trgm ON market_certificatelisting "
    "USING gin (search_text gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS listing_search_trgm"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("market", "0001_listing_profiles_reports")]
    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
