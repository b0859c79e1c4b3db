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


# --- Closed postings stay readable; the detail page's Apply link ---------------------------------


def _closed_after_publishing(member):
    posting = PostingFactory(employer=member.employers.get(), title="Closed survey work")
    return services.posting_withdraw(posting=posting, actor=member)


def test_a_closed_posting_is_readable_but_listed_nowhere(client):
    member = EmployerUserFactory()
    closed = _closed_after_publishing(member)
    assert closed.status == Posting.Status.CLOSED
    for viewer in (None, StudentFactory(), EmployerUserFactory()):
        assert selectors.posting_get_visible(pk=closed.pk, user=viewer) == closed
        if viewer is None:
            client.logout()
        else:
            client.force_login(viewer)
        page = client.get(f"/postings/{closed.pk}/")
        html = page.content.decode()
        assert page.status_code == 200
        assert "This posting is closed." in html and "withdrawn by the employer" in html
        assert "/apply/" not in html and "Log in to apply" not in html
        assert "Report this posting" not in html
        assert client.get(f"/api/v1/postings/{closed.pk}/").json()["status"] == "closed"
        assert "Closed survey work" not in client.get("/postings/").content.decode()
        assert client.get("/api/v1/postings/").json()["results"] == []
    assert list(selectors.postings_public()) == []


def test_only_postings_closed_in_public_become_readable():
    member = EmployerUserFactory()
    employer = member.employers.get()
    staff = StaffFactory()
    # Withdrawn before it was ever published.
    draft = PostingFactory(employer=employer, status="draft", published_at=None)
    services.posting_withdraw(posting=draft, actor=member)
    # Closed while suspended: the suspension's reason is kept.
    suspended = PostingFactory(employer=employer)
    services.posting_suspend(posting=suspended, actor=staff, reason="Asks for a fee.")
    services.posting_withdraw(posting=suspended, actor=member)
    rejected = PostingFactory(status="rejected", moderation_reason="No.", published_at=None)
    removed = PostingFactory(status="removed", moderation_reason="Scam.")
    hidden = [draft, suspended, rejected, removed, PostingFactory(status="suspended")]
    for posting in hidden:
        posting.refresh_from_db()
        for stranger in (None, StudentFactory(), EmployerUserFactory()):
            with pytest.raises(Http404):
                selectors.posting_get_visible(pk=posting.pk, user=stranger)
    assert (draft.status, suspended.status) == ("closed", "closed")
    for posting in (draft, suspended):
        assert selectors.posting_get_visible(pk=posting.pk, user=member) == posting
        assert selectors.posting_get_visible(pk=posting.pk, user=staff) == posting


def test_a_closed_and_reopened_posting_is_public_again():
    member = EmployerUserFactory()
    posting = PostingFactory(employer=member.employers.get(), openings=1)
    services.posting_seat_taken(posting=posting)  # full: closed as filled
    posting.refresh_from_db()
    assert posting.status == "closed"
    assert selectors.posting_get_visible(pk=posting.pk, user=StudentFactory()) == posting
    services.posting_seat_released(posting=posting)
    assert list(selectors.postings_public()) == [posting]


def test_detail_shows_apply_to_students_and_log_in_to_visitors(client):
    member = EmployerUserFactory()
    posting = PostingFactory(employer=member.employers.get())
    apply_url = f"/apply/{posting.pk}/"

    html = client.get(f"/postings/{posting.pk}/").content.decode()
    assert f'href="/accounts/login/?next={apply_url}">Log in to apply</a>' in html

    client.force_login(StudentFactory())
    html = client.get(f"/postings/{posting.pk}/").content.decode()
    # Apply leads to the form on the page itself, which sends to the apply view.
    assert 'href="#apply">Apply</a>' in html and "Log in to apply" not in html
    assert f'<form method="post" action="{apply_url}"' in html and 'id="apply"' in html
    assert client.get(apply_url).status_code == 200  # the apply page itself still answers

    for other in (member, EmployerUserFactory(), StaffFactory(role="employer")):
        client.force_login(other)
        html = client.get(f"/postings/{posting.pk}/").content.decode()
        assert apply_url not in html and "Log in to apply" not in html


@pytest.mark.parametrize(
    "change",
    [
        {"application_deadline": dt.timedelta(hours=-1)},  # the sweep has not closed it yet
        {"seats_filled": 1},
    ],
)
def test_no_apply_link_when_the_posting_no_longer_accepts_applications(client, change):
    posting = PostingFactory(openings=1)
    if "application_deadline" in change:
        posting.application_deadline = timezone.now() + change["application_deadline"]
    else:
        posting.seats_filled = change["seats_filled"]
    posting.save()
    assert posting.accepts_applications is False
    client.force_login(StudentFactory())
    html = client.get(f"/postings/{posting.pk}/").content.decode()
    assert f"/apply/{posting.pk}/" not in html
