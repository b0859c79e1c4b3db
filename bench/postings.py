"""Benchmark of finding work under real traffic: ``python -m bench.postings`` (not a test).

For each size (1,000 and 100,000 published postings, seeded with ``manage.py seed_bulk`` into
its own database, dropped first) it

1. makes what the traffic needs (``bench/fixtures.py``): a signed-in student and an employer
   with 200 applications each, 2,000 posting ids, and the plans of every filter alone and of
   the benchmark's combinations, the slowest of which it prints;
2. starts gunicorn with 2 sync workers on the site's settings and middleware plus
   ``/bench/hello/`` (the baseline), twice: as deployed (anonymous list pages cached briefly,
   ``postings/cache.py``) and with that page cache off (``POSTINGS_PAGE_CACHE_SECONDS=0``);
3. runs mixes of generated requests, each mix taking turns with the others in short bursts so
   that a change in the machine's load hits all alike: hundreds of distinct filter
   combinations, distinct broad and narrow searches, 2,000 distinct posting pages, the API,
   an anonymous visitor and a signed-in student, and the two dashboards;
4. reports requests per second, p50/p95/p99 and the ratio to hello of the same server, and
   writes the tables and the slowest plan into ``docs/benchmarks.md`` (between the markers).

Environment: ``BENCH_QUICK=1`` (1,000 postings, 3 s per mix, fewer combinations, docs not
written: for iterating), ``BENCH_DATABASE_URL`` (default
postgres://postgres@127.0.0.1:5432/bench_postings), ``BENCH_SECONDS`` per mix (default 10),
``BENCH_CONCURRENCY`` (default 4), ``BENCH_SIZES`` (default "1000,100000"),
``BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/3), ``BENCH_PORT`` (default: a free port).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.docs import DOCS, write_section

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_postings")
SECONDS = float(os.environ.get("BENCH_SECONDS", "3" if QUICK else "10"))
ROUNDS = 2 if QUICK else 5
WARMUP = 0.4
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
SIZES = [
    int(s) for s in os.environ.get("BENCH_SIZES", "1000" if QUICK else "1000,100000").split(",")
]
COMBINATIONS = 60 if QUICK else 300


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = int(os.environ.get("BENCH_PORT") or _free_port())
BASE = f"http://127.0.0.1:{PORT}"
ENV = {
    **os.environ,
    "DATABASE_URL": DB_URL,
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DJANGO_DEBUG": "false",
    "DJANGO_TESTING": "false",
    "PYTHONPATH": str(ROOT),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
    # The API's throttles stay on (their cost is part of a request) but far above the load.
    "API_THROTTLE_ANON": "100000000/min",
    "API_THROTTLE_USER": "100000000/min",
}

# --- Traffic ------------------------------------------------------------------------------------

BROAD_WORDS = [
    "survey",
    "dashboard",
    "analysis",
    "research",
    "copy",
    "design",
    "prototype",
    "bookkeeping",
    "grant",
    "documentation",
    "social media",
    "python",
    "figma",
    "seo",
]


def filter_combinations(rng: random.Random, skills: list[str], n: int) -> list[str]:
    """``n`` distinct query strings of one to three random filters (and a random sort)."""
    today = dt.date.today()
    pick = {
        "format": lambda: rng.sample(["nano", "micro", "project", "internship"], rng.randint(1, 2)),
        "work_mode": lambda: rng.sample(["remote", "onsite", "hybrid"], rng.randint(1, 2)),
        "compensation": lambda: [rng.choice(["paid", "credit"])],
        "category": lambda: [
            rng.choice(
                [
                    "data",
                    "software",
                    "design",
                    "marketing",
                    "research",
                    "business",
                    "finance",
                    "other",
                ]
            )
        ],
        "skill": lambda: rng.sample(skills, rng.randint(1, 2)),
        "min_pay": lambda: [rng.choice([100, 300, 500, 1000, 2000])],
        "max_hours_per_week": lambda: [rng.choice([2, 5, 10, 20, 40])],
        "starts_after": lambda: [today + dt.timedelta(days=rng.randint(0, 60))],
        "starts_before": lambda: [today + dt.timedelta(days=rng.randint(10, 90))],
    }
    seen: set[str] = set()
    while len(seen) < n:
        names = rng.sample(sorted(pick), rng.randint(1, 3))
        pairs = [(name, value) for name in sorted(names) for value in pick[name]()]
        if rng.random() < 0.3:
            pairs.append(("sort", rng.choice(["deadline", "pay"])))
        seen.add(urlencode(pairs))
    return sorted(seen)


def searches(rng: random.Random, combos: list[str], n: int, *, size: int, broad: bool) -> list[str]:
    """Distinct searches, half with a filter: broad words match a tenth of the postings or more;
    narrow ones are a title's number (seed_bulk numbers its titles), one or two postings."""
    found: set[str] = set()
    while len(found) < n:
        q = rng.choice(BROAD_WORDS) if broad else str(rng.randint(1, size))
        extra = rng.choice(combos) if rng.random() < 0.5 else ""
        found.add(urlencode({"q": q}) + (f"&{extra}" if extra else ""))
    return sorted(found)


def mixes(fixture: dict, size: int, combos: list[str]) -> dict[str, list[tuple[str, dict, list]]]:
    """Per server mode: (mix name, request headers, paths)."""
    rng = random.Random(size)
    student = {"Cookie": fixture["student_cookie"]}
    employer = {"Cookie": fixture["employer_cookie"]}
    list_paths = [f"/postings/?{c}" for c in combos]
    postings = [f"/postings/{pk}/" for pk in fixture["posting_ids"]]
    broad = searches(rng, combos, COMBINATIONS, size=size, broad=True)
    narrow = searches(rng, combos, COMBINATIONS, size=size, broad=False)
    # Signed-in traffic is measured as deployed: no page of theirs is ever cached, but the list's
    # content is shared with every other visitor of the same URL (postings.cache.shared).
    return {
        "deployed": [
            ("hello", {}, ["/bench/hello/"]),
            ("list page, anonymous, page cache on", {}, list_paths),
            ("posting page, anonymous, 2,000 distinct", {}, postings),
            ("list page, signed-in student", student, list_paths),
            ("posting page, signed-in student", student, postings),
            ("dashboard, student, 200 applications", student, ["/dashboard/"]),
            ("dashboard, employer, 200 applications", employer, ["/dashboard/"]),
        ],
        "page cache off": [
            ("hello", {}, ["/bench/hello/"]),
            ("list page, anonymous, uncached", {}, list_paths),
            ("API list, uncached", {}, [f"/api/v1/postings/?{c}" for c in combos]),
            ("search with filters, broad words", {}, [f"/postings/?{s}" for s in broad]),
            ("search with filters, narrow words", {}, [f"/postings/?{s}" for s in narrow]),
        ],
    }


# (mix, goal text, check(result, same-server results)) for the summary table.
GOALS = [
    ("list page, anonymous, page cache on", ">= 0.35 x hello", lambda r, a: r["ratio"] >= 0.35),
    ("list page, signed-in student", ">= 0.20 x hello", lambda r, a: r["ratio"] >= 0.20),
    ("API list, uncached", ">= 0.30 x hello", lambda r, a: r["ratio"] >= 0.30),
    ("posting page, anonymous, 2,000 distinct", ">= 0.30 x hello", lambda r, a: r["ratio"] >= 0.30),
    (
        "search with filters, broad words",
        "p95 <= 1.5 x uncached list p95",
        lambda r, a: r["p95"] <= 1.5 * a["list page, anonymous, uncached"]["p95"],
    ),
    (
        "search with filters, narrow words",
        "p95 <= 1.5 x uncached list p95",
        lambda r, a: r["p95"] <= 1.5 * a["list page, anonymous, uncached"]["p95"],
    ),
    ("dashboard, student, 200 applications", ">= 0.15 x hello", lambda r, a: r["ratio"] >= 0.15),
    ("dashboard, employer, 200 applications", ">= 0.15 x hello", lambda r, a: r["ratio"] >= 0.15),
]

# --- Load ---------------------------------------------------------------------------------------


def _request(path: str, headers: dict) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{PORT}",
        "Accept: */*",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _worker(requests, stop_at, record_from, latencies: list, errors: list, hits: list):
    while True:
        start = time.perf_counter()
        if start >= stop_at:
            return
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
            writer.write(next(requests))
            await writer.drain()
            data = await reader.read()
            writer.close()
            ok = data[9:12] == b"200"
            # Answered from the page cache ("hit") or with the list's shared content ("shared").
            cached = b"\r\nX-Cache: " in data[: data.find(b"\r\n\r\n")]
        except OSError:
            ok = cached = False
        end = time.perf_counter()
        if start >= record_from:
            (latencies if ok else errors).append(end - start)
            if ok and cached:
                hits.append(1)


async def _burst(requests, seconds: float, latencies: list, errors: list, hits: list) -> None:
    now = time.perf_counter()
    record_from, stop_at = now + WARMUP, now + WARMUP + seconds
    await asyncio.gather(
        *[
            _worker(requests, stop_at, record_from, latencies, errors, hits)
            for _ in range(CONCURRENCY)
        ]
    )


def _summary(latencies: list[float], errors: list[float], hits: list[int]) -> dict:
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "rps": len(latencies) / SECONDS,
        "p50": pct(50) if latencies else 0,
        "p95": pct(95) if latencies else 0,
        "p99": pct(99) if latencies else 0,
        "n": len(latencies),
        "errors": len(errors),
        "cached": len(hits) / len(latencies) if latencies else 0,
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0,
    }


def run_mixes(mix_list) -> dict[str, dict]:
    streams, samples = {}, {}
    for name, headers, paths in mix_list:
        paths = list(paths)
        random.Random(name).shuffle(paths)
        streams[name] = itertools.cycle([_request(p, headers) for p in paths])
        samples[name] = ([], [], [])
        for path in paths[:3]:  # every mix answers 200 before it is measured
            req = urllib.request.Request(BASE + path, headers=headers)
            with urllib.request.urlopen(req, timeout=60) as response:
                assert response.status == 200, path
    for _ in range(ROUNDS):
        for name, *_ in mix_list:
            asyncio.run(_burst(streams[name], SECONDS / ROUNDS, *samples[name]))
    results = {name: _summary(*samples[name]) for name, *_ in mix_list}
    hello = results["hello"]["rps"]
    for name, r in results.items():
        r["ratio"] = r["rps"] / hello if hello else 0
        print(
            f"    {name:<42} {r['rps']:7.1f} req/s  p50 {r['p50']:6.1f}  p95 {r['p95']:6.1f}  "
            f"p99 {r['p99']:6.1f} ms  x{r['ratio']:.3f}  cached {r['cached']:.0%}  "
            f"errors {r['errors']}",
            flush=True,
        )
    return results


# --- Database and server ------------------------------------------------------------------------


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=ENV, check=True)


def _sql(url: str, statement: str, args=(), *, fetch=False):
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(statement, args)
        result = cur.fetchall() if fetch == "all" else cur.fetchone() if fetch else None
    conn.close()
    return result


def recreate_database(url: str = DB_URL) -> None:
    """Drop and create the database ``url`` names (the bench's own, never the project's)."""
    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    _sql(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
    _sql(admin, f'DROP DATABASE IF EXISTS "{name}"')
    _sql(admin, f'CREATE DATABASE "{name}"')


def count_postings() -> int:
    return _sql(
        DB_URL, "SELECT count(*) FROM postings_posting WHERE status = 'published'", fetch=True
    )[0]


class Server:
    def __init__(self, extra_env: dict):
        self.env = {**ENV, **extra_env}

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
                "120",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + 180  # two workers booting on a busy machine
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{BASE}/bench/hello/", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)


MODES = {"deployed": {}, "page cache off": {"POSTINGS_PAGE_CACHE_SECONDS": "0"}}


# Beyond the first size, the postings grow by copies of the ones seed_bulk made (a shared
# machine seeds 100,000 through the ORM in most of an hour): each copy gets its own id, title
# number, publication time, deadline and start, its skills (and their vector, the same ids), its
# milestone and a search vector of its own; the mix of formats, work modes, pay and skills stays
# that of seed_bulk.
COPY_COLUMNS = """employer_id, created_by_id, status, close_reason, description,
    acceptance_criteria, description_html, criteria_html, skill_names, skill_vector, category,
    duration_hours, effort_hours, format,
    hours_per_week, work_mode, location, mentoring, openings, seats_filled, allowed_revisions,
    compensation, amount, currency, credit_arrangement, flags, moderation_reason, open_reports,
    created_at, updated_at, closed_at"""
COPY_POSTINGS = f"""
INSERT INTO postings_posting (id, title, starts_at, application_deadline, published_at,
    submitted_at, search_vector, {COPY_COLUMNS})
SELECT p.id + c.k * %(base)s, t.title,
    p.starts_at + d.days * interval '1 day', p.application_deadline + d.days * interval '1 day',
    p.published_at - (random() * 60 * 24 * 60) * interval '1 minute', p.submitted_at,
    setweight(to_tsvector('english', t.title), 'A')
        || setweight(to_tsvector('english', replace(p.skill_names, ',', ' ')), 'B')
        || setweight(to_tsvector('english', p.description), 'C'),
    {COPY_COLUMNS.replace("employer_id", "p.employer_id")}
FROM postings_posting p, generate_series(1, %(copies)s) AS c(k),
    LATERAL (SELECT regexp_replace(p.title, '#[0-9]+$', '#' || (p.id + c.k * %(base)s)) AS title,
             floor(random() * 20)::int AS days) AS t
    CROSS JOIN LATERAL (SELECT t.days) AS d
WHERE p.id <= %(base)s AND p.status = 'published'
ORDER BY c.k, p.id LIMIT %(missing)s
"""
COPY_LINKS = [
    "INSERT INTO postings_posting_skills (posting_id, skill_id) SELECT c.id, s.skill_id "
    "FROM postings_posting c JOIN postings_posting_skills s ON s.posting_id = "
    "(c.id - 1) %% %(base)s + 1 WHERE c.id > %(base)s",
    "INSERT INTO postings_postingmilestone (posting_id, position, title, due_offset_hours, amount)"
    " SELECT c.id, 0, 'Final delivery', c.duration_hours, c.amount FROM postings_posting c"
    " WHERE c.id > %(base)s",
    "SELECT setval(pg_get_serial_sequence('postings_posting', 'id'), "
    "(SELECT max(id) FROM postings_posting))",
]


def grow_by_copies(missing: int) -> None:
    import psycopg2

    conn = psycopg2.connect(DB_URL)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT max(id), count(*) FROM postings_posting")
        base, have = cur.fetchone()
        args = {"base": base, "copies": -(-missing // have), "missing": missing}
        cur.execute("SELECT setseed(0.42)")
        cur.execute(COPY_POSTINGS, args)
        for statement in COPY_LINKS:
            cur.execute(statement, args)
    conn.close()


def measure_size(size: int) -> dict:
    missing = size - count_postings()
    if missing > 0:
        print(f"Seeding {missing:,} postings ...", flush=True)
        t0 = time.monotonic()
        if count_postings() == 0:
            manage("seed_bulk", "--postings", str(missing), "--batch-size", "10000")
        else:
            grow_by_copies(missing)
        print(f"  seeded in {time.monotonic() - t0:.0f}s", flush=True)
    _sql(DB_URL, "VACUUM ANALYZE")
    # Nothing cached at the last size (pages, counts, cards) may answer at this one: the copies
    # are written in SQL, which bumps no postings version.
    import redis

    redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()
    skills = [row[0] for row in _sql(DB_URL, "SELECT slug FROM postings_skill", fetch="all")]
    combos = filter_combinations(random.Random(size), sorted(skills), COMBINATIONS)
    # The fixtures also plan every filter alone and the first 100 combinations.
    fixture = json.loads(
        subprocess.run(
            [PYTHON, "-m", "bench.fixtures"],
            cwd=ROOT,
            env=ENV,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            input=json.dumps(combos[:100]),
        ).stdout
    )
    all_mixes = mixes(fixture, size, combos)
    slow = fixture["slowest_plan"]
    print(
        f"  {fixture['plans_checked']} plans checked; with problems: "
        f"{fixture['plans_with_problems'] or 'none'}"
    )
    print(f"  slowest: ?{slow['params']} ({slow['ms']:.2f} ms)\n{slow['plan']}", flush=True)
    results = {}
    for mode, extra in MODES.items():
        print(f"With {fixture['postings']:,} postings, {mode}:", flush=True)
        with Server(extra):
            results[mode] = run_mixes(all_mixes[mode])
    return {"results": results, "plans": fixture}


# --- Report -------------------------------------------------------------------------------------


def _find(size_results: dict, name: str) -> tuple[dict, dict]:
    for mode in MODES:
        if name in size_results["results"][mode]:
            return size_results["results"][mode][name], size_results["results"][mode]
    raise KeyError(name)


def summary_table(measured: dict[int, dict]) -> str:
    sizes = sorted(measured)
    head = " | ".join(f"{s:,} postings" for s in sizes)
    lines = [
        f"| traffic (ratio: req/s against hello's) | {head} | goal at {sizes[-1]:,} | met |",
        "|---|" + "---:|" * len(sizes) + "---|---|",
    ]
    for name, goal, check in GOALS:
        cells = []
        for size in sizes:
            r, same = _find(measured[size], name)
            cell = f"{r['ratio']:.3f}"
            if goal.startswith("p95"):
                cell += f" (p95 {r['p95'] / same['list page, anonymous, uncached']['p95']:.2f} x)"
            cells.append(cell)
        r, same = _find(measured[sizes[-1]], name)
        met = "yes" if check(r, same) else "**no**"
        lines.append(f"| {name} | {' | '.join(cells)} | {goal} | {met} |")
    return "\n".join(lines)


def detail_table(measured: dict[int, dict]) -> str:
    lines = [
        "| postings | server | mix | req/s | p50 ms | p95 ms | p99 ms | errors | from cache "
        "| x hello |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sorted(measured):
        for mode, results in measured[size]["results"].items():
            for name, r in results.items():
                lines.append(
                    f"| {size:,} | {mode} | {name} | {r['rps']:.0f} | {r['p50']:.1f} | "
                    f"{r['p95']:.1f} | {r['p99']:.1f} | {r['errors']} | {r['cached']:.0%} | "
                    f"{r['ratio']:.3f} |"
                )
    return "\n".join(lines)


def report(measured: dict[int, dict], started: float) -> str:
    biggest = measured[max(measured)]["plans"]
    slow = biggest["slowest_plan"]
    problems = biggest["plans_with_problems"]
    load = os.getloadavg()
    return "\n".join(
        [
            f"Measured {dt.datetime.now(dt.UTC):%d %b %Y %H:%M} UTC by `bench/postings.py` in "
            f"{time.monotonic() - started:.0f} s: {CONCURRENCY} connections, {SECONDS:g} s per mix "
            f"in {ROUNDS} bursts, {COMBINATIONS} filter combinations, load average at the end "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores.",
            "",
            summary_table(measured),
            "",
            detail_table(measured),
            "",
            f"Plans at {max(measured):,} postings: {biggest['plans_checked']} checked (every "
            f"filter "
            f"alone and the first 100 combinations of the mixes); with a sequential scan of "
            f"the postings or a sort over all matches: "
            + (", ".join(f"`?{p}` ({'; '.join(x)})" for p, x in problems) if problems else "none")
            + f". The slowest, `?{slow['params']}` ({slow['ms']:.2f} ms):",
            "",
            "```",
            slow["plan"],
            "```",
        ]
    )


def main() -> None:
    started = time.monotonic()
    print(
        f"Database {DB_URL}; {CONCURRENCY} connections, {SECONDS:g}s per mix"
        f"{' (quick)' if QUICK else ''}.",
        flush=True,
    )
    recreate_database()
    manage("migrate", "-v0")
    measured = {size: measure_size(size) for size in SIZES}
    text = report(measured, started)
    print("\n" + text)
    out = ROOT / "var" / "bench_postings.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(measured, indent=2, default=str))
    if not QUICK:
        write_section("postings.py", text)
        print(f"\nWritten into {DOCS.relative_to(ROOT)}.")


if __name__ == "__main__":
    main()
