"""Every filter of the public list stays index-bound: with 20,000 published postings, the plan
of each filter alone (and each sort) reads about a page of rows, never every posting nor every
match (``postings.plans``)."""

import pytest
from django.db import connection

from postings.models import Posting, Skill
from postings.plans import explain, plan_problems, single_filters
from postings.services import search_vectors_refresh
from tests.factories import EmployerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

N = 20_000
SKILLS = ["python", "sql", "excel", "figma", "seo", "grant writing"]

# Varied rows in one statement: formats, work modes, categories, pay and start dates are spread
# by the row number; one title in 10 has "survey", one in 200 "bookkeeping reconcile".
INSERT = """
INSERT INTO postings_posting (
    employer_id, status, close_reason, title, description, acceptance_criteria, description_html,
    criteria_html, skill_names,
    category, starts_at, duration_hours, effort_hours, format, hours_per_week, work_mode,
    location, mentoring, openings, seats_filled, application_deadline, allowed_revisions,
    compensation, amount, currency, credit_arrangement, flags, moderation_reason, open_reports,
    created_at, updated_at, submitted_at, published_at, search_vector)
SELECT %(employer)s, 'published', '',
    t.title, 'Work on a real problem with our team.', 'Reviewed once.',
    '<p>Work on a real problem with our team.</p>', '<p>Reviewed once.</p>', '',
    (ARRAY['data','software','design','marketing','research','business','finance','other'])
        [1 + i %% 8],
    now() + (i %% 120) * interval '1 day', d.hours, 20,
    (ARRAY['nano','micro','project','internship'])[1 + i %% 4],
    round(20.0 / greatest(d.hours / 168.0, 1), 1),
    (ARRAY['remote','remote','remote','remote','remote','remote','onsite','hybrid'])[1 + i %% 8],
    '', 'light', 1, 0, now() + (10 + i %% 30) * interval '1 day', 2,
    CASE WHEN i %% 7 = 0 THEN 'credit' ELSE 'paid' END,
    CASE WHEN i %% 7 = 0 THEN 0 ELSE 20000 + (i %% 50) * 1000 END, 'USD', '', '[]', '', 0,
    now(), now(), now() - i * interval '1 minute', now() - i * interval '1 minute',
    setweight(to_tsvector('english', t.title), 'A')
        || setweight(to_tsvector('english', 'Work on a real problem with our team.'), 'C')
FROM generate_series(1, %(n)s) AS i,
    LATERAL (SELECT CASE WHEN i %% 10 = 0 THEN 'Customer survey ' || i
                         WHEN i %% 200 = 1 THEN 'Bookkeeping: reconcile a quarter ' || i
                         ELSE 'Posting ' || i END AS title) AS t,
    LATERAL (SELECT (ARRAY[24, 336, 1008, 2016])[1 + i %% 4] AS hours) AS d
"""
LINK_SKILLS = """
INSERT INTO postings_posting_skills (posting_id, skill_id)
SELECT p.id, s.id FROM postings_posting p JOIN postings_skill s
    ON s.id = ANY(%(skills)s) AND (p.id + s.id) %% 4 = 0
"""


@pytest.fixture
def many_postings():
    """20,000 postings, then VACUUM ANALYZE (as autovacuum would): the statistics, and the
    full-text index's pending entries merged, so that the planner sees the real table."""
    employer = EmployerFactory()
    skills = [Skill.objects.create(name=n, slug=n.replace(" ", "-")).pk for n in SKILLS]
    with connection.cursor() as cursor:
        cursor.execute(INSERT, {"employer": employer.pk, "n": N})
        cursor.execute(LINK_SKILLS, {"skills": skills})
    search_vectors_refresh()  # the skills' vectors (and the search vectors with the skills)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE postings_posting, postings_posting_skills, postings_skill")
        cursor.execute("SELECT count(*) FROM postings_posting")
        assert cursor.fetchone()[0] == N


def test_every_filter_alone_reads_about_a_page(many_postings, settings):
    failures = {}
    # Minimum pay again where currencies of other digits are supported: one range per kind.
    mixed = ["min_pay=1", "min_pay=1000", "min_pay=1000000"]
    for params in [*single_filters(), *(f"{p}&mixed" for p in mixed)]:
        settings.SUPPORTED_CURRENCIES = (
            ["USD", "JPY", "KWD"] if params.endswith("&mixed") else ["USD", "EUR"]
        )
        plan = explain(params.removesuffix("&mixed"))
        problems = plan_problems(plan, searching="q=" in params)
        if problems:
            failures[params] = (problems, plan)
    assert not failures, "\n\n".join(
        f"{p}: {problems}\n{plan}" for p, (problems, plan) in failures.items()
    )

    # The check itself (on the same rows: they take a while to make): a query that reads every
    # posting and sorts every match is caught.
    plan = (
        Posting.objects.filter(title__icontains="posting")
        .order_by("title")[:20]
        .explain(analyze=True, buffers=True)
    )
    problems = plan_problems(plan)
    assert any("sequential scan" in p for p in problems)
    assert any("sort over" in p for p in problems)
