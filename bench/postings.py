"""Benchmark of finding work: ``python -m bench.postings`` (not a test; about 6-8 minutes).

1. Creates its own PostgreSQL database (``bench_postings``, dropped first), migrates it and seeds
   1,000 published postings with ``manage.py seed_bulk``.
2. Starts gunicorn with 2 sync workers on the site's own settings (plus a hello view, see
   ``bench/urls.py``) and, from this second process, keeps a fixed number of connections busy
   for each scenario: the hello view, the list page, the API list, a search, and the page 50
   pages deep (reached by following ``next`` links first). It records requests per second and
   the p50/p95/p99 latencies.
3. Seeds up to 100,000 postings, runs the same scenarios again, and prints the table with the
   ratios against the goals of the issue.

Each size is measured twice: "cached" as deployed (anonymous list answers are cached briefly,
see ``postings/cache.py``; the benchmark repeats one URL per scenario, so nearly every request
is a hit) and "uncached" (``POSTINGS_PAGE_CACHE_SECONDS=0``: every request renders), which is
what a visitor with a new filter combination costs.

Environment: ``BENCH_DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/bench_postings),
``BENCH_SECONDS`` per scenario (default 10), ``BENCH_CONCURRENCY`` (default 4),
``BENCH_PORT`` (default: a free port), ``BENCH_SIZES`` (default "1000,100000"), ``BENCH_REDIS_URL``
(the cache; default redis://127.0.0.1:6379/3).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_postings")
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = 2.0
ROUNDS = 5
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = int(os.environ.get("BENCH_PORT") or _free_port())
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,100000").split(",")]
SEARCH_WORDS = "survey"
BASE = f"http://127.0.0.1:{PORT}"

ENV = {
    **os.environ,
    "DATABASE_URL": DB_URL,
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DJANGO_DEBUG": "false",
    "DJANGO_TESTING": "false",
    "PYTHONPATH": str(ROOT),
    # The production shape: Redis for the cache (and the broker, unused by these pages).
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
}

GOALS = """Goals: list page >= 0.35 x hello; API list >= 0.45 x hello; throughput at 100k >= 0.9 x
at 1k; search p95 and deep-page p95 each <= 1.5 x list p95."""


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=ENV, check=True)


def recreate_database() -> None:
    parts = urlsplit(DB_URL)
    name = parts.path.lstrip("/")
    admin = DB_URL.rsplit("/", 1)[0] + "/postgres"
    import psycopg2

    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def analyze() -> None:
    import psycopg2

    conn = psycopg2.connect(DB_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.close()


def count_postings() -> int:
    import psycopg2

    conn = psycopg2.connect(DB_URL)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM postings_posting WHERE status = 'published'")
        (n,) = cur.fetchone()
    conn.close()
    return n


class Server:
    def __enter__(self):
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "marketplace.wsgi:application",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--log-level",
                "warning",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=ENV,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{BASE}/bench/hello/", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def get(path: str) -> tuple[int, str]:
    with urllib.request.urlopen(BASE + path, timeout=30) as response:
        return response.status, response.read().decode()


def deep_path(pages: int = 50) -> str:
    """The list page ``pages`` pages deep, by following the "Next" links."""
    path = "/postings/"
    for _ in range(pages - 1):
        _, html = get(path)
        match = re.search(r'href="(\?[^"]*cursor=[^"]*)" rel="next"', html)
        if not match:
            raise RuntimeError("ran out of pages before page 50")
        path = "/postings/" + unescape(match.group(1))
    return path


async def _worker(path: str, stop_at: float, record_from: float, latencies: list, errors: list):
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    ).encode()
    while True:
        start = time.perf_counter()
        if start >= stop_at:
            return
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
            writer.write(request)
            await writer.drain()
            data = await reader.read()
            writer.close()
            ok = data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200")
        except OSError:
            ok = False
        end = time.perf_counter()
        if start >= record_from:
            (latencies if ok else errors).append(end - start)


async def _burst(path: str, seconds: float, latencies: list, errors: list) -> None:
    now = time.perf_counter()
    record_from, stop_at = now + WARMUP / ROUNDS, now + WARMUP / ROUNDS + seconds
    await asyncio.gather(
        *[_worker(path, stop_at, record_from, latencies, errors) for _ in range(CONCURRENCY)]
    )


def _summary(latencies: list[float], errors: list[float]) -> dict:
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "rps": len(latencies) / SECONDS,
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "n": len(latencies),
        "errors": len(errors),
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0,
    }


def run_scenarios() -> dict[str, dict]:
    """Each scenario runs in ``ROUNDS`` short bursts, taking turns with the others, so that a
    change in the machine's background load hits every scenario alike."""
    scenarios = {
        "hello": "/bench/hello/",
        "list page": "/postings/",
        "API list": "/api/v1/postings/",
        "search": f"/postings/?q={SEARCH_WORDS}",
        "page 50 deep": deep_path(),
    }
    for path in scenarios.values():  # every path answers 200 before we measure it
        status, _ = get(path)
        assert status == 200, path
    samples = {name: ([], []) for name in scenarios}
    for _ in range(ROUNDS):
        for name, path in scenarios.items():
            asyncio.run(_burst(path, SECONDS / ROUNDS, *samples[name]))
    results = {}
    for name, (latencies, errors) in samples.items():
        results[name] = r = _summary(latencies, errors)
        print(
            f"    {name:<13} {r['rps']:8.1f} req/s  p50 {r['p50']:6.1f} ms  "
            f"p95 {r['p95']:6.1f} ms  p99 {r['p99']:6.1f} ms  errors {r['errors']}",
            flush=True,
        )
    return results


def table(all_results: dict[int, dict[str, dict]]) -> str:
    lines = [
        "| postings | scenario | req/s | p50 ms | p95 ms | p99 ms | errors | ratio | goal | met |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    limits = {
        "list page": (0.35, True, "req/s >= 0.35 x hello"),
        "API list": (0.45, True, "req/s >= 0.45 x hello"),
        "search": (1.5, False, "p95 <= 1.5 x list p95"),
        "page 50 deep": (1.5, False, "p95 <= 1.5 x list p95"),
    }
    sizes = sorted(all_results)
    for size in sizes:
        r = all_results[size]
        hello, lst = r["hello"], r["list page"]
        for name, s in r.items():
            ratio, goal, met = None, "", ""
            if name in limits:
                limit, higher, goal = limits[name]
                ratio = s["rps"] / hello["rps"] if higher else s["p95"] / max(lst["p95"], 1e-9)
                met = "yes" if (ratio >= limit if higher else ratio <= limit) else "**no**"
            lines.append(
                f"| {size:,} | {name} | {s['rps']:.0f} | {s['p50']:.1f} | {s['p95']:.1f} | "
                f"{s['p99']:.1f} | {s['errors']} | "
                f"{'' if ratio is None else f'{ratio:.2f}'} | {goal} | {met} |"
            )
    if len(sizes) == 2:
        small, big = all_results[sizes[0]], all_results[sizes[1]]
        for name in small:
            ratio = big[name]["rps"] / small[name]["rps"]
            met = "yes" if ratio >= 0.9 else "**no**"
            lines.append(
                f"| {sizes[1]:,} vs {sizes[0]:,} | {name} | | | | | | {ratio:.2f} | "
                f"req/s >= 0.9 x at {sizes[0]:,} | {met} |"
            )
    return "\n".join(lines)


MODES = {
    "cached": {},  # as deployed: anonymous list answers cached (see postings/cache.py)
    "uncached": {"POSTINGS_PAGE_CACHE_SECONDS": "0"},  # every request renders
}


def main() -> None:
    started = time.monotonic()
    print(f"Database {DB_URL}; {CONCURRENCY} connections, {SECONDS:g}s per scenario.")
    recreate_database()
    manage("migrate", "-v0")
    results: dict[str, dict[int, dict]] = {mode: {} for mode in MODES}
    for size in SIZES:
        missing = size - count_postings()
        if missing > 0:
            print(f"Seeding {missing:,} postings ...", flush=True)
            t0 = time.monotonic()
            manage("seed_bulk", "--postings", str(missing), "--batch-size", "10000")
            print(f"  seeded in {time.monotonic() - t0:.0f}s", flush=True)
        analyze()
        for mode, extra in MODES.items():
            print(f"With {count_postings():,} postings, {mode}:", flush=True)
            ENV.update(extra)
            try:
                with Server():
                    results[mode][size] = run_scenarios()
            finally:
                for key in extra:
                    ENV.pop(key, None)
    for mode in MODES:
        print(f"\n{mode}:\n")
        print(table(results[mode]))
    print()
    print(GOALS)
    print(f"Total time {time.monotonic() - started:.0f}s")
    out = ROOT / "var" / "bench_postings.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
