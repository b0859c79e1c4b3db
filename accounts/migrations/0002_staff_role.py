from django.db import migrations, models


def staff_role_for_superusers(apps, schema_editor):
    """``createsuperuser`` used to leave staff with the default student role. A staff user with
    no student profile never signed up as a student: they become staff. Staff who signed up
    as students or joined an employer keep that role."""
    User = apps.get_model("accounts", "User")
    User.objects.filter(
        is_staff=True, role="student", student_profile__isnull=True
    ).update(role="staff")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="role",
            field=models.CharField(
                choices=[("student", "Student"), ("employer", "Employer"), ("staff", "Staff")],
                default="student",
                max_length=20,
            ),
        ),
        migrations.RunPython(staff_role_for_superusers, migrations.RunPython.noop),
    ]
