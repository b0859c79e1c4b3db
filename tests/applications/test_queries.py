"""Query counts pinned: the employer's applicant pipeline and this app's dashboard panels cost at
most 8 queries, the same for 5 and for 500 applications."""

import datetime as dt
import secrets

import pytest
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import StudentProfile, User
from applications import services
from applications.models import Application, Assignment, Milestone, Rating
from applications.panels import employer_panel, student_panel
from postings.models import Posting
from postings.rules import format_money
from tests.applications.factories import (
    ApplicationFactory,
    accepted_assignment,
    active_assignment,
    employer_of,
    first_milestone,
    submit,
)
from tests.factories import PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db

MAX_QUERIES = 8


def _students(n: int) -> list[User]:
    users = User.objects.bulk_create(
        User(email=f"bulk{secrets.token_hex(6)}@example.com", role="student", full_name=f"S {i}")
        for i in range(n)
    )
    StudentProfile.objects.bulk_create(
        StudentProfile(
            user=u,
            school="Leeds",
            programme="Data",
            skills=["python", "sql"],
            public_slug=secrets.token_hex(8),
        )
        for u in users
    )
    return users


def _postings(n: int, employer) -> list[Posting]:
    template = PostingFactory.build(employer=employer)
    template.format = "micro"
    rows = []
    for i in range(n):
        posting = Posting(
            **{
                f.attname: getattr(template, f.attname)
                for f in Posting._meta.concrete_fields
                if f.attname != "id"
            }
        )
        posting.title = f"Bulk posting {i}"
        rows.append(posting)
    return Posting.objects.bulk_create(rows)


def _pipeline_world(n: int):
    posting = PostingFactory(openings=3)
    employer = employer_of(posting)
    students = _students(n)
    statuses = ["submitted", "shortlisted", "rejected", "withdrawn", "offered"]
    Application.objects.bulk_create(
        Application(
            posting=posting,
            student=s,
            cover_note="x" * 60,
            status=statuses[i % len(statuses)],
            offer_expires_at=timezone.now() + dt.timedelta(days=1),
        )
        for i, s in enumerate(students)
    )
    # Some of them have a record and ratings (the annotations must not add queries).
    other = PostingFactory(employer=posting.employer)
    for s in students[:3]:
        app = Application.objects.create(posting=other, student=s, cover_note="y" * 60)
        assignment = Assignment.objects.create(
            application=app,
            posting=other,
            student=s,
            status="completed",
            starts_at=timezone.now(),
            ends_at=timezone.now(),
        )
        Rating.objects.create(
            assignment=assignment,
            direction="by_employer",
            rater=employer,
            student=s,
            employer=posting.employer,
            score=4,
            published_at=timezone.now(),
        )
    return posting, employer


@pytest.mark.parametrize("n", [5, 500])
def test_pipeline_queries(client, n):
    posting, employer = _pipeline_world(n)
    client.force_login(employer)
    url = reverse("applications:pipeline", args=[posting.pk])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["total"] == n
    assert len(queries) <= MAX_QUERIES, [q["sql"][:120] for q in queries]
    rated = [a for _k, _l, items in response.context["columns"] for a in items if a.student_rating]
    assert len(rated) == 3 and rated[0].completed_count == 1


def _render_panel(function, user):
    request = RequestFactory().get("/dashboard/")
    request.user = user
    template, context = function(request)
    return render_to_string(template, {"panel": context, "user": user, "request": request})


def _student_world(n: int):
    student = StudentFactory()
    employer_posting = PostingFactory()
    postings = _postings(n, employer_posting.employer)
    Application.objects.bulk_create(
        Application(
            posting=p,
            student=student,
            cover_note="x" * 60,
            status="offered" if i % 2 else "submitted",
            offer_expires_at=timezone.now() + dt.timedelta(days=1),
        )
        for i, p in enumerate(postings)
    )
    # Assignments at several stages with milestones (paid ones count as earnings).
    for p in postings[: min(n, 20)]:
        app = Application.objects.create(
            posting=p, student=student, cover_note="z" * 60, status="accepted"
        )
        assignment = Assignment.objects.create(
            application=app,
            posting=p,
            student=student,
            status="active",
            amount=1000,
            starts_at=timezone.now(),
            ends_at=timezone.now() + dt.timedelta(days=9),
        )
        for pos, status in enumerate(["paid", "open", "submitted"]):
            Milestone.objects.create(
                assignment=assignment,
                position=pos,
                title=f"M{pos}",
                amount=100,
                status=status,
                due_at=timezone.now() + dt.timedelta(days=pos + 1),
                review_due_at=timezone.now() + dt.timedelta(days=7),
            )
    return student, employer_of(employer_posting)


@pytest.mark.parametrize("n", [5, 500])
def test_student_panel_queries(n):
    student, _employer = _student_world(n)
    student = User.objects.get(pk=student.pk)
    with CaptureQueriesContext(connection) as queries:
        html = _render_panel(student_panel, student)
    assert len(queries) <= MAX_QUERIES, [q["sql"][:120] for q in queries]
    assert "answer by" in html
    assert "next due" in html
    # Earnings: one paid milestone of 100 minor units per assignment.
    assert format_money(min(n, 20) * 100, "USD").strip() in html


@pytest.mark.parametrize("n", [5, 500])
def test_employer_panel_queries(n):
    _student, employer = _student_world(n)
    employer = User.objects.get(pk=employer.pk)
    with CaptureQueriesContext(connection) as queries:
        html = _render_panel(employer_panel, employer)
    assert len(queries) <= MAX_QUERIES, [q["sql"][:120] for q in queries]
    assert "approved automatically" in html  # work waiting for review, with its time
    assert "Bulk posting" in html


# The whole dashboard, once the user's notification settings exist (the first visit makes
# them): the user, then each panel's reads (the student's: profile, recommendations and their
# top-up in this small world, money per month, offers, applications with their number,
# assignments, credentials, payouts, payout account, notification settings, unread ones with
# their number; the employer's: organisation, posting counts, money per month, reviews, funding,
# postings with applicants (the charts draw the newest of them), applicants per week, response
# times, assignments to fund, notification settings, unread ones).
DASHBOARD_QUERIES = {"student": 13, "employer": 12}


def test_whole_dashboard_does_not_grow_with_data(client):
    counts = []
    for n in (5, 60):
        student, employer = _student_world(n)
        for user in (student, employer):
            client.force_login(user)
            assert client.get(reverse("dashboard")).status_code == 200
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse("dashboard")).status_code == 200
            counts.append(len(queries))
    expected = [DASHBOARD_QUERIES["student"], DASHBOARD_QUERIES["employer"]] * 2
    assert counts == expected, counts


def _due_rows() -> None:
    """One row due for each sweep, beside rows that are not due."""
    past = timezone.now() - dt.timedelta(minutes=1)
    offered = ApplicationFactory(status=Application.Status.OFFERED, offer_expires_at=past)
    ApplicationFactory(
        status=Application.Status.OFFERED,
        offer_expires_at=past + dt.timedelta(days=2),
        posting=offered.posting,
    )
    unfunded = accepted_assignment()
    Assignment.objects.filter(pk=unfunded.pk).update(funding_due_at=past)
    accepted_assignment()
    reviewed = active_assignment()
    submit(first_milestone(reviewed))
    Milestone.objects.filter(assignment=reviewed).update(review_due_at=past)
    rated = active_assignment()
    Assignment.objects.filter(pk=rated.pk).update(
        status=Assignment.Status.COMPLETED, completed_at=past, rating_due_at=past
    )
    Rating.objects.create(
        assignment=rated,
        direction=Rating.Direction.BY_STUDENT,
        rater=rated.student,
        student=rated.student,
        employer_id=rated.posting.employer_id,
        score=4,
    )


SWEEPS = [
    (services.applications_expire_offers_due, "applications_application"),
    (services.assignments_expire_unfunded_due, "applications_assignment"),
    (services.milestones_auto_approve_due, "applications_milestone"),
    (services.ratings_publish_due, "applications_rating"),
]


@pytest.mark.postgres
@pytest.mark.parametrize("sweep,table", SWEEPS, ids=[s[0].__name__ for s in SWEEPS])
def test_sweeps_find_due_rows_through_an_index_and_skip_locked_ones(sweep, table):
    """With due rows present, each sweep's locking query reads its table through an index
    (the planner told not to scan whole tables still must: no index fits) and skips locked
    rows, so its cost follows what is due and a second worker never waits."""
    _due_rows()
    with CaptureQueriesContext(connection) as captured:
        assert sweep() == 1
    locking = [q["sql"] for q in captured if "SKIP LOCKED" in q["sql"] and table in q["sql"]]
    assert locking, [q["sql"] for q in captured]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {locking[0]}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Seq Scan on {table}" not in plan, plan
    assert sweep() == 0
