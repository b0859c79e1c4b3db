"""``manage.py worker_health --node payments@host``: the worker's container health check.

Pings that one worker node through the broker (Celery's remote control) and exits 0 when it
answers within ``--timeout`` seconds, 1 otherwise. A worker whose consumer is stuck, or that lost
its broker, does not answer. The web nodes' ``/readyz`` never depends on this.
"""

from django.core.management.base import BaseCommand, CommandError

from marketplace.celery import app


class Command(BaseCommand):
    help = "Exit 0 when the named Celery worker node answers a ping, 1 otherwise."

    def add_arguments(self, parser):
        parser.add_argument("--node", required=True, help="the worker's node name (-n), a@host")
        parser.add_argument("--timeout", type=float, default=5.0)

    def handle(self, *args, node: str, timeout: float, **options):
        try:
            replies = app.control.ping(destination=[node], timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - the broker itself is unreachable
            raise CommandError(f"worker {node}: the broker is unreachable ({exc})") from exc
        if not any(node in reply for reply in replies):
            raise CommandError(f"worker {node}: no answer within {timeout:g}s")
        self.stdout.write(f"worker {node}: ok")
