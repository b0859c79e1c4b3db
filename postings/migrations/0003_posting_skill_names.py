from django.db import migrations, models


def fill_skill_names(apps, schema_editor):
    Posting = apps.get_model("postings", "Posting")
    for posting in Posting.objects.prefetch_related("skills").iterator(chunk_size=500):
        names = ", ".join(sorted(skill.name for skill in posting.skills.all()))
        if names:
            Posting.objects.filter(pk=posting.pk).update(skill_names=names[:1000])


class Migration(migrations.Migration):

    dependencies = [
        ("postings", "0002_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="posting",
            name="skill_names",
            field=models.CharField(blank=True, editable=False, max_length=1000),
        ),
        migrations.RunPython(fill_skill_names, migrations.RunPython.noop),
    ]
