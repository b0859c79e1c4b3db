import django.contrib.postgres.search
from django.db import migrations

# The skill filter's GIN index and the vectors of the postings that exist, on PostgreSQL only
# (SQLite filters by the link table and keeps the column empty). Adding a nullable column and an
# index only expands the schema. Postings that the previous code saves while the release rolls
# out have no vector until their next save: run ``manage.py refresh_search_vectors`` after it.
GIN_INDEX = "posting_skill_gin"
BACKFILL = """
    UPDATE postings_posting AS p SET skill_vector = to_tsvector('simple', coalesce((
        SELECT string_agg('s' || ps.skill_id, ' ') FROM postings_posting_skills ps
        WHERE ps.posting_id = p.id), ''))
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKFILL)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {GIN_INDEX} ON postings_posting USING GIN (skill_vector)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("postings", "0009_skill_link_newest_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="posting",
            name="skill_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
