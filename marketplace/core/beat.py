"""Beat's scheduler: django-celery-beat's database scheduler, plus a heartbeat file.

Every tick (at most ``beat_max_loop_interval`` apart, 5 s by default) touches
``BEAT_HEARTBEAT_FILE``; ``manage.py beat_health`` fails when the file is older than
``BEAT_HEARTBEAT_MAX_AGE`` seconds, so a beat that hangs or lost its database is restarted by
its container's health check.
"""

from pathlib import Path

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler


class HeartbeatScheduler(DatabaseScheduler):
    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        beat_heartbeat()
        return interval


def heartbeat_path() -> Path:
    return Path(settings.BEAT_HEARTBEAT_FILE)


def beat_heartbeat() -> None:
    path = heartbeat_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
