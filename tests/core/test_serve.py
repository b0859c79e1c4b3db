"""``manage.py serve`` (the end of ``make run``): the site, a real worker and beat on the embedded
SQLite + filesystem broker, ready within the time budget, and all stopped by one Ctrl-C."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from tests.core.django_process import BASE_DIR, free_port, http_get, wait_until_gone

READY_WITHIN = 120  # seconds; make run's budget is 3 minutes including the install


# Run in another process on the default SITE_URL (port 8000): it only writes the notification;
# the e-mail is built by serve's worker, so its links show the worker's SITE_URL.
_NOTIFY = """
from django.db import transaction
from accounts.models import User
from notifications.services import notify
with transaction.atomic():
    user = User.objects.create_user(email="links@example.com", password="x" * 12)
    notify(recipient=user, kind="posting.approved", title="Links", dedupe_key="links",
           link="/postings/")
"""


def _wait_for_mail(folder, seconds: float = 90) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        files = sorted(folder.glob("*.log")) if folder.exists() else []
        if files:
            return files[0].read_text()
        time.sleep(0.5)
    return ""


def test_serve_answers_with_a_real_worker_and_stops_on_ctrl_c(django_env, run_django, tmp_path):
    migrated = run_django(args=["migrate", "--noinput", "-v0"])
    assert migrated.returncode == 0, migrated.stderr

    port = free_port()
    mail = tmp_path / "mail"
    django_env.update(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail),
    )
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - read back below
    serve = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), "serve", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=django_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as make's is in a terminal
    )
    try:
        deadline = time.monotonic() + READY_WITHIN
        ready = None
        while time.monotonic() < deadline and serve.poll() is None:
            try:
                status, body = http_get(f"http://127.0.0.1:{port}/readyz")
            except OSError:
                status, body = None, b""
            if status == 200:
                ready = json.loads(body)
                break
            time.sleep(1)
        log.seek(0)
        output = log.read()
        assert ready is not None, f"/readyz never answered 200:\n{output}"
        assert set(ready["checks"].values()) == {"ok"}
        assert http_get(f"http://127.0.0.1:{port}/")[0] == 200
        assert f"serve: http://127.0.0.1:{port}/ with a Celery worker" in output

        # Links in e-mails the worker sends use the port served on, not SITE_URL's default.
        notified = run_django(code=_NOTIFY)
        assert notified.returncode == 0, notified.stderr
        message = _wait_for_mail(mail)
        log.seek(0)
        assert f"http://127.0.0.1:{port}/postings/" in message, log.read()
        assert "127.0.0.1:8000" not in message

        children = {
            name: int(pid) for name, pid in re.findall(r"(\w+) started \(pid=(\d+)\)", output)
        }
        assert set(children) == {"web", "worker"}

        # Ctrl-C in a terminal: SIGINT to the foreground process group.
        os.killpg(serve.pid, signal.SIGINT)
        assert serve.wait(timeout=60) == 0
        # Each child leads its own process group; nothing of any group may be left running.
        assert wait_until_gone(list(children.values())) == []
        log.seek(0)
        assert "serve: stopped on SIGINT." in log.read()
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        log.close()


def test_serve_stops_the_worker_when_the_web_server_cannot_start(django_env, tmp_path):
    """A taken port: runserver exits, so serve stops the worker too and reports the failure."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), "serve", f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=django_env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert result.returncode != 0
    assert re.search(r"web stopped \(rc=[1-9]", result.stdout)
    assert "serve: a process exited with code" in result.stderr
    pids = [int(p) for p in re.findall(r"\w+ started \(pid=(\d+)\)", result.stdout)]
    assert len(pids) == 2
    assert wait_until_gone(pids) == []
