"""Django in a subprocess, with a clean environment: settings are read once per process, so
tests of settings, production mode and start-up run there."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]

# Variables a subprocess must not inherit from the shell running the tests (CI sets some).
_SCRUBBED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CI")

_PRELUDE = (
    "import django, os\n"
    "os.environ['DJANGO_SETTINGS_MODULE'] = 'marketplace.settings'\n"
    "django.setup()\n"
)


def clean_env(tmp_path: Path) -> dict[str, str]:
    """None of the shell's service URLs, DJANGO_* variables or .env file, and a folder of its own
    for the embedded SQLite file, cache and broker."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED and not k.startswith("DJANGO")}
    env.update(
        DJANGO_ENV_FILE=str(tmp_path / "no.env"),
        DJANGO_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    return env


class DjangoProcess:
    def __init__(self, tmp_path: Path):
        self.env = clean_env(tmp_path)

    def run(
        self,
        *,
        code: str | None = None,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        """``python -c code`` after django.setup(), or ``manage.py *args``."""
        if code is not None:
            command = [sys.executable, "-c", _PRELUDE + code]
        else:
            command = [sys.executable, str(BASE_DIR / "manage.py"), *(args or [])]
        return subprocess.run(
            command,
            cwd=BASE_DIR,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
