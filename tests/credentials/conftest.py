import pytest

from applications import services as app_services
from tests.applications.factories import active_assignment, employer_of, first_milestone, submit


def complete(assignment):
    """Submit and approve every milestone through the services; the assignment completes."""
    employer = employer_of(assignment.posting)
    for milestone in assignment.milestones.order_by("position"):
        submit(milestone)
        app_services.milestone_approve(milestone=milestone, actor=employer)
    assignment.refresh_from_db()
    assert assignment.status == "completed"
    return assignment


@pytest.fixture
def completed_credit(django_capture_on_commit_callbacks):
    """A completed academic-credit assignment, its completion hook run (as after the commit)."""

    def make(**kwargs):
        kwargs.setdefault("skills", ["Data analysis", "Excel"])
        assignment = active_assignment(credit=True, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            complete(assignment)
        return assignment

    return make


__all__ = ["complete", "first_milestone"]
