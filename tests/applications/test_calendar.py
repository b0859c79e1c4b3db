"""This app's deadlines in the calendar feed: each side sees its own, and only its own."""

import pytest

from applications import services
from notifications.calendar import events_for
from tests.applications.factories import (
    ApplicationFactory,
    accepted_assignment,
    active_assignment,
    employer_of,
    first_milestone,
    submit,
    walk_to,
)
from tests.factories import EmployerUserFactory, StudentFactory

pytestmark = pytest.mark.django_db


def _titles(user):
    return [e.title for e in events_for(user)]


def test_student_and_employer_deadlines():
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    offered = walk_to(ApplicationFactory(student=assignment.student), "offered")
    titles = _titles(assignment.student)
    assert f"Due: {milestone.title} ({assignment.posting.title})" in titles
    assert f"Answer the offer: {offered.posting.title}" in titles
    # The generic reminder deadline for the same offer is not listed twice.
    assert "Offer answer due" not in titles

    submit(milestone)
    employer = employer_of(assignment.posting)
    unfunded = accepted_assignment()
    employer_titles = _titles(employer)
    assert f"Review (or it is approved automatically): {milestone.title}" in employer_titles
    assert f"Fund the assignment: {unfunded.posting.title}" not in employer_titles  # not theirs
    assert f"Fund the assignment: {unfunded.posting.title}" in _titles(
        employer_of(unfunded.posting)
    )
    # Submitted: no longer due for the student.
    assert not any(t.startswith("Due: ") for t in _titles(assignment.student))
    services.milestone_approve(milestone=milestone, actor=employer)
    assert not any(t.startswith("Review") for t in _titles(employer))


def test_outsiders_see_none_of_it():
    active_assignment()
    assert not any("Due:" in t or "Review" in t for t in _titles(StudentFactory()))
    assert not any("Review" in t or "Fund" in t for t in _titles(EmployerUserFactory()))
