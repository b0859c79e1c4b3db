"""Assignments: the payments contract (funded, paid, unfunded expiry), cancellation, the
signals payments listens to, and disputes decided by staff."""

import datetime as dt

import pytest
import time_machine

from applications import services, signals
from applications.models import Assignment, Dispute, Milestone
from marketplace.core.audit import AuditLog
from marketplace.core.errors import DomainError, InvalidTransition, NotPermitted
from postings.models import Posting
from tests.applications.factories import (
    accepted_assignment,
    active_assignment,
    employer_of,
    first_milestone,
    submit,
)
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    """Records every signal this app sends to payments."""
    got = []

    def receiver(signal, sender, **kwargs):
        got.append((signal, kwargs))

    for signal in (
        signals.milestone_approved,
        signals.assignment_cancelled,
        signals.dispute_resolved,
    ):
        signal.connect(receiver, weak=False)
    yield got
    for signal in (
        signals.milestone_approved,
        signals.assignment_cancelled,
        signals.dispute_resolved,
    ):
        signal.disconnect(receiver)


def test_mark_funded_activates_once_and_notifies_both_sides():
    assignment = accepted_assignment()
    employer = employer_of(assignment.posting)
    first = services.assignment_mark_funded(assignment=assignment)
    funded_at = first.funded_at
    second = services.assignment_mark_funded(assignment=assignment)
    assert first.status == second.status == Assignment.Status.ACTIVE
    assert second.funded_at == funded_at
    assert AuditLog.objects.filter(action="assignment.funded").count() == 1
    for user in (assignment.student, employer):
        assert user.notifications.filter(kind="assignment.funded").count() == 1


def test_work_waits_for_funding():
    assignment = accepted_assignment()
    with pytest.raises(DomainError) as exc:
        submit(first_milestone(assignment))
    assert exc.value.code == "not_funded"


def test_unfunded_assignment_expires_and_frees_the_seat(
    received, django_capture_on_commit_callbacks
):
    assignment = accepted_assignment(openings=1)
    posting = Posting.objects.get(pk=assignment.posting_id)
    assert (posting.status, posting.seats_filled) == ("closed", 1)
    due = assignment.funding_due_at
    with time_machine.travel(due - dt.timedelta(seconds=1), tick=False):
        assert services.assignments_expire_unfunded_due() == 0
    with time_machine.travel(due, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert services.assignments_expire_unfunded_due() == 1
        assert services.assignments_expire_unfunded_due() == 0
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.CANCELLED
    posting.refresh_from_db()
    assert posting.seats_filled == 0
    assert posting.status == "published"  # filled, then freed before the deadline: reopened
    assert [k for s, k in received if s is signals.assignment_cancelled] == [
        {"assignment_id": assignment.pk}
    ]
    # Funding that arrives too late is refused: payments refunds it.
    with pytest.raises(InvalidTransition):
        services.assignment_mark_funded(assignment=assignment)


def test_expire_unfunded_service_is_idempotent_and_ignores_funded():
    assignment = accepted_assignment()
    later = assignment.funding_due_at + dt.timedelta(minutes=1)
    services.assignment_mark_funded(assignment=assignment)
    assert services.assignment_expire_unfunded(assignment=assignment, now=later).status == "active"
    other = accepted_assignment()
    for _ in range(2):
        services.assignment_expire_unfunded(assignment=other, now=later)
    other.refresh_from_db()
    assert other.status == "cancelled"
    assert AuditLog.objects.filter(action="assignment.expired_unfunded").count() == 1


def test_cancel_by_agreement_needs_both_sides_and_no_work():
    assignment = active_assignment()
    employer = employer_of(assignment.posting)
    services.assignment_cancel_agree(assignment=assignment, actor=employer)
    services.assignment_cancel_agree(assignment=assignment, actor=employer)  # twice: harmless
    assignment.refresh_from_db()
    assert assignment.status == "active"
    services.assignment_cancel_agree(assignment=assignment, actor=assignment.student)
    assignment.refresh_from_db()
    assert assignment.status == "cancelled"
    assert assignment.cancel_reason == "Cancelled by agreement of both sides."

    busy = active_assignment()
    submit(first_milestone(busy))
    with pytest.raises(DomainError) as exc:
        services.assignment_cancel_agree(assignment=busy, actor=busy.student)
    assert exc.value.code == "work_submitted"


def test_staff_cancel_only_when_nothing_waits():
    staff = StaffFactory()
    assignment = active_assignment()
    with pytest.raises(NotPermitted):
        services.assignment_cancel(
            assignment=assignment, actor=assignment.student, reason="I want out."
        )
    submit(first_milestone(assignment))
    with pytest.raises(DomainError) as exc:
        services.assignment_cancel(assignment=assignment, actor=staff, reason="Fraud.")
    assert exc.value.code == "milestone_pending"
    fresh = active_assignment()
    services.assignment_cancel(assignment=fresh, actor=staff, reason="The employer closed.")
    fresh.refresh_from_db()
    assert fresh.status == "cancelled"


def test_milestone_approved_signal_after_commit(received, django_capture_on_commit_callbacks):
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    submit(milestone)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.milestone_approve(milestone=milestone, actor=employer_of(assignment.posting))
    assert received == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert [(s, k) for s, k in received if s is signals.milestone_approved] == [
        (signals.milestone_approved, {"milestone_id": milestone.pk})
    ]


def test_mark_paid_contract():
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    with pytest.raises(InvalidTransition):
        services.milestone_mark_paid(milestone=milestone)  # not approved yet
    submit(milestone)
    services.milestone_approve(milestone=milestone, actor=employer_of(assignment.posting))
    paid = services.milestone_mark_paid(milestone=milestone)
    again = services.milestone_mark_paid(milestone=milestone)
    assert paid.status == again.status == "paid"
    assert again.paid_at == paid.paid_at
    assignment.refresh_from_db()
    assert assignment.status == "completed"


# --- Disputes -------------------------------------------------------------------------------


def test_dispute_open_notifies_the_other_side_and_staff():
    staff = StaffFactory()
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    submit(milestone)
    with pytest.raises(DomainError) as exc:
        services.dispute_open(milestone=milestone, actor=assignment.student, reason="short")
    assert "reason" in exc.value.fields
    dispute = services.dispute_open(
        milestone=milestone, actor=assignment.student, reason="No review for two weeks."
    )
    assert (
        services.dispute_open(
            milestone=milestone, actor=assignment.student, reason="Again and again."
        )
        == dispute
    )
    employer = employer_of(assignment.posting)
    assert employer.notifications.filter(kind="dispute.opened").count() == 1
    assert staff.notifications.filter(kind="dispute.opened").count() == 1
    assert not assignment.student.notifications.filter(kind="dispute.opened").exists()
    milestone.refresh_from_db()
    assert milestone.review_due_at is None  # no automatic approval while disputed
    assert milestone.submissions.get().outcome == "disputed"


@pytest.mark.parametrize(
    "resolution, student_amount, expected",
    [("release", None, 50000), ("refund", 999, 0), ("split", 12000, 12000)],
)
def test_dispute_resolution_recorded(
    received, django_capture_on_commit_callbacks, resolution, student_amount, expected
):
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    dispute = services.dispute_open(
        milestone=milestone, actor=employer_of(assignment.posting), reason="Nothing delivered."
    )
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            services.dispute_resolve(
                dispute=dispute,
                actor=staff,
                resolution=resolution,
                student_amount=student_amount,
                note="Decided on the evidence.",
            )
    dispute.refresh_from_db()
    assert (dispute.resolution, dispute.student_amount) == (resolution, expected)
    assert dispute.resolved_by == staff
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.RESOLVED
    assignment.refresh_from_db()
    assert assignment.status == "completed"  # its only milestone is decided
    assert [k for s, k in received if s is signals.dispute_resolved] == [{"dispute_id": dispute.pk}]
    assert assignment.student.notifications.filter(kind="dispute.resolved").count() == 1


@pytest.mark.parametrize("amount", [None, 0, 50000, 60000])
def test_split_amount_must_be_a_real_split(amount):
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    dispute = services.dispute_open(
        milestone=milestone, actor=assignment.student, reason="The employer vanished."
    )
    with pytest.raises(DomainError) as exc:
        services.dispute_resolve(
            dispute=dispute, actor=StaffFactory(), resolution="split", student_amount=amount
        )
    assert "student_amount" in exc.value.fields
    dispute.refresh_from_db()
    assert dispute.resolved_at is None


def test_only_staff_resolve():
    assignment = active_assignment()
    dispute = services.dispute_open(
        milestone=first_milestone(assignment),
        actor=assignment.student,
        reason="The employer vanished.",
    )
    with pytest.raises(NotPermitted):
        services.dispute_resolve(
            dispute=dispute, actor=employer_of(assignment.posting), resolution="refund"
        )


def test_admin_resolves_a_dispute_through_the_service(client):
    assignment = active_assignment()
    dispute = services.dispute_open(
        milestone=first_milestone(assignment),
        actor=assignment.student,
        reason="The employer vanished.",
    )
    staff = StaffFactory()
    client.force_login(staff)
    url = f"/admin/applications/dispute/{dispute.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(
        url, {"resolution": "split", "student_amount": "70000", "resolution_note": ""}
    )
    assert response.status_code == 200  # the form shows the error
    assert "between 1 and 49999" in response.content.decode()
    response = client.post(
        url, {"resolution": "split", "student_amount": "20000", "resolution_note": "Half done."}
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.resolution, dispute.student_amount, dispute.resolved_by) == (
        "split",
        20000,
        staff,
    )
    assert AuditLog.objects.filter(action="dispute.resolved", actor=staff).count() == 1
    assert Dispute.objects.get().milestone.status == "resolved"
