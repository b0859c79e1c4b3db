"""``manage.py serve [addr:port]``: the web server, a Celery worker and beat, as one command.

``make run`` ends with it. It starts two children: ``runserver`` and ``celery worker --beat
--pool=solo`` (beat runs inside the worker, with django-celery-beat's database scheduler). Each
child gets its own process group, so that stopping it reaches everything it started (the
embedded beat is a child process of the worker). Ctrl-C (SIGINT) or SIGTERM to this command
stops both; when either child dies, the other is stopped too, so the site never runs half-alive
(a web server whose tasks silently never run).

Both children get ``SITE_URL`` set to the address served here (unless ``SITE_URL`` is already in
the environment), so that links made outside a request (e-mails sent by the worker) point at this
server: ``make run PORT=8765`` links to 8765.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from marketplace.core.links import site_url_for

STOP_GRACE_SECONDS = 20


class Command(BaseCommand):
    help = "Serve the site with a Celery worker and beat; Ctrl-C stops all of them."
    requires_system_checks: list = []  # runserver runs them itself

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, addrport: str, loglevel: str, **options):
        manage_py = str(settings.BASE_DIR / "manage.py")
        commands = {
            "worker": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "marketplace",
                "worker",
                "--beat",
                "--pool=solo",
                f"--loglevel={loglevel}",
            ],
            "web": [sys.executable, manage_py, "runserver", "--noreload", addrport],
        }
        site = os.environ.get("SITE_URL") or site_url_for(addrport)
        child_env = {**os.environ, "SITE_URL": site}
        stop = threading.Event()
        received: list[str] = []

        def on_signal(signum, frame):
            received.append(signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        children: dict[str, subprocess.Popen] = {}
        exit_code = 0
        try:
            for name, command in commands.items():
                children[name] = subprocess.Popen(command, env=child_env, start_new_session=True)  # noqa: S603 - fixed argv
                self.stdout.write(f"serve: started {name} (pid {children[name].pid})")
            self.stdout.write(f"serve: {site}/ with a Celery worker and beat; Ctrl-C stops all.")
            while not stop.wait(0.3):
                ended = {n: c.returncode for n, c in children.items() if c.poll() is not None}
                if ended:
                    name, code = next(iter(ended.items()))
                    self.stderr.write(f"serve: {name} exited with code {code}; stopping the rest.")
                    exit_code = code or 1
                    break
        finally:
            self._stop_all(children)
        if received:
            self.stdout.write(f"serve: stopped on {received[0]}.")
        if exit_code:
            sys.exit(exit_code)

    def _stop_all(self, children: dict[str, subprocess.Popen]) -> None:
        """SIGTERM each child's process group (a warm shutdown for the worker), then SIGKILL."""
        for child in children.values():
            _signal_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"serve: {name} did not stop in time; killing it.")
                _signal_group(child.pid, signal.SIGKILL)
                child.wait()
            # Anything the child left behind in its group goes with it.
            _signal_group(child.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
