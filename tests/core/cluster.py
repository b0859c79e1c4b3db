"""The processes of a deployment, started for real on this machine: gunicorn web nodes, Celery
workers per queue group and beat, as docker-compose.yml runs them, sharing one PostgreSQL, one
Redis and one S3 server. Every process leads its own process group, so that killing or stopping
it reaches its children (gunicorn's and Celery's pool processes); every wait has a deadline."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from marketplace.celery import app as celery_app
from tests.core.django_process import BASE_DIR, free_port, http_get, wait_until_gone

START_WITHIN = 180  # seconds, on a busy machine


def wait_for(what: str, check: Callable[[], object], seconds: float, every: float = 0.5):
    """``check()``'s first truthy answer, or AssertionError naming what never happened."""
    deadline = time.monotonic() + seconds
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f}s")
        time.sleep(every)


@dataclass
class Service:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        with self.log.open("a") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                self.command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int, wait: float) -> bool:
        """Send ``sig`` to the whole group; whether the group has gone within ``wait``."""
        if self.process is None:
            return True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return False
        return wait_until_gone([self.process.pid], seconds=wait) == []

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, as when a machine dies."""
        assert self.signal(signal.SIGKILL, 15), f"{self.name} survived SIGKILL"

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL if it takes too long."""
        if not self.signal(signal.SIGTERM, 30):
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def json_lines(self) -> list[dict]:
        lines = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue
        return lines


class Cluster:
    def __init__(self, env: dict[str, str], folder: Path):
        self.env = env
        self.folder = folder
        self.services: list[Service] = []

    def _service(self, name: str, command: list[str], **env: str) -> Service:
        service = Service(name, command, {**self.env, **env}, self.folder / f"{name}.log")
        self.services.append(service)
        return service

    def web(self, name: str, *, workers: int = 2) -> tuple[Service, str]:
        """A gunicorn node (gunicorn.conf.py applies) with its own metrics folder."""
        port = free_port()
        service = self._service(
            name,
            [sys.executable, "-m", "gunicorn", "marketplace.wsgi:application"]
            + [f"--bind=127.0.0.1:{port}", f"--workers={workers}", "--timeout=30"],
            PROMETHEUS_MULTIPROC_DIR=str(self.folder / f"{name}-metrics"),
        )
        return service, f"http://127.0.0.1:{port}"

    def worker(self, node: str, queues: str) -> Service:
        return self._service(
            node.split("@")[0],
            [sys.executable, "-m", "celery", "-A", "marketplace", "worker"]
            + ["-Q", queues, "-n", node, "--concurrency=1", "--loglevel=INFO"]
            + ["--without-mingle", "--without-gossip"],
        )

    def beat(self) -> Service:
        return self._service(
            "beat",
            [sys.executable, "-m", "celery", "-A", "marketplace", "beat", "--loglevel=INFO"]
            + ["--scheduler=marketplace.core.beat:HeartbeatScheduler"],
        )

    def stop_all(self) -> list[int]:
        """Stop everything still running; the pids of any process left (none, or a bug)."""
        for service in self.services:
            if service.running:
                service.stop()
        groups = [s.process.pid for s in self.services if s.process is not None]
        return wait_until_gone(groups, seconds=10)


def web_ready(base: str) -> bool:
    try:
        return http_get(f"{base}/readyz", timeout=5)[0] == 200
    except OSError:
        return False


def worker_answers(node: str) -> bool:
    return bool(celery_app.control.ping(destination=[node], timeout=1.0))


def purge_queues() -> None:
    """Nothing left in the broker by an earlier test is delivered to these workers."""
    with celery_app.connection_for_write() as conn:
        for queue in celery_app.conf.task_queues:
            conn.default_channel.queue_purge(queue.name)
