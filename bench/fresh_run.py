"""How long a fresh clone takes from ``make run`` to serving: ``python -m bench.fresh_run``.

Clones this checkout's committed HEAD into a temporary folder (no ``.venv``, no ``var/``), runs
``make run PORT=<a free port>`` there with none of the shell's service variables (so SQLite and
the filesystem broker, as on a new laptop), and polls ``/healthz`` and the home page until both
answer 200. That time includes creating the virtualenv, installing the locked packages, migrating,
loading the demo data and starting web, worker and beat. Then it presses Ctrl-C (SIGINT to the
process group it started) and deletes the clone.

``FRESH_RUNS`` (default 2) runs one after the other: the first may fill uv's package cache
(``~/.cache/uv``), the later ones show the time with the packages in the local cache, which is
the figure the goal is about. Prints the table and writes it to ``docs/fresh_run.md``.

Where the time goes: make prints each command before it runs it, so the time at which each step's
command line appears splits the run into steps (virtualenv and uv, package install, migrate, demo
data, and the web server, worker and beat starting until the site answers).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 30.0
TIMEOUT_SECONDS = 600.0
_SCRUBBED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CI", "VIRTUAL_ENV")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own server
            return response.status == 200
    except OSError:
        return False


# (step, the text of the command line that starts the next step), in the order make runs them.
STEPS = [
    ("virtualenv and uv", "pip install --quiet --python"),
    ("install packages", "manage.py migrate"),
    ("migrate", "manage.py seed_demo"),
    ("demo data", "manage.py serve"),
]
STEP_NAMES = [name for name, _marker in STEPS] + ["start and answer"]


class StepClock:
    """Reads make's output, copies it to the log and notes when each step's command appears."""

    def __init__(self, stream, log, started: float):
        self.started = started
        self.seen: dict[str, float] = {}
        self._thread = threading.Thread(target=self._read, args=(stream, log), daemon=True)
        self._thread.start()

    def _read(self, stream, log) -> None:
        for line in iter(stream.readline, b""):
            log.write(line.decode(errors="replace"))
            for _name, marker in STEPS:
                if marker in line.decode(errors="replace") and marker not in self.seen:
                    self.seen[marker] = time.monotonic() - self.started

    def split(self, total: float) -> list[float]:
        """Seconds per step (NaN when a step's start was not seen)."""
        bounds = [0.0] + [self.seen.get(marker, float("nan")) for _n, marker in STEPS] + [total]
        return [end - start for start, end in zip(bounds, bounds[1:], strict=False)]


def one_run(workdir: Path, number: int) -> tuple[float, str, list[float]]:
    clone = workdir / f"clone-{number}"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED and not k.startswith("DJANGO")}
    log = (workdir / f"run-{number}.log").open("w")
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so Ctrl-C reaches everything it starts
    )
    clock = StepClock(process.stdout, log, started)
    base = f"http://127.0.0.1:{port}"
    try:
        while time.monotonic() - started < TIMEOUT_SECONDS:
            if process.poll() is not None:
                return float("nan"), f"make run exited with {process.returncode}", []
            if answers(f"{base}/healthz") and answers(f"{base}/"):
                total = time.monotonic() - started
                return total, "serving", clock.split(total)
            time.sleep(0.25)
        return float("nan"), f"not serving after {TIMEOUT_SECONDS:.0f}s", []
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def table(rows: list[tuple[int, float, str, list[float]]]) -> str:
    head = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# A fresh clone's `make run`, to serving",
        "",
        f"Measured by `python -m bench.fresh_run` on {dt.date.today().isoformat()}, commit "
        f"`{head[:60]}`, {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (load average then: {os.getloadavg()[0]:.1f}). Goal: under "
        f"{GOAL_SECONDS:.0f} s with the packages in the local cache (run 2 on).",
        "",
        "| run | seconds to serving | result | " + " | ".join(STEP_NAMES) + " |",
        "|---|---|---|" + "---|" * len(STEP_NAMES),
    ]
    for n, seconds, result, steps in rows:
        cells = [f"{s:.1f}" for s in steps] or ["-"] * len(STEP_NAMES)
        lines.append(f"| {n} | {seconds:.1f} | {result} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    runs = int(os.environ.get("FRESH_RUNS", "2"))
    workdir = Path(tempfile.mkdtemp(prefix="fresh-run-"))
    rows = []
    try:
        for number in range(1, runs + 1):
            seconds, result, steps = one_run(workdir, number)
            print(f"run {number}: {seconds:.1f} s ({result})", flush=True)
            rows.append((number, seconds, result, steps))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = table(rows)
    print(text)
    (ROOT / "docs" / "fresh_run.md").write_text(text)


if __name__ == "__main__":
    main()
