"""The query plans of the public list, for the plan test and the benchmark.

``list_query`` builds exactly the query the list page and the API run for some filters (the
same ``PostingFilter``, sort and keyset page); ``explain`` asks PostgreSQL how it ran it
(``EXPLAIN (ANALYZE, BUFFERS)``), and ``plan_problems`` names what would make it grow with the
number of postings: a sequential scan of the postings, or a sort over every match.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.core.paging import DEFAULT_PAGE_SIZE

from .filters import PostingFilter
from .pagination import page_query
from .selectors import postings_listed


def single_filters(today: date | None = None) -> list[str]:
    """One value of each filter alone (and each sort), as a visitor would pick them: broad and
    narrow ones, and ones nothing matches (the worst case for an index walked in sort order).
    The benchmark and the plan test run every one of them."""
    today = today or timezone.localdate()
    return [
        "",
        "format=nano",
        "format=internship",
        "format=micro&format=project",
        "work_mode=onsite",
        "work_mode=hybrid",
        "compensation=credit",
        "compensation=paid",
        "category=finance",
        "category=software",
        "skill=python",
        "skill=grant-writing",
        "min_pay=1000",
        "min_pay=1000000",
        "max_hours_per_week=5",
        "max_hours_per_week=0",
        f"starts_after={today + timedelta(days=30)}",
        f"starts_after={today + timedelta(days=3650)}",
        f"starts_before={today + timedelta(days=10)}",
        f"starts_before={today - timedelta(days=3650)}",
        "q=survey",
        "q=bookkeeping reconcile",
        "q=zebra",
        "sort=deadline",
        "sort=pay",
    ]


def list_query(params: str, *, page_size: int = DEFAULT_PAGE_SIZE) -> QuerySet:
    """The first page's query of the public list for the query string ``params``."""
    data = QueryDict(params)
    filterset = PostingFilter(data, queryset=postings_listed(), skill_choices="skill" in data)
    if not filterset.is_valid():
        raise ValueError(f"Not valid filters: {params}: {filterset.errors}")
    sort = filterset.sort_name(searching=bool(filterset.form.cleaned_data.get("q")))
    query, _ = page_query(filterset.qs, sort=sort, cursor=None, page_size=page_size)
    return query


def explain(params: str) -> str:
    """The plans of the first page for ``params``: of the queries run to build it (a search's
    candidates are read first), then of the page's own query, each ``EXPLAIN (ANALYZE,
    BUFFERS)``."""
    with CaptureQueriesContext(connection) as built:
        query = list_query(params)
    plans = []
    for run in built.captured_queries:
        if run["sql"].startswith("SELECT") and "postings_posting" in run["sql"]:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {run['sql']}")
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return "\n".join([*plans, query.explain(analyze=True, buffers=True)])


def plan_time_ms(plan: str) -> float:
    """The execution time of ``plan`` (of all its queries, added)."""
    return sum(float(ms) for ms in re.findall(r"Execution Time: ([\d.]+) ms", plan))


def plan_problems(plan: str, *, searching: bool = False) -> list[str]:
    """What in ``plan`` reads more than about a page of postings: a sequential scan of the
    postings, or a sort whose input (the node under it) has more than 10 pages of rows (for a
    search sorted by relevance: more than its bounded candidates, see ``search_candidates``)."""
    limit = 10 * DEFAULT_PAGE_SIZE
    if searching:
        limit = max(limit, settings.POSTINGS_SEARCH_CANDIDATES)
    problems = []
    lines = plan.splitlines()
    for i, line in enumerate(lines):
        if re.search(r"Seq Scan on postings_posting\b", line):
            problems.append(f"a sequential scan of the postings ({line.strip()})")
        if re.match(r"\s*(->\s+)?Sort\s+\(", line):
            below = next((_rows(b) for b in lines[i + 1 :] if "actual time=" in b), 0)
            if below > limit:
                problems.append(f"a sort over {below} rows")
    return problems


def _rows(line: str) -> int:
    found = re.search(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)", line)
    return int(found.group(1)) * int(found.group(2)) if found else 0
