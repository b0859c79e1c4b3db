"""Django in a subprocess, with a clean environment: settings are read once per process, so
tests of settings, production mode and start-up run there. And what tests that start servers
need: a free port, a plain GET, and waiting until a process group has gone."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def group_members(pgid: int) -> list[int]:
    """Live processes (not zombies waiting to be reaped) in a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry))
    return members


def wait_until_gone(pgids: list[int], seconds: float = 15) -> list[int]:
    deadline = time.monotonic() + seconds
    while True:
        left = [pid for pgid in pgids for pid in group_members(pgid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)
