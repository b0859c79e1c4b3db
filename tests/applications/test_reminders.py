"""Each reminder of this app is sent at its moment, once, and not at all when the thing is done.

Time is frozen with time_machine; ``reminders_send_due`` is the beat sweep of the
notifications app."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from applications import services
from notifications.models import Notification
from notifications.services import reminders_send_due
from tests.applications.factories import (
    ApplicationFactory,
    accepted_assignment,
    active_assignment,
    employer_of,
    first_milestone,
    submit,
)
from tests.factories import EmployerUserFactory

pytestmark = pytest.mark.django_db

SECOND = dt.timedelta(seconds=1)


def count(kind, user):
    return Notification.objects.filter(kind=kind, recipient=user).count()


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return reminders_send_due()


def check_sent_once(moment, kind, users):
    """Not a second before ``moment``; at it, once, and not again on the next sweep."""
    sweep_at(moment - SECOND)
    assert all(count(kind, u) == 0 for u in users), kind
    sweep_at(moment)
    sweep_at(moment + dt.timedelta(minutes=1))
    assert all(count(kind, u) == 1 for u in users), kind


# --- Offer answer due (student, 24h before the offer expires) -------------------------------


def _offered():
    application = ApplicationFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.application_offer(application=application, actor=employer_of(application.posting))
    application.refresh_from_db()
    return application


def test_offer_reminder_24h_before_expiry():
    application = _offered()
    check_sent_once(
        application.offer_expires_at - dt.timedelta(hours=24),
        "reminder.offer_due",
        [application.student],
    )


def test_no_offer_reminder_once_answered():
    application = _offered()
    services.application_decline(application=application, actor=application.student)
    sweep_at(application.offer_expires_at - dt.timedelta(hours=1))
    assert count("reminder.offer_due", application.student) == 0


# --- Funding pending (employer members, 24h after acceptance) --------------------------------


def test_funding_reminder_to_every_member_24h_after_acceptance():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assignment = accepted_assignment()
    members = [employer_of(assignment.posting)]
    check_sent_once(start + dt.timedelta(hours=24), "reminder.funding_pending", members)
    assert count("reminder.funding_pending", assignment.student) == 0


def test_no_funding_reminder_once_funded():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assignment = accepted_assignment()
    services.assignment_mark_funded(assignment=assignment)
    sweep_at(start + dt.timedelta(hours=25))
    assert count("reminder.funding_pending", employer_of(assignment.posting)) == 0


# --- Milestone due (student: 48h and 2h before) and overdue (both) ---------------------------


def test_milestone_due_and_overdue_reminders():
    assignment = active_assignment(credit=True)
    milestone = first_milestone(assignment)
    employer = employer_of(assignment.posting)
    student = assignment.student
    due = milestone.due_at
    sweep_at(due - dt.timedelta(hours=48) - SECOND)
    assert count("reminder.milestone_due", student) == 0
    sweep_at(due - dt.timedelta(hours=48))
    sweep_at(due - dt.timedelta(hours=47))
    assert count("reminder.milestone_due", student) == 1
    sweep_at(due - dt.timedelta(hours=2))
    sweep_at(due - dt.timedelta(hours=1))
    assert count("reminder.milestone_due", student) == 2
    assert count("reminder.milestone_due", employer) == 0
    check_sent_once(due, "reminder.milestone_overdue", [student, employer])


def test_no_milestone_reminders_once_submitted():
    assignment = active_assignment(credit=True)
    milestone = first_milestone(assignment)
    submit(milestone)
    sweep_at(milestone.due_at + dt.timedelta(hours=1))
    assert count("reminder.milestone_due", assignment.student) == 0
    assert count("reminder.milestone_overdue", assignment.student) == 0
    assert count("reminder.milestone_overdue", employer_of(assignment.posting)) == 0


def test_paid_assignment_reminders_start_at_funding():
    assignment = accepted_assignment()
    milestone = first_milestone(assignment)
    sweep_at(milestone.due_at - dt.timedelta(hours=1))
    assert count("reminder.milestone_due", assignment.student) == 0  # not funded: no work yet


# --- Automatic approval (employer: 48h and 24h before) ---------------------------------------


def test_auto_approval_reminders_to_every_member():
    assignment = active_assignment()
    owner = employer_of(assignment.posting)
    colleague = EmployerUserFactory(employer=assignment.posting.employer)
    milestone = first_milestone(assignment)
    submit(milestone)
    milestone.refresh_from_db()
    due = milestone.review_due_at
    sweep_at(due - dt.timedelta(hours=48) - SECOND)
    assert count("reminder.auto_approval", owner) == 0
    sweep_at(due - dt.timedelta(hours=48))
    assert count("reminder.auto_approval", owner) == 1
    assert count("reminder.auto_approval", colleague) == 1
    sweep_at(due - dt.timedelta(hours=24))
    sweep_at(due - dt.timedelta(hours=23))
    assert count("reminder.auto_approval", owner) == 2
    assert count("reminder.auto_approval", assignment.student) == 0


def test_no_auto_approval_reminder_once_reviewed():
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    submit(milestone)
    milestone.refresh_from_db()
    due = milestone.review_due_at
    services.milestone_request_revision(
        milestone=milestone, actor=employer_of(assignment.posting), feedback="Please fix."
    )
    sweep_at(due - dt.timedelta(hours=1))
    assert count("reminder.auto_approval", employer_of(assignment.posting)) == 0


# --- Rating window closing (both sides, 72h before) -----------------------------------------


def _completed():
    assignment = active_assignment(credit=True)
    milestone = first_milestone(assignment)
    submit(milestone)
    services.milestone_approve(milestone=milestone, actor=employer_of(assignment.posting))
    assignment.refresh_from_db()
    return assignment


def test_rating_window_reminders_for_both_sides():
    assignment = _completed()
    employer = employer_of(assignment.posting)
    check_sent_once(
        assignment.rating_due_at - dt.timedelta(hours=72),
        "reminder.rating_window",
        [assignment.student, employer],
    )


def test_no_rating_reminder_for_the_side_that_rated():
    assignment = _completed()
    employer = employer_of(assignment.posting)
    services.rating_create(assignment=assignment, actor=assignment.student, score=5)
    sweep_at(assignment.rating_due_at - dt.timedelta(hours=1))
    assert count("reminder.rating_window", assignment.student) == 0
    assert count("reminder.rating_window", employer) == 1
