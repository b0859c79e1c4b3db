"""gunicorn's settings for the web nodes, read from the working folder (the image's /app, the
project folder in the tests): only what the command line does not say.

Request metrics of several gunicorn workers: with ``PROMETHEUS_MULTIPROC_DIR`` set, every worker
process writes its counters to files in that folder and ``/metrics`` sums them
(prometheus_client's multiprocess mode, as django-prometheus documents). The folder must start
empty (files of an earlier run's processes would be added in), and a worker that exits is marked
dead so that its live gauges are dropped; its counters stay, as they should.
"""

import os
from pathlib import Path


def _multiprocess_dir() -> Path | None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    return Path(folder) if folder else None


def on_starting(server):
    folder = _multiprocess_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    if _multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
