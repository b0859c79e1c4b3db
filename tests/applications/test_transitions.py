"""Every lifecycle move, allowed and forbidden, through the services; each call made twice.

For each status map the tests put an object in every status (rows built directly), call the
service that moves it to each target twice, and check: an allowed move lands on the target and
the second call changes nothing; a forbidden move is refused both times (``InvalidTransition``)
and leaves the status alone.
"""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from applications import services
from applications.models import Application, Assignment, Dispute, Milestone
from marketplace.core.errors import DomainError, InvalidTransition
from notifications.models import Notification
from tests.applications.factories import (
    ApplicationFactory,
    accepted_assignment,
    active_assignment,
    employer_of,
    first_milestone,
    submit,
    walk_to,
)
from tests.factories import CreditPostingFactory, StaffFactory

pytestmark = pytest.mark.django_db

A = Application.Status
M = Milestone.Status
S = Assignment.Status


# --- Application --------------------------------------------------------------------------


def _application_in(status: str) -> Application:
    posting = CreditPostingFactory(openings=3)
    employer_of(posting)
    if status == A.ACCEPTED:
        application = ApplicationFactory(posting=posting)
        walk_to(application, A.ACCEPTED)
        application.refresh_from_db()
        return application
    application = ApplicationFactory(posting=posting, status=status)
    if status == A.OFFERED:
        application.offer_expires_at = timezone.now() + dt.timedelta(hours=10)
        application.save()
    return application


def _application_move(application: Application, target: str):
    employer = employer_of(application.posting)
    student = application.student
    if target == A.SHORTLISTED:
        return services.application_shortlist(application=application, actor=employer)
    if target == A.OFFERED:
        return services.application_offer(application=application, actor=employer)
    if target == A.ACCEPTED:
        return services.application_accept(application=application, actor=student)
    if target == A.DECLINED:
        return services.application_decline(application=application, actor=student)
    if target == A.REJECTED:
        return services.application_reject(application=application, actor=employer)
    if target == A.WITHDRAWN:
        return services.application_withdraw(application=application, actor=student)
    raise AssertionError(target)


# The allowed moves, written out from the product's rules (not read from the model's map, so a
# wrong map fails here): the employer shortlists, offers or rejects an open application; the
# student withdraws it while open, and accepts or declines an offer; an offer also expires (the
# sweep, tested below). Every status not listed as a source is final.
APPLICATION_ALLOWED = {
    A.SUBMITTED: {A.SHORTLISTED, A.OFFERED, A.REJECTED, A.WITHDRAWN},
    A.SHORTLISTED: {A.OFFERED, A.REJECTED, A.WITHDRAWN},
    A.OFFERED: {A.ACCEPTED, A.DECLINED, A.EXPIRED, A.REJECTED, A.WITHDRAWN},
}
APPLICATION_TARGETS = [s for s in A.values if s not in (A.SUBMITTED, A.EXPIRED)]


@pytest.mark.parametrize("source", A.values)
@pytest.mark.parametrize("target", APPLICATION_TARGETS)
def test_application_moves(source, target):
    application = _application_in(source)
    allowed = target in APPLICATION_ALLOWED.get(source, set()) or source == target
    if allowed:
        first = _application_move(application, target)
        second = _application_move(application, target)
        application.refresh_from_db()
        assert application.status == target
        if target == A.ACCEPTED:
            assert first.pk == second.pk  # the same assignment, not a second one
            assert Assignment.objects.filter(application=application).count() == 1
            assert (
                application.posting.__class__.objects.get(pk=application.posting_id).seats_filled
                == 1
            )
    else:
        for _ in range(2):
            with pytest.raises(InvalidTransition):
                _application_move(application, target)
        application.refresh_from_db()
        assert application.status == source


@pytest.mark.parametrize("source", A.values)
def test_application_expiry_only_from_offered_after_the_deadline(source):
    application = _application_in(source)
    later = timezone.now() + dt.timedelta(hours=11)
    results = [services.application_expire_offer(application=application, now=later) for _ in "12"]
    application.refresh_from_db()
    if source == A.OFFERED:
        assert results == [True, False]
        assert application.status == A.EXPIRED
    else:
        assert results == [False, False]
        assert application.status == source


def test_offer_is_not_expired_before_its_deadline():
    application = _application_in(A.OFFERED)
    assert not services.application_expire_offer(application=application)
    application.refresh_from_db()
    assert application.status == A.OFFERED


def test_only_the_right_side_moves_an_application():
    application = _application_in(A.SUBMITTED)
    other_student = ApplicationFactory().student
    from marketplace.core.errors import NotPermitted

    with pytest.raises(NotPermitted):
        services.application_shortlist(application=application, actor=application.student)
    with pytest.raises(NotPermitted):
        services.application_withdraw(application=application, actor=other_student)
    with pytest.raises(NotPermitted):
        services.application_offer(
            application=application, actor=employer_of(ApplicationFactory().posting)
        )


# --- Assignment ---------------------------------------------------------------------------


def _assignment_in(status: str) -> Assignment:
    assignment = accepted_assignment()  # paid: awaiting funding
    if status != S.AWAITING_FUNDING:
        Assignment.objects.filter(pk=assignment.pk).update(status=status)
        assignment.refresh_from_db()
    return assignment


def _assignment_move(assignment: Assignment, target: str):
    if target == S.ACTIVE:
        return services.assignment_mark_funded(assignment=assignment)
    if target == S.CANCELLED:
        return services.assignment_cancel(
            assignment=assignment, actor=StaffFactory(), reason="Duplicate posting."
        )
    raise AssertionError(target)


# Funding makes an assignment active; it is cancelled (unfunded, by agreement or by staff) while
# awaiting funding or active; it completes when its milestones are done (tested below).
ASSIGNMENT_ALLOWED = {
    S.AWAITING_FUNDING: {S.ACTIVE, S.CANCELLED},
    S.ACTIVE: {S.COMPLETED, S.CANCELLED},
}


@pytest.mark.parametrize("source", S.values)
@pytest.mark.parametrize("target", [S.ACTIVE, S.CANCELLED])
def test_assignment_moves(source, target):
    assignment = _assignment_in(source)
    # mark_funded is idempotent for an assignment already past funding (active or completed).
    already = source == target or (target == S.ACTIVE and source == S.COMPLETED)
    allowed = target in ASSIGNMENT_ALLOWED.get(source, set()) or already
    if allowed:
        for _ in range(2):
            _assignment_move(assignment, target)
        assignment.refresh_from_db()
        assert assignment.status == (source if already else target)
    else:
        for _ in range(2):
            with pytest.raises(InvalidTransition):
                _assignment_move(assignment, target)
        assignment.refresh_from_db()
        assert assignment.status == source


def test_assignment_completes_when_every_milestone_is_paid_twice_harmless():
    assignment = active_assignment(milestones=[("Data", 48, 20000), ("Report", 200, 30000)])
    employer = employer_of(assignment.posting)
    milestones = list(assignment.milestones.order_by("position"))
    for milestone in milestones:
        submit(milestone)
        services.milestone_approve(milestone=milestone, actor=employer)
    services.milestone_mark_paid(milestone=milestones[0])
    assignment.refresh_from_db()
    assert assignment.status == S.ACTIVE
    for _ in range(2):
        services.milestone_mark_paid(milestone=milestones[1])
    assignment.refresh_from_db()
    assert assignment.status == S.COMPLETED
    assert assignment.completed_at is not None
    assert assignment.rating_due_at == assignment.completed_at + dt.timedelta(days=14)


# --- Milestone ----------------------------------------------------------------------------


def _milestone_in(status: str) -> Milestone:
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    employer = employer_of(assignment.posting)
    if status in (M.SUBMITTED, M.REVISION_REQUESTED, M.APPROVED, M.PAID):
        submit(milestone)
    if status == M.REVISION_REQUESTED:
        services.milestone_request_revision(milestone=milestone, actor=employer, feedback="More.")
    if status in (M.APPROVED, M.PAID):
        services.milestone_approve(milestone=milestone, actor=employer)
    if status == M.PAID:
        services.milestone_mark_paid(milestone=milestone)
    if status in (M.DISPUTED, M.RESOLVED):
        services.dispute_open(milestone=milestone, actor=employer, reason="Nothing was delivered.")
    if status == M.RESOLVED:
        services.dispute_resolve(
            dispute=Dispute.objects.get(milestone=milestone),
            actor=StaffFactory(),
            resolution="refund",
        )
    milestone.refresh_from_db()
    assert milestone.status == status
    return milestone


def _milestone_move(milestone: Milestone, target: str):
    assignment = milestone.assignment
    employer = employer_of(assignment.posting)
    if target == M.SUBMITTED:
        return submit(milestone)
    if target == M.REVISION_REQUESTED:
        return services.milestone_request_revision(
            milestone=milestone, actor=employer, feedback="Please add the charts."
        )
    if target == M.APPROVED:
        return services.milestone_approve(milestone=milestone, actor=employer)
    if target == M.PAID:
        return services.milestone_mark_paid(milestone=milestone)
    if target == M.DISPUTED:
        return services.dispute_open(
            milestone=milestone, actor=assignment.student, reason="The employer does not answer."
        )
    if target == M.RESOLVED:
        dispute = Dispute.objects.filter(milestone=milestone).first()
        if dispute is None:
            # No dispute to decide: resolving is impossible; model it as the map check.
            raise InvalidTransition("no dispute")
        return services.dispute_resolve(dispute=dispute, actor=StaffFactory(), resolution="release")
    raise AssertionError(target)


# The student submits open work (again after a revision request); the employer asks for a
# revision of or approves submitted work; payments pays approved work; either side disputes
# work not yet approved, and staff resolve the dispute.
MILESTONE_ALLOWED = {
    M.OPEN: {M.SUBMITTED, M.DISPUTED},
    M.SUBMITTED: {M.REVISION_REQUESTED, M.APPROVED, M.DISPUTED},
    M.REVISION_REQUESTED: {M.SUBMITTED, M.DISPUTED},
    M.APPROVED: {M.PAID},
    M.DISPUTED: {M.RESOLVED},
}

# Services that return early when the move already happened (or went further).
ALREADY_DONE = {
    (M.APPROVED, M.APPROVED),
    (M.PAID, M.APPROVED),
    (M.REVISION_REQUESTED, M.REVISION_REQUESTED),
    (M.PAID, M.PAID),
    (M.DISPUTED, M.DISPUTED),
    (M.RESOLVED, M.RESOLVED),
}


@pytest.mark.parametrize("source", M.values)
@pytest.mark.parametrize("target", [s for s in M.values if s != M.OPEN])
def test_milestone_moves(source, target):
    milestone = _milestone_in(source)
    if (source, target) in ALREADY_DONE:
        for _ in range(2):
            _milestone_move(milestone, target)
        milestone.refresh_from_db()
        assert milestone.status == source
    elif target in MILESTONE_ALLOWED.get(source, set()):
        _milestone_move(milestone, target)
        # The second call: a submission twice is refused (no second version); every other
        # move returns early.
        if target == M.SUBMITTED:
            with pytest.raises(InvalidTransition):
                _milestone_move(milestone, target)
        else:
            _milestone_move(milestone, target)
        milestone.refresh_from_db()
        assert milestone.status == target
        if target == M.SUBMITTED:
            assert milestone.submissions.filter(outcome="pending").count() == 1
    else:
        for _ in range(2):
            with pytest.raises(DomainError):
                _milestone_move(milestone, target)
        milestone.refresh_from_db()
        assert milestone.status == source


def test_revision_limit_then_only_approve_or_dispute():
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    employer = employer_of(assignment.posting)
    for round_ in range(assignment.allowed_revisions):
        submit(milestone)
        services.milestone_request_revision(
            milestone=milestone, actor=employer, feedback=f"{round_}"
        )
    submit(milestone)
    with pytest.raises(DomainError) as exc:
        services.milestone_request_revision(milestone=milestone, actor=employer, feedback="again")
    assert exc.value.code == "no_revisions_left"
    milestone.refresh_from_db()
    assert milestone.status == M.SUBMITTED
    assert milestone.submissions.count() == assignment.allowed_revisions + 1
    services.milestone_approve(milestone=milestone, actor=employer)
    milestone.refresh_from_db()
    assert milestone.status == M.APPROVED


def test_credit_assignment_completes_at_approval_without_payment():
    assignment = accepted_assignment(credit=True)
    assert assignment.status == S.ACTIVE and assignment.amount == 0
    milestone = first_milestone(assignment)
    submit(milestone)
    services.milestone_approve(milestone=milestone, actor=employer_of(assignment.posting))
    assignment.refresh_from_db()
    assert assignment.status == S.COMPLETED


def test_auto_approval_with_frozen_time():
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    submit(milestone)
    milestone.refresh_from_db()
    due = milestone.review_due_at
    assert due - milestone.submitted_at == dt.timedelta(days=7)
    with time_machine.travel(due - dt.timedelta(minutes=1), tick=False):
        assert services.milestones_auto_approve_due() == 0
    with time_machine.travel(due + dt.timedelta(minutes=1), tick=False):
        assert services.milestones_auto_approve_due() == 1
        assert services.milestones_auto_approve_due() == 0
    milestone.refresh_from_db()
    assert milestone.status == M.APPROVED and milestone.auto_approved
    assert milestone.submissions.get().outcome == "auto_approved"
    kinds = set(
        Notification.objects.filter(kind="milestone.approved").values_list("recipient", flat=True)
    )
    assert assignment.student_id in kinds and employer_of(assignment.posting).pk in kinds


@pytest.mark.parametrize(
    "model,table",
    [
        (Application, APPLICATION_ALLOWED),
        (Assignment, ASSIGNMENT_ALLOWED),
        (Milestone, MILESTONE_ALLOWED),
    ],
)
def test_the_maps_allow_exactly_the_moves_of_the_tables(model, table):
    """Also the moves no service test above reaches (an assignment's completion): a move
    added to a map without a decision to allow it fails here."""
    assert set(model.TRANSITIONS) == set(model.Status.values)
    assert {source: targets for source, targets in model.TRANSITIONS.items() if targets} == table
