"""``manage.py bucket_restore FOLDER``: upload a folder made by ``bucket_backup`` into the
configured bucket, skipping objects already there (see ``marketplace.core.bucket``)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from marketplace.core.bucket import NoBucket, bucket_restore


class Command(BaseCommand):
    help = "Upload a bucket backup FOLDER into the configured bucket; then run files_check."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder: Path, **options):
        if not folder.is_dir():
            raise CommandError(f"No such folder: {folder}")
        try:
            result = bucket_restore(folder)
        except NoBucket as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"bucket_restore: {result.copied} file(s) uploaded ({result.bytes} bytes), "
            f"{result.skipped} already there"
        )
