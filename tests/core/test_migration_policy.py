"""The expand/contract rule for migrations (docs/operations.md, "Releases"), checked in CI by
``manage.py check_migrations`` (make lint)."""

import pytest
from django.core.management import call_command
from django.db import migrations, models

from marketplace.core.migration_policy import _check, violations


def migration(name: str, *operations) -> migrations.Migration:
    made = migrations.Migration(name, "postings")
    made.operations = list(operations)
    return made


def test_the_projects_migrations_follow_the_rule(capsys):
    assert violations() == []
    call_command("check_migrations")
    assert "rule holds" in capsys.readouterr().out


def test_the_rule_finds_the_unsafe_additions_made_before_it():
    """Without the baseline, the additions written before the rule are named (the check works)."""
    found = violations(baseline=set())
    assert any("posting.skill_names" in problem for problem in found)


def test_adding_a_not_null_column_to_an_existing_table_needs_a_database_default():
    unsafe = migration(
        "0099_posting_level",
        migrations.AddField("posting", "level", models.CharField(max_length=10, default="x")),
    )
    assert _check(unsafe) == [
        "adds NOT NULL posting.level without db_default (make it null=True or give it "
        "db_default; backfill; tighten in a contract)"
    ]
    nullable = migration(
        "0099_posting_level",
        migrations.AddField("posting", "level", models.CharField(max_length=10, null=True)),
    )
    with_db_default = migration(
        "0099_posting_level",
        migrations.AddField("posting", "level", models.CharField(max_length=10, db_default="x")),
    )
    new_table = migration(
        "0099_badges",
        migrations.CreateModel("Badge", [("id", models.BigAutoField(primary_key=True))]),
        migrations.AddField("badge", "label", models.CharField(max_length=10)),
    )
    assert _check(nullable) == _check(with_db_default) == _check(new_table) == []


def test_removing_or_renaming_is_a_contract_step():
    remove = migrations.RemoveField("posting", "skill_names")
    assert "contract step" in _check(migration("0099_drop_skill_names", remove))[0]
    assert _check(migration("0099_contract_skill_names", remove)) == []
    rename = migrations.RenameField("posting", "title", "name")
    assert "RenameField is a contract step" in _check(migration("0099_rename", rename))[0]


@pytest.mark.django_db
def test_making_a_nullable_column_not_null_is_a_contract_step():
    tighten = migrations.AlterField("payout", "paid_at", models.DateTimeField())
    made = migrations.Migration("0099_payout_paid_at_required", "payments")
    made.operations = [tighten]
    assert "makes payout.paid_at NOT NULL" in _check(made)[0]
