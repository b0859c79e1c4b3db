from django.db import migrations

# The dashboard's recommendations read, per skill, the newest postings carrying it: an index on
# the skills link table (Django's own table for ``Posting.skills``, which has no ``Meta`` to
# declare it in) by skill, then posting. Adding an index only expands the schema.
INDEX = "postings_posting_skills_skill_newest"


class Migration(migrations.Migration):
    dependencies = [
        ("postings", "0008_employer_newest_index"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON postings_posting_skills (skill_id, posting_id)",
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
