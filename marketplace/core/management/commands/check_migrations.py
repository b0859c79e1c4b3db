"""``manage.py check_migrations``: the zero-downtime migration rule (see
``marketplace.core.migration_policy``); ``--write-baseline`` records today's migrations as
written before the rule (done once, when the rule was introduced)."""

from django.core.management.base import BaseCommand, CommandError

from marketplace.core import migration_policy


class Command(BaseCommand):
    help = "Exit 1 when a migration breaks the expand/contract rule of docs/operations.md."

    def add_arguments(self, parser):
        parser.add_argument("--write-baseline", action="store_true")

    def handle(self, *args, write_baseline: bool, **options):
        if write_baseline:
            names = [f"{app}.{name}" for app, name in migration_policy.project_migrations()]
            header = "# Migrations written before the expand/contract rule (not checked).\n"
            migration_policy.BASELINE.write_text(header + "\n".join(names) + "\n")
            self.stdout.write(f"baseline: {len(names)} migrations")
            return
        found = migration_policy.violations()
        for problem in found:
            self.stderr.write(f"migration policy: {problem}")
        if found:
            raise CommandError(f"{len(found)} migration(s) break the expand/contract rule.")
        self.stdout.write("migrations: expand/contract rule holds")
