"""Every status move through the services: allowed ones land (once), forbidden ones raise and
change nothing; each call is made twice."""

import pytest

from marketplace.core.errors import InvalidTransition, NotPermitted
from marketplace.core.models import AuditLog
from notifications.models import Notification
from postings import services
from postings.models import ModerationDecision, Posting
from tests.factories import EmployerUserFactory, PostingFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db

S = Posting.Status
ALL = [s.value for s in S]

# service -> (acting as, {from status: status afterwards}); every other status is forbidden.
# "Afterwards" equal to "from" means the move had already happened: a harmless no-op.
MOVES = {
    "submit": (
        "member",
        {
            S.DRAFT: S.PENDING_REVIEW,
            S.CHANGES_REQUESTED: S.PENDING_REVIEW,
            S.PENDING_REVIEW: S.PENDING_REVIEW,
            S.PUBLISHED: S.PUBLISHED,
        },
    ),
    "approve": (
        "staff",
        {
            S.PENDING_REVIEW: S.PUBLISHED,
            S.CHANGES_REQUESTED: S.PUBLISHED,
            S.PUBLISHED: S.PUBLISHED,
        },
    ),
    "request_changes": ("staff", {S.PENDING_REVIEW: S.CHANGES_REQUESTED}),
    "reject": ("staff", {S.PENDING_REVIEW: S.REJECTED, S.REJECTED: S.REJECTED}),
    "suspend": ("staff", {S.PUBLISHED: S.SUSPENDED, S.SUSPENDED: S.SUSPENDED}),
    "reinstate": ("staff", {S.SUSPENDED: S.PUBLISHED, S.PUBLISHED: S.PUBLISHED}),
    "remove": (
        "staff",
        {S.PUBLISHED: S.REMOVED, S.SUSPENDED: S.REMOVED, S.REMOVED: S.REMOVED},
    ),
    "withdraw": (
        "member",
        {
            S.DRAFT: S.CLOSED,
            S.PENDING_REVIEW: S.CLOSED,
            S.CHANGES_REQUESTED: S.CLOSED,
            S.PUBLISHED: S.CLOSED,
            S.SUSPENDED: S.CLOSED,
            S.CLOSED: S.CLOSED,
        },
    ),
}
AUDIT = {
    "submit": "posting.submitted",
    "approve": "posting.approved",
    "request_changes": "posting.changes_requested",
    "reject": "posting.rejected",
    "suspend": "posting.suspended",
    "reinstate": "posting.reinstated",
    "remove": "posting.removed",
    "withdraw": "posting.closed",
}
CASES = [(name, status) for name in MOVES for status in ALL]


def _call(name, posting, actor):
    fn = getattr(services, f"posting_{name}")
    kwargs = {"posting": posting, "actor": actor}
    if name in {"request_changes", "reject", "suspend", "remove"}:
        kwargs["reason"] = "The pay is not stated clearly."
    return fn(**kwargs)


@pytest.mark.parametrize("name,status", CASES)
def test_every_move_twice(name, status):
    member = EmployerUserFactory()
    posting = PostingFactory(employer=member.employers.get(), status=status)
    actor = member if MOVES[name][0] == "member" else StaffFactory()
    allowed = MOVES[name][1]

    if status in allowed:
        for _ in range(2):
            result = _call(name, posting, actor)
            posting.refresh_from_db()
            assert result.status == posting.status == allowed[status]
        changed = allowed[status] != status
        audits = AuditLog.objects.filter(action=AUDIT[name], target_id=str(posting.pk)).count()
        assert audits == (1 if changed else 0)
    else:
        for _ in range(2):
            with pytest.raises(InvalidTransition):
                _call(name, posting, actor)
            posting.refresh_from_db()
            assert posting.status == status
        assert not AuditLog.objects.filter(target_id=str(posting.pk)).exists()


def test_the_map_itself_has_no_unknown_states():
    for source, targets in Posting.TRANSITIONS.items():
        assert source in ALL
        assert targets <= set(ALL)
    assert set(Posting.TRANSITIONS) == set(ALL)


def test_verified_employer_publishes_without_review():
    member = EmployerUserFactory(employer__verified=True)
    posting = PostingFactory(employer=member.employers.get(), status=S.DRAFT, published_at=None)
    for _ in range(2):
        posting = services.posting_submit(posting=posting, actor=member)
    posting.refresh_from_db()
    assert posting.status == S.PUBLISHED
    assert posting.published_at is not None
    assert posting.decisions.get().action == ModerationDecision.Action.AUTO_PUBLISH
    assert AuditLog.objects.filter(action="posting.published").count() == 1


def test_verified_employer_with_a_flag_waits_for_review():
    member = EmployerUserFactory(employer__verified=True)
    posting = PostingFactory(
        employer=member.employers.get(),
        status=S.DRAFT,
        description="Send a registration fee of 20 USD before starting the analysis work.",
    )
    services.posting_submit(posting=posting, actor=member)
    posting.refresh_from_db()
    assert posting.status == S.PENDING_REVIEW
    assert [f["code"] for f in posting.flags] == ["money_or_off_platform"]


def test_moderation_decisions_notify_and_record_the_reason():
    member = EmployerUserFactory()
    staff = StaffFactory()
    posting = PostingFactory(employer=member.employers.get(), status=S.PENDING_REVIEW)
    services.posting_request_changes(posting=posting, actor=staff, reason="State the hours.")
    posting.refresh_from_db()
    assert posting.moderation_reason == "State the hours."
    decision = posting.decisions.get()
    assert (decision.action, decision.reason, decision.actor) == (
        "request_changes",
        "State the hours.",
        staff,
    )
    note = Notification.objects.get(recipient=member, kind="posting.changes_requested")
    assert note.body == "State the hours."

    services.posting_submit(posting=posting, actor=member)
    services.posting_approve(posting=posting, actor=staff)
    services.posting_approve(posting=posting, actor=staff)
    assert Notification.objects.filter(recipient=member, kind="posting.approved").count() == 1
    posting.refresh_from_db()
    assert posting.moderation_reason == ""


def test_reason_is_required_for_refusals():
    staff = StaffFactory()
    posting = PostingFactory(status=S.PENDING_REVIEW)
    for name in ("request_changes", "reject"):
        with pytest.raises(Exception) as exc:
            getattr(services, f"posting_{name}")(posting=posting, actor=staff, reason="  ")
        assert "reason" in exc.value.fields
    posting.refresh_from_db()
    assert posting.status == S.PENDING_REVIEW


@pytest.mark.parametrize("name", ["approve", "request_changes", "reject", "suspend", "remove"])
def test_only_staff_moderate(name):
    posting = PostingFactory(status=S.PENDING_REVIEW)
    for actor in (StudentFactory(), EmployerUserFactory(employer=posting.employer)):
        with pytest.raises(NotPermitted):
            _call(name, posting, actor)
    posting.refresh_from_db()
    assert posting.status == S.PENDING_REVIEW


@pytest.mark.parametrize("name", ["submit", "withdraw"])
def test_only_members_move_their_postings(name):
    posting = PostingFactory(status=S.DRAFT)
    for actor in (StudentFactory(), EmployerUserFactory()):
        with pytest.raises(NotPermitted):
            _call(name, posting, actor)
    posting.refresh_from_db()
    assert posting.status == S.DRAFT


def test_approve_refuses_a_posting_whose_deadline_passed():
    import datetime as dt

    import time_machine
    from django.utils import timezone

    posting = PostingFactory(status=S.PENDING_REVIEW)
    staff = StaffFactory()
    with (
        time_machine.travel(timezone.now() + dt.timedelta(days=8)),
        pytest.raises(Exception) as exc,
    ):
        services.posting_approve(posting=posting, actor=staff)
    assert exc.value.code == "deadline_passed"
