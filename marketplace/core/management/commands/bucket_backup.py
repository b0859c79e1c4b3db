"""``manage.py bucket_backup FOLDER``: copy every object of the bucket into a folder, skipping
what an earlier run copied (see ``marketplace.core.bucket``)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from marketplace.core.bucket import NoBucket, bucket_backup


class Command(BaseCommand):
    help = "Copy the bucket's files into FOLDER (incremental: files already there are skipped)."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder: Path, **options):
        folder.mkdir(parents=True, exist_ok=True)
        try:
            result = bucket_backup(folder)
        except NoBucket as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"bucket_backup: {result.copied} file(s) copied ({result.bytes} bytes), "
            f"{result.skipped} already there, into {folder}"
        )
