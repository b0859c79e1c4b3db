import datetime as dt

import pytest
import time_machine
from django.http import Http404
from django.utils import timezone

from marketplace.core.errors import DomainError
from marketplace.core.models import AuditLog
from notifications.models import Notification
from postings import selectors, services
from postings.models import Posting
from tests.factories import EmployerUserFactory, PostingFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_seat_taken_counts_and_last_seat_closes_as_filled():
    member = EmployerUserFactory()
    posting = PostingFactory(employer=member.employers.get(), openings=2)

    posting = services.posting_seat_taken(posting=posting)
    assert (posting.seats_filled, posting.status) == (1, Posting.Status.PUBLISHED)

    posting = services.posting_seat_taken(posting=posting)
    posting.refresh_from_db()
    assert posting.seats_filled == 2
    assert posting.status == Posting.Status.CLOSED
    assert posting.close_reason == Posting.CloseReason.FILLED
    assert posting.closed_at is not None
    assert AuditLog.objects.filter(action="posting.closed", target_id=str(posting.pk)).count() == 1
    assert Notification.objects.filter(recipient=member, kind="posting.closed").count() == 1


def test_seat_taken_refuses_when_no_seat_is_left():
    posting = PostingFactory(openings=1)
    services.posting_seat_taken(posting=posting)
    with pytest.raises(DomainError) as exc:
        services.posting_seat_taken(posting=posting)
    assert exc.value.code == "no_seat_left"
    posting.refresh_from_db()
    assert posting.seats_filled == 1


@pytest.mark.parametrize("status", ["draft", "pending_review", "rejected", "removed"])
def test_seat_taken_refuses_postings_that_never_opened(status):
    posting = PostingFactory(status=status)
    with pytest.raises(DomainError):
        services.posting_seat_taken(posting=posting)
    posting.refresh_from_db()
    assert posting.seats_filled == 0


def test_seat_taken_after_deadline_close_keeps_the_deadline_reason():
    posting = PostingFactory(openings=1, status=Posting.Status.CLOSED, close_reason="deadline")
    posting = services.posting_seat_taken(posting=posting)
    posting.refresh_from_db()
    assert posting.seats_filled == 1
    assert posting.close_reason == Posting.CloseReason.DEADLINE


def test_seat_released_reopens_a_filled_posting_while_the_deadline_is_ahead():
    posting = PostingFactory(openings=1)
    services.posting_seat_taken(posting=posting)
    posting = services.posting_seat_released(posting=posting)
    posting.refresh_from_db()
    assert posting.seats_filled == 0
    assert posting.status == Posting.Status.PUBLISHED
    assert posting.close_reason == ""
    assert AuditLog.objects.filter(action="posting.reopened", target_id=str(posting.pk)).exists()


def test_seat_released_after_the_deadline_keeps_it_closed():
    posting = PostingFactory(openings=1)
    services.posting_seat_taken(posting=posting)
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        services.posting_seat_released(posting=posting)
    posting.refresh_from_db()
    assert posting.seats_filled == 0
    assert posting.status == Posting.Status.CLOSED


@pytest.mark.parametrize("reason", ["withdrawn", "deadline"])
def test_seat_released_does_not_reopen_other_closes(reason):
    posting = PostingFactory(openings=2, seats_filled=1, status="closed", close_reason=reason)
    services.posting_seat_released(posting=posting)
    posting.refresh_from_db()
    assert (posting.seats_filled, posting.status) == (0, Posting.Status.CLOSED)


def test_seat_released_never_goes_below_zero():
    posting = PostingFactory()
    services.posting_seat_released(posting=posting)
    services.posting_seat_released(posting=posting)
    posting.refresh_from_db()
    assert posting.seats_filled == 0


def test_visibility_of_published_and_draft_postings():
    owner = EmployerUserFactory()
    colleague = EmployerUserFactory(employer=owner.employers.get())
    published = PostingFactory(employer=owner.employers.get())
    draft = PostingFactory(employer=owner.employers.get(), status=Posting.Status.DRAFT)

    assert selectors.posting_get_visible(pk=published.pk, user=None) == published
    assert selectors.posting_get_visible(pk=published.pk, user=StudentFactory()) == published
    for allowed in (owner, colleague, StaffFactory()):
        assert selectors.posting_get_visible(pk=draft.pk, user=allowed) == draft
    from django.contrib.auth.models import AnonymousUser

    for stranger in (None, AnonymousUser(), StudentFactory(), EmployerUserFactory()):
        with pytest.raises(Http404):
            selectors.posting_get_visible(pk=draft.pk, user=stranger)
    with pytest.raises(Http404):
        selectors.posting_get_visible(pk=999999, user=owner)


def test_postings_public_holds_only_published():
    published = PostingFactory()
    for status in ("draft", "pending_review", "suspended", "closed", "removed"):
        PostingFactory(status=status)
    assert list(selectors.postings_public()) == [published]
