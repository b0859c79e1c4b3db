"""``manage.py beat_health``: beat's container health check (see ``marketplace.core.beat``)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.core.beat import heartbeat_path


class Command(BaseCommand):
    help = "Exit 0 when beat's heartbeat file is fresh, 1 otherwise."

    def handle(self, *args, **options):
        path = heartbeat_path()
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            raise CommandError(f"beat: no heartbeat at {path} (not started yet?)") from None
        limit = settings.BEAT_HEARTBEAT_MAX_AGE
        if age > limit:
            raise CommandError(f"beat: last heartbeat {age:.0f}s ago (more than {limit}s)")
        self.stdout.write(f"beat: ok (heartbeat {age:.0f}s ago)")
