"""Applying, selecting and offers through the services: the rules, offer expiry with frozen
time, the last seat closing the other applications, and the employer's response rate."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Employer
from applications import services
from applications.models import Application, Assignment
from marketplace.core.errors import DomainError, NotPermitted
from notifications.models import Notification
from postings.models import Posting
from tests.applications.factories import (
    COVER_NOTE,
    ApplicationFactory,
    employer_of,
    walk_to,
)
from tests.factories import (
    CreditPostingFactory,
    EmployerUserFactory,
    PostingFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db


def _apply(posting, student=None, **kwargs):
    kwargs.setdefault("cover_note", COVER_NOTE)
    return services.application_submit(
        posting=posting, student=student or StudentFactory(), **kwargs
    )


def test_required_answers_enforced_optional_ones_not():
    posting = PostingFactory(questions=["Tools?", "Anything else?"])
    posting.questions.filter(position=1).update(required=False)
    q1, q2 = posting.questions.order_by("position")
    with pytest.raises(DomainError) as exc:
        _apply(posting, answers={str(q2.pk): "no"})
    assert list(exc.value.fields) == [f"answer_{q1.pk}"]
    application = _apply(posting, answers={str(q1.pk): "  SQL  "})
    assert application.answers == {str(q1.pk): "SQL", str(q2.pk): ""}


@pytest.mark.parametrize("length, ok", [(49, False), (50, True), (3000, True), (3001, False)])
def test_cover_note_length_limits(length, ok):
    posting = PostingFactory()
    if ok:
        assert _apply(posting, cover_note="x" * length).pk
    else:
        with pytest.raises(DomainError) as exc:
            _apply(posting, cover_note="x" * length)
        assert "cover_note" in exc.value.fields
        assert not Application.objects.exists()


def test_links_checked():
    with pytest.raises(DomainError) as exc:
        _apply(PostingFactory(), portfolio_links=["javascript:alert(1)"])
    assert "portfolio_links" in exc.value.fields
    with pytest.raises(DomainError):
        _apply(PostingFactory(), portfolio_links=[f"https://x.io/{i}" for i in range(6)])


def test_one_open_application_per_posting_then_again_after_withdrawing():
    posting = PostingFactory()
    student = StudentFactory()
    first = _apply(posting, student)
    with pytest.raises(DomainError) as exc:
        _apply(posting, student)
    assert exc.value.code == "already_applied"
    services.application_withdraw(application=first, actor=student)
    second = _apply(posting, student)
    assert second.pk != first.pk
    assert Application.objects.filter(posting=posting, student=student).count() == 2


def test_refusals_deadline_full_not_published_and_non_students():
    student = StudentFactory()
    late = PostingFactory(application_deadline=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(DomainError, match="deadline") as exc:
        _apply(late, student)
    assert exc.value.code == "deadline_passed"
    full = PostingFactory(openings=1, seats_filled=1)
    with pytest.raises(DomainError) as exc:
        _apply(full, student)
    assert exc.value.code == "posting_full"
    draft = PostingFactory(status=Posting.Status.DRAFT)
    with pytest.raises(DomainError) as exc:
        _apply(draft, student)
    assert exc.value.code == "posting_not_open"
    with pytest.raises(NotPermitted):
        _apply(PostingFactory(), EmployerUserFactory())
    assert not Application.objects.exists()


def test_every_member_of_the_employer_is_notified_once():
    posting = PostingFactory()
    owner = employer_of(posting)
    colleague = EmployerUserFactory(employer=posting.employer)
    application = _apply(posting)
    for user in (owner, colleague):
        notes = user.notifications.filter(kind="application.received")
        assert notes.count() == 1
        assert notes.get().link == f"/applications/{application.pk}/"


# --- Offers -----------------------------------------------------------------------------------


def test_offer_deadline_default_and_capped_before_the_start():
    posting = PostingFactory(starts_at=timezone.now() + dt.timedelta(days=30))
    application = ApplicationFactory(posting=posting)
    with time_machine.travel(timezone.now(), tick=False):
        services.application_offer(application=application, actor=employer_of(posting))
        application.refresh_from_db()
        assert application.offer_expires_at == timezone.now() + dt.timedelta(hours=72)
    soon = PostingFactory(starts_at=timezone.now() + dt.timedelta(hours=20))
    application = ApplicationFactory(posting=soon)
    services.application_offer(application=application, actor=employer_of(soon))
    application.refresh_from_db()
    assert application.offer_expires_at == soon.starts_at
    started = PostingFactory(starts_at=timezone.now() + dt.timedelta(minutes=30))
    with pytest.raises(DomainError) as exc:
        services.application_offer(
            application=ApplicationFactory(posting=started), actor=employer_of(started)
        )
    assert exc.value.code == "posting_started"


def test_custom_offer_deadline_must_be_before_the_start():
    posting = PostingFactory()
    application = ApplicationFactory(posting=posting)
    with pytest.raises(DomainError) as exc:
        services.application_offer(
            application=application,
            actor=employer_of(posting),
            expires_at=posting.starts_at + dt.timedelta(hours=1),
        )
    assert "expires_at" in exc.value.fields
    application.refresh_from_db()
    assert application.status == "submitted"


def test_offer_expiry_sweep_with_frozen_time():
    posting = PostingFactory()
    employer = employer_of(posting)
    application = ApplicationFactory(posting=posting)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.application_offer(application=application, actor=employer)
    deadline = start + dt.timedelta(hours=72)
    with time_machine.travel(deadline - dt.timedelta(seconds=1), tick=False):
        assert services.applications_expire_offers_due() == 0
    with time_machine.travel(deadline, tick=False):
        assert services.applications_expire_offers_due() == 1
        assert services.applications_expire_offers_due() == 0
    application.refresh_from_db()
    assert application.status == Application.Status.EXPIRED
    assert Notification.objects.filter(kind="offer.expired", recipient=employer).count() == 1
    assert application.student.notifications.filter(kind="offer.expired").count() == 1
    # Accepting after the deadline is refused even before the sweep runs.
    other = ApplicationFactory(posting=posting)
    with time_machine.travel(start, tick=False):
        services.application_offer(application=other, actor=employer)
    with (
        time_machine.travel(deadline + dt.timedelta(minutes=1), tick=False),
        pytest.raises(DomainError) as exc,
    ):
        services.application_accept(application=other, actor=other.student)
    assert exc.value.code == "offer_expired"
    other.refresh_from_db()
    assert other.status == Application.Status.OFFERED
    assert not Assignment.objects.exists()


def test_beat_task_expires_offers(celery_eager):
    from applications.tasks import expire_offers

    application = walk_to(ApplicationFactory(), Application.Status.OFFERED)
    with time_machine.travel(application.offer_expires_at + dt.timedelta(seconds=1)):
        assert expire_offers.delay().get() == 1


# --- Accepting and the last seat ---------------------------------------------------------------


def test_accept_paid_copies_the_deal_and_waits_for_funding():
    posting = PostingFactory(
        amount=50000,
        milestones=[("Clean data", 48, 20000), ("Report", 300, 30000)],
        allowed_revisions=3,
    )
    application = ApplicationFactory(posting=posting)
    with time_machine.travel(timezone.now(), tick=False):
        assignment = walk_to(application, Application.Status.ACCEPTED)
        assert assignment.status == Assignment.Status.AWAITING_FUNDING
        assert assignment.funding_due_at == timezone.now() + dt.timedelta(hours=72)
    assert (assignment.amount, assignment.currency, assignment.allowed_revisions) == (
        50000,
        "USD",
        3,
    )
    milestones = list(assignment.milestones.order_by("position"))
    assert [(m.title, m.amount) for m in milestones] == [("Clean data", 20000), ("Report", 30000)]
    assert milestones[0].due_at == posting.starts_at + dt.timedelta(hours=48)
    assert milestones[1].due_at == posting.starts_at + dt.timedelta(hours=300)
    posting.refresh_from_db()
    assert posting.seats_filled == 1
    employer = employer_of(posting)
    assert employer.notifications.filter(kind="offer.accepted").count() == 1


def test_accept_credit_starts_at_once():
    assignment = walk_to(ApplicationFactory(posting=CreditPostingFactory()), "accepted")
    assert assignment.status == Assignment.Status.ACTIVE
    assert assignment.amount == 0 and assignment.funding_due_at is None


def test_last_seat_closes_the_other_open_applications_with_a_notice(
    django_capture_on_commit_callbacks,
):
    posting = CreditPostingFactory(openings=1)
    winner, *others = [ApplicationFactory(posting=posting) for _ in range(4)]
    walk_to(others[0], "shortlisted")
    walk_to(others[1], "offered")
    walk_to(others[2], "withdrawn")
    walk_to(winner, "offered")
    with django_capture_on_commit_callbacks(execute=True):
        walk_to(winner, "accepted")
    posting.refresh_from_db()
    assert (posting.status, posting.close_reason) == ("closed", "filled")
    statuses = {a.pk: a.status for a in Application.objects.filter(posting=posting)}
    assert statuses[others[0].pk] == statuses[others[1].pk] == "rejected"
    assert statuses[others[2].pk] == "withdrawn"
    closed = Application.objects.filter(closed_reason="filled")
    assert set(closed.values_list("pk", flat=True)) == {others[0].pk, others[1].pk}
    notices = Notification.objects.filter(kind="application.closed")
    assert {n.recipient_id for n in notices} == {others[0].student_id, others[1].student_id}
    # The offer to the second student cannot be accepted now.
    with pytest.raises(DomainError):
        services.application_accept(application=others[1], actor=others[1].student)


def test_sweep_closes_unanswered_applications_of_a_posting_closed_at_the_deadline():
    posting = PostingFactory(openings=2)
    unanswered = ApplicationFactory(posting=posting)
    shortlisted = walk_to(ApplicationFactory(posting=posting), "shortlisted")
    Posting.objects.filter(pk=posting.pk).update(
        status="closed", close_reason="deadline", closed_at=timezone.now()
    )
    assert services.applications_close_for_closed_postings() == 1
    assert services.applications_close_for_closed_postings() == 0
    unanswered.refresh_from_db()
    shortlisted.refresh_from_db()
    assert (unanswered.status, unanswered.closed_reason) == ("rejected", "posting_closed")
    assert shortlisted.status == "shortlisted"  # still a candidate after the deadline


def test_response_rate_counts_answers_before_the_posting_closed():
    posting = PostingFactory(openings=5)
    employer = employer_of(posting)
    answered = [ApplicationFactory(posting=posting) for _ in range(3)]
    ApplicationFactory(posting=posting)  # never answered
    withdrawn = ApplicationFactory(posting=posting)
    services.application_withdraw(application=withdrawn, actor=withdrawn.student)
    services.application_shortlist(application=answered[0], actor=employer)
    services.application_reject(application=answered[1], actor=employer)
    employer_row = Employer.objects.get(pk=posting.employer_id)
    # Only answered ones are due while the posting is open: 2 of 2.
    assert employer_row.response_rate == 100
    closed_at = timezone.now()
    Posting.objects.filter(pk=posting.pk).update(
        status="closed", close_reason="withdrawn", closed_at=closed_at
    )
    with time_machine.travel(closed_at + dt.timedelta(hours=1)):
        # Answered after the close: does not count as answered in time.
        services.application_reject(application=answered[2], actor=employer)
    services.employer_stats_refresh(employer=posting.employer)
    employer_row.refresh_from_db()
    # Due: 2 answered in time + 1 late + 1 unanswered (the withdrawn one is not counted).
    assert employer_row.response_rate == 50


def test_no_offer_on_a_withdrawn_posting_but_after_the_deadline_yes():
    withdrawn = PostingFactory()
    application = ApplicationFactory(posting=withdrawn)
    Posting.objects.filter(pk=withdrawn.pk).update(status="closed", close_reason="withdrawn")
    with pytest.raises(DomainError) as exc:
        services.application_offer(application=application, actor=employer_of(withdrawn))
    assert exc.value.code == "posting_not_open"
    late = PostingFactory()
    shortlisted = walk_to(ApplicationFactory(posting=late), "shortlisted")
    Posting.objects.filter(pk=late.pk).update(status="closed", close_reason="deadline")
    services.application_offer(application=shortlisted, actor=employer_of(late))
    shortlisted.refresh_from_db()
    assert shortlisted.status == "offered"
