"""The dashboards' charts: for known data the pictures and their text alternatives show the
right figures; with no data, an empty state; the queries do not grow with the data."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.db.models import F
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import dateformat, timezone

from accounts.models import User
from applications.models import Application, Milestone
from applications.panels import employer_charts_panel, student_charts_panel
from tests.applications.factories import (
    ApplicationFactory,
    active_assignment,
    employer_of,
)
from tests.factories import EmployerUserFactory, PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db

EMPLOYER_CHART_QUERIES = 6  # who the employer is, postings + applicants, spend (2), response
STUDENT_CHART_QUERIES = 2  # earnings: paid milestones and resolved disputes
# Their amounts are set when they are paid (below); these only make two of them.
TWO_MILESTONES = [("Draft", 24, 500), ("Final", 48, 500)]


def _dashboard(client, user) -> str:
    User.objects.filter(pk=user.pk).update(time_zone="UTC")
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def _figure(html: str, key: str) -> str:
    match = re.search(rf'<figure class="chart[^"]*" id="{key}">(.*?)</figure>', html, re.S)
    assert match, f"no chart {key}"
    return match.group(1)


def _rows(figure: str) -> dict[str, str]:
    return dict(re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', figure))


def _drawn(figure: str) -> list[str]:
    return re.findall(r'<text class="chart-value"[^>]*>([^<]*)</text>', figure)


def _month(value: dt.datetime) -> str:
    return dateformat.format(value, "F Y")


def _last_month(now: dt.datetime) -> dt.datetime:
    return (now.replace(day=1) - dt.timedelta(days=1)).replace(day=2)


def _paid(assignment, amounts_and_times):
    milestones = list(assignment.milestones.order_by("position", "id"))
    for milestone, (amount, when) in zip(milestones, amounts_and_times, strict=False):
        Milestone.objects.filter(pk=milestone.pk).update(
            status=Milestone.Status.PAID, amount=amount, paid_at=when
        )


def test_employer_sees_applicants_per_week_and_time_to_first_response(client):
    now = timezone.now()
    posting = PostingFactory(title="Survey clean-up")
    employer = employer_of(posting)
    recent = ApplicationFactory.create_batch(3, posting=posting)
    older = ApplicationFactory.create_batch(2, posting=posting)
    two_weeks_ago = now - dt.timedelta(days=14)
    Application.objects.filter(pk__in=[a.pk for a in older]).update(created_at=two_weeks_ago)
    # Two of this week's three answered, after 3 and 5 hours: 4.0 hours on average.
    Application.objects.filter(pk=recent[0].pk).update(
        employer_responded_at=F("created_at") + dt.timedelta(hours=3)
    )
    Application.objects.filter(pk=recent[1].pk).update(
        employer_responded_at=F("created_at") + dt.timedelta(hours=5)
    )

    html = _dashboard(client, employer)

    applicants = _figure(html, f"chart-applicants-{posting.pk}")
    assert "Survey clean-up" in applicants
    assert "5 new applicants in the last 8 weeks" in applicants
    assert 'role="img"' in applicants and "<desc" in applicants
    drawn = _drawn(applicants)
    assert len(drawn) == 8 and drawn[-1] == "3" and drawn[-3] == "2"
    assert sorted(drawn) == ["0"] * 6 + ["2", "3"]
    rows = _rows(applicants)
    this_monday = now.date() - dt.timedelta(days=now.weekday())
    assert rows[dateformat.format(this_monday, "j F Y")] == "3"
    assert rows[dateformat.format(this_monday - dt.timedelta(weeks=2), "j F Y")] == "2"

    response = _figure(html, "chart-response")
    received = 3 + (2 if two_weeks_ago.month == now.month else 0)
    assert _rows(response)[_month(now)] == f"4.0 hours (2 of {received} answered)"
    assert _drawn(response)[-1] == "4.0 h"
    assert "2 of 5 applications since" in response


def test_employer_sees_spend_per_month(client):
    now = timezone.now()
    assignment = active_assignment(amount=1000, milestones=TWO_MILESTONES)
    _paid(assignment, [(30000, now), (12550, _last_month(now))])

    html = _dashboard(client, employer_of(assignment.posting))

    spend = _figure(html, "chart-spend-usd")
    assert "Spend per month (USD)" in spend
    rows = _rows(spend)
    assert rows[_month(now)] == "300.00 USD"
    assert rows[_month(_last_month(now))] == "125.50 USD"
    assert len(rows) == 6 and list(rows.values()).count("0.00 USD") == 4
    assert _drawn(spend)[-2:] == ["126", "300"]
    assert "425.50 USD paid from" in spend
    assert f"the most in {_month(now)}: 300.00 USD" in spend


def test_student_sees_earnings_per_month(client):
    now = timezone.now()
    assignment = active_assignment(amount=1000, milestones=TWO_MILESTONES)
    _paid(assignment, [(20000, _last_month(now)), (5000, now)])
    # Someone else's pay is not this student's.
    other = active_assignment()
    _paid(other, [(99900, now)])

    html = _dashboard(client, assignment.student)

    earnings = _figure(html, "chart-earnings-usd")
    rows = _rows(earnings)
    assert rows[_month(now)] == "50.00 USD"
    assert rows[_month(_last_month(now))] == "200.00 USD"
    assert "250.00 USD earned from" in earnings
    assert f"the most in {_month(_last_month(now))}: 200.00 USD" in earnings
    assert "999.00" not in html


def test_empty_states(client):
    employer = EmployerUserFactory()
    html = _dashboard(client, employer)
    assert "Hiring over time" in html
    assert "No published postings yet" in html
    assert "Nothing paid to students in the last twelve months yet." in html
    assert "No application answered yet." in _figure(html, "chart-response")
    assert "<svg" not in html

    student = StudentFactory()
    html = _dashboard(client, student)
    assert "Earnings over time" in html
    assert "Nothing earned in the last twelve months yet." in html
    assert "<svg" not in html


def _render(function, user) -> tuple[int, str]:
    request = RequestFactory().get("/dashboard/")
    request.user = User.objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as queries:
        template, context = function(request)
        html = render_to_string(template, {"panel": context, "request": request})
    return len(queries), html


@pytest.mark.parametrize("n", [2, 40])
def test_chart_queries_do_not_grow_with_postings_and_pay(n):
    posting = PostingFactory()
    employer = employer_of(posting)
    for i in range(n):
        extra = PostingFactory(employer=posting.employer, title=f"Posting {i}")
        ApplicationFactory.create_batch(2, posting=extra)
    student = None
    for _ in range(min(n, 6)):
        assignment = active_assignment(employer=posting.employer)
        _paid(assignment, [(1000, timezone.now())])
        student = assignment.student
    count, html = _render(employer_charts_panel, employer)
    assert count <= EMPLOYER_CHART_QUERIES, count
    figures = re.findall(r'<figure class="chart chart-small" id="chart-applicants-\d+">', html)
    assert len(figures) == 4
    assert f"{min(n, 6) * 10}.00 USD paid from" in html
    count, html = _render(student_charts_panel, student)
    assert count <= STUDENT_CHART_QUERIES, count
    assert "10.00 USD earned from" in html
