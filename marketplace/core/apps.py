from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "marketplace.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from pathlib import Path

        from django.conf import settings

        # The embedded defaults keep the SQLite file, the file cache and the broker's folders
        # under var/ (DJANGO_VAR_DIR); create them once so that no process fails on a missing one.
        for sub in ("cache", "broker/queue", "broker/processed", "broker/control", "media"):
            Path(settings.VAR_DIR, sub).mkdir(parents=True, exist_ok=True)
