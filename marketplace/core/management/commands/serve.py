"""``manage.py serve [addr:port]``: the web server, a Celery worker and beat, as one command.

``make run`` ends with it. It is a two-line Procfile run by honcho (the Python Foreman):
``runserver`` and ``celery worker --beat --pool=solo`` (beat runs inside the worker, with
django-celery-beat's database scheduler). honcho starts each child in its own process group and
signals the whole group, so stopping it reaches everything it started (the embedded beat is a
child process of the worker). Ctrl-C (SIGINT) or SIGTERM stops both; when either child dies,
the other is stopped too, so the site never runs half-alive (a web server whose tasks silently
never run). Each output line is prefixed with the time and the child's name.
"""

import os
import shlex
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from honcho.manager import SIGNALS, Manager

from marketplace.core.links import site_url_for


class Command(BaseCommand):
    help = "Serve the site with a Celery worker and beat; Ctrl-C stops all of them."
    requires_system_checks: list = []  # runserver runs them itself

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, addrport: str, loglevel: str, **options):
        manage_py = str(settings.BASE_DIR / "manage.py")
        python = sys.executable
        worker = [python, "-m", "celery", "-A", "marketplace", "worker", "--beat", "--pool=solo"]
        # Links in e-mails and feeds made by the worker point at this server's own address.
        site = os.environ.get("SITE_URL") or site_url_for(addrport)
        env = {**os.environ, "SITE_URL": site}
        manager = Manager()
        # "exec": the shell honcho starts becomes the program, so its pid is the program's.
        manager.add_process(
            "worker", "exec " + shlex.join([*worker, f"--loglevel={loglevel}"]), env=env
        )
        manager.add_process(
            "web", "exec " + shlex.join([python, manage_py, "runserver", "--noreload", addrport])
        )
        self.stdout.write(f"serve: {site}/ with a Celery worker and beat; Ctrl-C stops all.")
        self.stdout.flush()
        manager.loop()
        stopped_by = {info["rc"]: info["name"] for info in SIGNALS.values()}
        if manager.returncode in stopped_by:  # a clean stop on Ctrl-C or SIGTERM
            self.stdout.write(f"serve: stopped on {stopped_by[manager.returncode]}.")
            return
        self.stderr.write(f"serve: a process exited with code {manager.returncode}; stopped all.")
        sys.exit(manager.returncode or 1)
