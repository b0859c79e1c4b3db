import django.db.models.expressions
from django.db import migrations, models

# The GIN index over the stored search vector exists only on PostgreSQL; SQLite searches with
# LIKE and has no use for it.
GIN_INDEX = "posting_search_gin"


def create_gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {GIN_INDEX} ON postings_posting USING GIN (search_vector)"
        )


def drop_gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("postings", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="posting", name="posting_status_published"),
        migrations.RemoveIndex(model_name="posting", name="posting_status_deadline"),
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(
                fields=["status", "-published_at", "-id"], name="posting_status_published"
            ),
        ),
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(
                fields=["status", "application_deadline", "id"], name="posting_status_deadline"
            ),
        ),
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(fields=["status", "-amount", "-id"], name="posting_status_amount"),
        ),
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(
                condition=models.Q(
                    ("seats_filled__gte", django.db.models.expressions.F("openings"))
                ),
                fields=["status"],
                name="posting_full",
            ),
        ),
        migrations.RunPython(create_gin_index, drop_gin_index, elidable=False),
    ]
