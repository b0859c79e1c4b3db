"""``manage.py files_check``: exit 0 when every file the database names is in its storage (the
bucket, or the disk), else 1 listing the missing ones. Run it after a restore."""

from django.core.management.base import BaseCommand, CommandError

from marketplace.core.bucket import missing_files


class Command(BaseCommand):
    help = "Check that every file named by a FileField exists in its storage."

    def handle(self, *args, **options):
        missing = missing_files()
        if missing:
            for line in missing:
                self.stderr.write(f"missing: {line}")
            raise CommandError(f"{len(missing)} file(s) named in the database are missing.")
        self.stdout.write(self.style.SUCCESS("Every file the database names is there."))
