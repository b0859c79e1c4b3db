"""Refused form posts on the application and assignment pages: the page comes back (400) with
what the user typed, the error beside the field and an error summary linking to it. The
revision and dispute forms are drawn under every milestone: the error returns to one only."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from applications import services
from applications.models import Milestone
from tests.applications.factories import (
    ApplicationFactory,
    active_assignment,
    employer_of,
    first_milestone,
    submit,
)

pytestmark = pytest.mark.django_db

SUMMARY = 'class="error-summary"'


def _textarea(html: str, field_id: str) -> str:
    """The text inside the textarea with this id."""
    found = re.search(rf'<textarea[^>]*id="{field_id}"[^>]*>(.*?)</textarea>', html, re.S)
    assert found, f"no textarea {field_id}"
    return found.group(1).strip()


def _two_submitted_milestones():
    assignment = active_assignment(
        amount=50000, milestones=[("Data", 24, 20000), ("Report", 48, 30000)]
    )
    first, second = assignment.milestones.order_by("position")
    submit(first)
    submit(second)
    return assignment, first, second


def test_refused_revision_request_keeps_the_feedback_under_its_milestone(client):
    assignment, first, second = _two_submitted_milestones()
    client.force_login(employer_of(assignment.posting))
    feedback = "Add the charts for each region. " * 200  # over the 5000-character limit
    response = client.post(
        reverse("applications:milestone_move", args=[second.pk, "revision"]),
        {"feedback": feedback},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count(SUMMARY) == 1
    assert f'href="#id_ms{second.pk}_feedback"' in html
    assert _textarea(html, f"id_ms{second.pk}_feedback") == feedback.strip()
    assert _textarea(html, f"id_ms{first.pk}_feedback") == ""
    second.refresh_from_db()
    assert second.status == Milestone.Status.SUBMITTED


def test_refused_dispute_keeps_the_reason_under_its_milestone(client):
    assignment, first, second = _two_submitted_milestones()
    client.force_login(assignment.student)
    response = client.post(
        reverse("applications:milestone_move", args=[first.pk, "dispute"]),
        {"reason": "No reply"},  # under the 10-character minimum
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count(SUMMARY) == 1
    assert f'href="#id_ms{first.pk}_reason"' in html
    assert _textarea(html, f"id_ms{first.pk}_reason") == "No reply"
    assert _textarea(html, f"id_ms{second.pk}_reason") == ""
    # The dispute's folded section opens so that the error is seen.
    assert re.search(r"<details[^>]*app-dispute-link[^>]*open", html)
    first.refresh_from_db()
    assert first.status == Milestone.Status.SUBMITTED


def test_valid_revision_request_still_redirects(client):
    assignment, first, _second = _two_submitted_milestones()
    client.force_login(employer_of(assignment.posting))
    response = client.post(
        reverse("applications:milestone_move", args=[first.pk, "revision"]),
        {"feedback": "Add the charts, please."},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == Milestone.Status.REVISION_REQUESTED


def _completed_assignment():
    assignment = active_assignment(credit=True)
    milestone = first_milestone(assignment)
    submit(milestone)
    services.milestone_approve(milestone=milestone, actor=employer_of(assignment.posting))
    assignment.refresh_from_db()
    assert assignment.status == "completed"
    return assignment


def test_rating_without_a_score_keeps_the_comment(client):
    assignment = _completed_assignment()
    client.force_login(assignment.student)
    comment = "Clear brief & quick answers."
    response = client.post(reverse("applications:rate", args=[assignment.pk]), {"comment": comment})
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count(SUMMARY) == 1
    assert 'href="#id_score_0"' in html and 'id="id_score_0"' in html  # the first radio button
    assert _textarea(html, "id_comment") == "Clear brief &amp; quick answers."
    assert not assignment.ratings.exists()


def test_refused_reject_keeps_the_message(client):
    application = ApplicationFactory()
    client.force_login(employer_of(application.posting))
    message = "We chose someone with more SQL experience. " * 50  # over 2000 characters
    response = client.post(
        reverse("applications:move", args=[application.pk, "reject"]), {"message": message}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count(SUMMARY) == 1
    assert 'href="#id_message"' in html
    assert _textarea(html, "id_message") == message.strip()
    assert re.search(r"<details[^>]*open>\s*<summary>Not selected", html)
    application.refresh_from_db()
    assert application.status == "submitted"


@pytest.mark.parametrize("typed", ["next Tuesday", "after-start"])
def test_refused_offer_keeps_the_deadline_typed(client, typed):
    application = ApplicationFactory()
    if typed == "after-start":  # a real date the service refuses: later than the start
        later = application.posting.starts_at + dt.timedelta(days=1)
        typed = later.strftime("%Y-%m-%dT%H:%M")
    client.force_login(employer_of(application.posting))
    response = client.post(
        reverse("applications:move", args=[application.pk, "offer"]), {"expires_at": typed}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count(SUMMARY) == 1
    assert 'href="#id_expires_at"' in html
    assert re.search(rf'<input[^>]*value="{typed}"[^>]*id="id_expires_at"', html) or re.search(
        rf'<input[^>]*id="id_expires_at"[^>]*value="{typed}"', html
    )
    application.refresh_from_db()
    assert application.status == "submitted"
