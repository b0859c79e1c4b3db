"""The plan check at 1,000,000 postings: ``python -m bench.plans_million`` (not a test).

The plan test (``tests/postings/test_plans.py``) checks every filter at 20,000 postings; this
script checks that the list's queries stay index-bound fifty times larger. It

1. creates its own database (``BENCH_PLANS_DATABASE_URL``, default
   postgres://postgres@127.0.0.1:5432/bench_plans, dropped first) and migrates it;
2. seeds 2,000 published postings with ``manage.py seed_bulk`` (employers, skills, texts), then
   grows them to ``BENCH_PLANS_POSTINGS`` (default 1,000,000) in SQL: copies of those rows with
   ids, title numbers, publication times, deadlines and starts of their own, their skills
   linked, the list's indexes dropped during the copy and built again after it, then
   ``VACUUM ANALYZE`` (a few minutes in all);
3. plans, with ``EXPLAIN (ANALYZE, BUFFERS)``, the first page of every filter alone (and each
   sort, ``postings.plans.single_filters``) and of 40 random combinations like the
   benchmark's, checks each plan with ``postings.plans.plan_problems`` (no sequential scan of
   the postings, no sort over all matches) and times the result count of the same filters
   (``postings.counts.bounded_count``);
4. prints a table and writes it into ``docs/benchmarks.md`` (between its markers), and exits 1
   when a plan has a problem.

The copies share their template's search vector (computing a million of them would take most
of the run), so a search matches the words of the 2,000 templates, a thousand times over.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import sys
import time
from pathlib import Path

from bench.docs import DOCS, write_section
from bench.postings import _sql, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get(
    "BENCH_PLANS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_plans"
)
SIZE = int(os.environ.get("BENCH_PLANS_POSTINGS", "1000000"))
TEMPLATES = 2000
COMBINATIONS = 40

os.environ.update(
    {
        "DATABASE_URL": DB_URL,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_TESTING": "false",
        "POSTINGS_PAGE_CACHE_SECONDS": "0",
    }
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")

# The columns a copy takes from its template as they are.
SAME = """employer_id, created_by_id, status, close_reason, description, acceptance_criteria,
    description_html, criteria_html, skill_names, skill_vector, category, duration_hours,
    effort_hours, format, hours_per_week, work_mode, location, mentoring, openings, seats_filled,
    allowed_revisions, compensation, amount, currency, credit_arrangement, flags,
    moderation_reason, open_reports, created_at, updated_at, closed_at, search_vector"""
COPY = f"""
INSERT INTO postings_posting (id, title, starts_at, application_deadline, published_at,
    submitted_at, {SAME})
SELECT p.id + c.k * %(base)s,
    regexp_replace(p.title, '#[0-9]+$', '#' || (p.id + c.k * %(base)s)),
    p.starts_at + s.days * interval '1 day', p.application_deadline + s.days * interval '1 day',
    p.published_at - s.minutes * interval '1 minute', p.submitted_at, {SAME}
FROM postings_posting p, generate_series(1, %(copies)s) AS c(k),
    LATERAL (SELECT floor(random() * 20 + c.k * 0)::int AS days,
                    floor(random() * 120 * 24 * 60 + p.id * 0)::int AS minutes) AS s
WHERE p.id <= %(base)s AND p.status = 'published'
LIMIT %(missing)s
"""
LINKS = """
INSERT INTO postings_posting_skills (posting_id, skill_id)
SELECT c.id, s.skill_id FROM postings_posting c
    JOIN postings_posting_skills s ON s.posting_id = (c.id - 1) %% %(base)s + 1
WHERE c.id > %(base)s
"""
# The postings' own indexes (not the primary key), dropped for the copy and built after it.
INDEXES = """
SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = 'postings_posting' AND NOT x.indisprimary
"""


def grow(size: int) -> None:
    """Copies of the seeded postings up to ``size`` published ones (see the module's text)."""
    import psycopg2

    conn = psycopg2.connect(DB_URL)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT max(id), count(*) FROM postings_posting WHERE status = 'published'")
        base, have = cur.fetchone()
        missing = size - have
        if missing <= 0:
            return
        cur.execute(INDEXES)
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        # The copies' foreign keys point at rows that exist: no trigger needs to check them.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SELECT setseed(0.42)")
        args = {"base": base, "copies": -(-missing // have), "missing": missing}
        cur.execute(COPY, args)
        cur.execute(LINKS, args)
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('postings_posting', 'id'), "
            "(SELECT max(id) FROM postings_posting))"
        )
    conn.close()


def combinations(skills: list[str]) -> list[str]:
    from bench.postings import filter_combinations

    # The slowest combination the benchmark found at 100,000 postings, then random ones.
    return [
        "category=finance&compensation=credit&skill=social-media&sort=deadline",
        *filter_combinations(random.Random(SIZE), skills, COMBINATIONS),
    ]


def _buffers(plan: str) -> int:
    found = re.search(r"Buffers: shared((?: \w+=\d+)+)", plan)
    if not found:
        return 0
    return sum(
        int(n) for kind, n in re.findall(r"(\w+)=(\d+)", found.group(1)) if kind != "dirtied"
    )


def _indexes(plan: str) -> str:
    names = re.findall(
        r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)", plan
    )
    return ", ".join(dict.fromkeys(names)) or "none"


def check(params: str) -> dict:
    from django.db import connection
    from django.http import QueryDict

    from postings.counts import COUNT_LIMIT
    from postings.filters import PostingFilter
    from postings.plans import explain, plan_problems, plan_time_ms
    from postings.selectors import postings_listed

    plan = explain(params)
    data = QueryDict(params)
    filterset = PostingFilter(data, queryset=postings_listed(), skill_choices="skill" in data)
    assert filterset.is_valid(), params
    count_query = filterset.qs.order_by()[: COUNT_LIMIT + 1]
    count_plan = ""  # a search by relevance is counted from its candidates, without a query
    if filterset.candidates is None:
        sql, args = count_query.values("pk").query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM ({sql}) AS m", args)
            count_plan = "\n".join(row[0] for row in cur.fetchall())
    return {
        "params": params,
        "ms": plan_time_ms(plan),
        "buffers": _buffers(plan),
        "indexes": _indexes(plan),
        "problems": plan_problems(plan, searching="q=" in params),
        "count_ms": plan_time_ms(count_plan),
        "plan": plan,
    }


def table(results: list[dict], postings: int, seconds: float, alone: int) -> str:
    bad = [r for r in results if r["problems"]]
    slowest = max(results, key=lambda r: r["ms"])
    slow_count = max(results, key=lambda r: r["count_ms"])
    load = os.getloadavg()
    lines = [
        f"Checked {dt.datetime.now(dt.UTC):%d %b %Y %H:%M} UTC by `bench/plans_million.py` in "
        f"{seconds:.0f} s with {postings:,} published postings: the first page of every filter "
        f"alone and each sort ({alone}) and of {len(results) - alone} combinations; plans with "
        "a sequential scan of the postings or a sort over all matches: "
        + (", ".join(f"`?{r['params']}`" for r in bad) if bad else "**none**")
        + f". Load average at the end {load[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "| query | indexes the plan reads | buffers | page ms | count ms | problems |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| `?{r['params'] or '(none)'}` | {r['indexes']} | {r['buffers']:,} | "
            f"{r['ms']:.2f} | {r['count_ms']:.2f} | {'; '.join(r['problems']) or 'none'} |"
        )
    lines += [
        "",
        f"The slowest first page, `?{slowest['params']}` ({slowest['ms']:.2f} ms):",
        "",
        "```",
        slowest["plan"],
        "```",
        "",
        f"The slowest count: `?{slow_count['params']}` ({slow_count['count_ms']:.2f} ms).",
    ]
    return "\n".join(lines)


def main() -> int:
    started = time.monotonic()
    print(f"Database {DB_URL}, {SIZE:,} postings.", flush=True)
    recreate_database(DB_URL)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    t0 = time.monotonic()
    call_command("seed_bulk", postings=TEMPLATES, batch_size=TEMPLATES, verbosity=0)
    print(f"  {TEMPLATES:,} postings seeded in {time.monotonic() - t0:.0f} s", flush=True)
    t0 = time.monotonic()
    grow(SIZE)
    print(f"  grown to {SIZE:,} in {time.monotonic() - t0:.0f} s", flush=True)
    t0 = time.monotonic()
    _sql(DB_URL, "VACUUM ANALYZE")
    print(f"  vacuumed in {time.monotonic() - t0:.0f} s", flush=True)

    from postings.models import Posting, Skill
    from postings.plans import single_filters

    postings = Posting.objects.filter(status="published").count()
    skills = sorted(Skill.objects.values_list("slug", flat=True))
    results = []
    for params in single_filters() + combinations(skills):
        result = check(params)
        results.append(result)
        print(
            f"  {result['ms']:8.2f} ms  count {result['count_ms']:8.2f} ms  "
            f"{result['buffers']:7,} buffers  ?{params}  {'; '.join(result['problems'])}",
            flush=True,
        )
    text = table(results, postings, time.monotonic() - started, len(single_filters()))
    print("\n" + text)
    out = ROOT / "var" / "bench_plans_million.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    write_section("plans_million.py", text)
    print(f"\nWritten into {DOCS.relative_to(ROOT)}.")
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
