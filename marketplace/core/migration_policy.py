"""The migration rule that keeps releases zero-downtime (docs/operations.md, "Releases").

During a rolling release old and new code run side by side on one schema, so each migration must
suit both: **expand** (add) in one release, move the code, **contract** (remove) in a later one.
Checked for every migration that is not in the baseline (those written before the rule):

- A column added to an existing table must be nullable or have a database default
  (``db_default``): Django's ``default`` exists only in the new code, and the old code's inserts
  would fail on a NOT NULL column it does not know.
- Removing or renaming a column or a table, and making a column NOT NULL, are contract steps: they
  go in a migration whose name contains ``contract``, released after the code that stopped using
  what it removes.

``manage.py check_migrations`` (run by ``make lint``, so by CI) exits 1 naming each violation.
"""

from __future__ import annotations

from pathlib import Path

from django.apps import apps
from django.db import migrations
from django.db.migrations.exceptions import NodeNotFoundError
from django.db.migrations.loader import MigrationLoader
from django.db.models.fields import NOT_PROVIDED

# Migrations written before the rule (one "app.name" a line); the rule applies to every later one.
BASELINE = Path(__file__).with_name("migration_baseline.txt")
CONTRACT_OPERATIONS = (
    migrations.RemoveField,
    migrations.RenameField,
    migrations.DeleteModel,
    migrations.RenameModel,
)


def _project_apps() -> set[str]:
    return {
        config.label
        for config in apps.get_app_configs()
        if not config.name.startswith(("django.", "allauth", "rest_framework", "django_"))
    }


def violations(*, baseline: set[tuple[str, str]] | None = None) -> list[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    baseline = load_baseline() if baseline is None else baseline
    found = []
    for (app_label, name), migration in sorted(loader.disk_migrations.items()):
        if app_label not in _project_apps() or (app_label, name) in baseline:
            continue
        found += [f"{app_label}.{name}: {problem}" for problem in _check(migration)]
    return found


def _check(migration) -> list[str]:
    created = {
        op.name.lower() for op in migration.operations if isinstance(op, migrations.CreateModel)
    }
    contract = "contract" in migration.name
    problems = []
    for op in migration.operations:
        if isinstance(op, migrations.AddField) and op.model_name.lower() not in created:
            field = op.field
            if not field.null and field.db_default is NOT_PROVIDED and not field.many_to_many:
                problems.append(
                    f"adds NOT NULL {op.model_name}.{op.name} without db_default "
                    "(make it null=True or give it db_default; backfill; tighten in a contract)"
                )
        elif isinstance(op, CONTRACT_OPERATIONS) and not contract:
            problems.append(
                f"{type(op).__name__} is a contract step: put it in a migration named *contract* "
                "released after the code that stopped using it"
            )
        elif (
            isinstance(op, migrations.AlterField)
            and not op.field.null
            and not contract
            and _was_nullable(migration, op)
        ):
            problems.append(
                f"makes {op.model_name}.{op.name} NOT NULL: a contract step (name it *contract*)"
            )
    return problems


def _was_nullable(migration, op) -> bool:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    try:
        state = loader.project_state((migration.app_label, migration.name), at_end=False)
    except NodeNotFoundError:  # a migration not written yet: compare with today's schema
        state = loader.project_state()
    try:
        model = state.models[(migration.app_label, op.model_name.lower())]
    except KeyError:
        return False
    before = model.fields.get(op.name)
    return bool(before is not None and before.null)


def project_migrations() -> list[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted(key for key in loader.disk_migrations if key[0] in _project_apps())


def load_baseline() -> set[tuple[str, str]]:
    pairs = set()
    for line in BASELINE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            app_label, name = line.split(".", 1)
            pairs.add((app_label, name))
    return pairs
