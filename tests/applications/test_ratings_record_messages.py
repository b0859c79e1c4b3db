"""Ratings (double-blind, 14-day window), the verified record, employer reputation, messages
and re-invitations."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Employer
from applications import services
from applications.models import Rating, ReInvite
from applications.selectors import ratings_visible
from marketplace.core.errors import DomainError, NotPermitted
from tests.applications.factories import (
    ApplicationFactory,
    active_assignment,
    employer_of,
    first_milestone,
    submit,
    walk_to,
)
from tests.factories import EmployerUserFactory, PostingFactory, StaffFactory

pytestmark = pytest.mark.django_db


def completed(**kwargs):
    assignment = active_assignment(credit=True, **kwargs)
    milestone = first_milestone(assignment)
    submit(milestone)
    services.milestone_approve(milestone=milestone, actor=employer_of(assignment.posting))
    assignment.refresh_from_db()
    assert assignment.status == "completed"
    return assignment


def test_ratings_only_after_completion():
    assignment = active_assignment()
    with pytest.raises(DomainError) as exc:
        services.rating_create(assignment=assignment, actor=assignment.student, score=5)
    assert exc.value.code == "not_completed"


def test_double_blind_until_both_rated():
    assignment = completed()
    employer = employer_of(assignment.posting)
    mine = services.rating_create(
        assignment=assignment, actor=employer, score=5, comment="Excellent work."
    )
    again = services.rating_create(assignment=assignment, actor=employer, score=1)
    assert again.pk == mine.pk and again.score == 5  # once per side, not changed by a retry
    assert mine.published_at is None
    assert ratings_visible(assignment=assignment, role="student")["by_employer"] is None
    assert ratings_visible(assignment=assignment, role="employer")["by_employer"] == mine
    note = assignment.student.notifications.get(kind="rating.received")
    assert "Excellent" not in note.body + note.title  # the notice does not reveal the rating
    services.rating_create(assignment=assignment, actor=assignment.student, score=4)
    assert Rating.objects.filter(published_at__isnull=True).count() == 0
    assert ratings_visible(assignment=assignment, role="student")["by_employer"] == mine
    row = Employer.objects.get(pk=assignment.posting.employer_id)
    assert (row.rating_average, row.rating_count) == (Decimal("4.00"), 1)


def test_window_closes_then_single_rating_is_published():
    assignment = completed()
    with pytest.raises(DomainError) as exc:
        services.rating_create(assignment=assignment, actor=assignment.student, score=9)
    assert "score" in exc.value.fields
    services.rating_create(assignment=assignment, actor=assignment.student, score=2)
    due = assignment.rating_due_at
    with time_machine.travel(due - dt.timedelta(seconds=1), tick=False):
        assert services.ratings_publish_due() == 0
    with time_machine.travel(due, tick=False):
        assert services.ratings_publish_due() == 1
        assert services.ratings_publish_due() == 0
        with pytest.raises(DomainError) as exc:
            services.rating_create(
                assignment=assignment, actor=employer_of(assignment.posting), score=5
            )
        assert exc.value.code == "window_closed"
    row = Employer.objects.get(pk=assignment.posting.employer_id)
    assert (row.rating_average, row.rating_count) == (Decimal("2.00"), 1)


def test_outsiders_cannot_rate():
    assignment = completed()
    with pytest.raises(NotPermitted):
        services.rating_create(assignment=assignment, actor=EmployerUserFactory(), score=5)


def test_verified_record_lists_completed_work_with_rating_and_feedback(client):
    assignment = completed(skills=["python", "sql"])
    employer = employer_of(assignment.posting)
    services.rating_create(
        assignment=assignment, actor=employer, score=5, comment="Clear, careful analysis."
    )
    services.rating_create(assignment=assignment, actor=assignment.student, score=5)
    hidden = completed()
    services.assignment_set_on_record(assignment=hidden, actor=hidden.student, show=False)
    profile = assignment.student.student_profile
    profile.record_public = True
    profile.save()
    page = client.get(reverse("applications:record", args=[profile.public_slug]))
    body = page.content.decode()
    assert page.status_code == 200
    for text in (
        assignment.posting.title,
        assignment.posting.employer.name,
        "Micro",
        "about 20 hours",
        "python",
        "5/5",
        "Clear, careful analysis.",
    ):
        assert text in body, text
    # Another student's hidden item is not on this student's page anyway; the hidden one of
    # its own student is not on theirs.
    hidden_profile = hidden.student.student_profile
    hidden_profile.record_public = True
    hidden_profile.save()
    page = client.get(reverse("applications:record", args=[hidden_profile.public_slug]))
    assert hidden.posting.title not in page.content.decode()


def test_unpublished_rating_not_on_the_record(client):
    assignment = completed()
    services.rating_create(
        assignment=assignment, actor=employer_of(assignment.posting), score=3, comment="Meh."
    )
    profile = assignment.student.student_profile
    profile.record_public = True
    profile.save()
    body = client.get(reverse("applications:record", args=[profile.public_slug])).content
    assert b"Meh." not in body and b"3/5" not in body


# --- Messages -------------------------------------------------------------------------------


def test_thread_between_student_and_every_member():
    application = ApplicationFactory()
    owner = employer_of(application.posting)
    colleague = EmployerUserFactory(employer=application.posting.employer)
    services.message_send(application=application, actor=application.student, body="Hello!")
    for user in (owner, colleague):
        assert user.notifications.filter(kind="message.received").count() == 1
    services.message_send(application=application, actor=colleague, body="Hi, welcome.")
    assert application.student.notifications.filter(kind="message.received").count() == 1
    with pytest.raises(DomainError):
        services.message_send(application=application, actor=owner, body="   ")
    with pytest.raises(NotPermitted):
        services.message_send(application=application, actor=StaffFactory(), body="Hi")
    assert list(application.messages.values_list("body", flat=True)) == [
        "Hello!",
        "Hi, welcome.",
    ]


def test_thread_continues_into_the_assignment_and_closes_with_the_application():
    assignment = active_assignment()
    services.message_send(
        application=assignment.application, actor=assignment.student, body="Started!"
    )
    rejected = walk_to(ApplicationFactory(), "rejected")
    with pytest.raises(DomainError) as exc:
        services.message_send(application=rejected, actor=rejected.student, body="Why?")
    assert exc.value.code == "thread_closed"


def test_message_page_and_api(client):
    application = ApplicationFactory()
    client.force_login(application.student)
    client.post(reverse("applications:message", args=[application.pk]), {"body": "Page hello"})
    response = client.post(
        "/api/v1/messages/",
        {"application": application.pk, "body": "API hello"},
        content_type="application/json",
    )
    assert response.status_code == 201
    client.force_login(employer_of(application.posting))
    listing = client.get(f"/api/v1/messages/?application={application.pk}").json()
    assert [m["body"] for m in listing["results"]] == ["API hello", "Page hello"]
    page = client.get(reverse("applications:detail", args=[application.pk]))
    assert "Page hello" in page.content.decode()


# --- Re-invite ------------------------------------------------------------------------------


def test_reinvite_only_after_completed_work_once_per_posting():
    assignment = completed()
    employer = employer_of(assignment.posting)
    new_posting = PostingFactory(employer=assignment.posting.employer)
    first = services.reinvite_create(
        source_assignment=assignment, posting=new_posting, actor=employer, message="Again?"
    )
    second = services.reinvite_create(
        source_assignment=assignment, posting=new_posting, actor=employer
    )
    assert first.pk == second.pk and ReInvite.objects.count() == 1
    assert assignment.student.notifications.filter(kind="invitation.received").count() == 1
    foreign = PostingFactory()
    with pytest.raises(NotPermitted):
        services.reinvite_create(source_assignment=assignment, posting=foreign, actor=employer)
    ongoing = active_assignment()
    with pytest.raises(DomainError) as exc:
        services.reinvite_create(
            source_assignment=ongoing,
            posting=PostingFactory(employer=ongoing.posting.employer),
            actor=employer_of(ongoing.posting),
        )
    assert exc.value.code == "not_completed"
    closed = PostingFactory(
        employer=assignment.posting.employer,
        application_deadline=timezone.now() - dt.timedelta(hours=1),
    )
    with pytest.raises(DomainError):
        services.reinvite_create(source_assignment=assignment, posting=closed, actor=employer)


def test_paid_milestones_count_as_work_done_on_the_record(client):
    from applications.models import Milestone
    from tests.applications.factories import active_assignment

    running = active_assignment(milestones=[("Data", 24, 20000), ("Report", 48, 30000)])
    profile = running.student.student_profile
    profile.record_public = True
    profile.save()
    url = reverse("applications:record", args=[profile.public_slug])
    assert running.posting.title not in client.get(url).content.decode()  # nothing paid yet
    first = running.milestones.order_by("position").first()
    Milestone.objects.filter(pk=first.pk).update(status=Milestone.Status.PAID)
    body = client.get(url).content.decode()
    assert running.posting.title in body
    assert "in progress: 1 of 2 milestones approved and paid" in body
    client.force_login(running.student)
    own = client.get(url).content.decode()
    assert 'data-copy="record-link">Copy link</button>' in own
    assert f'value="http://testserver{url}"' in own
