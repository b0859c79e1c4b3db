import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from marketplace.core.models import AuditLog
from notifications.models import Notification, Reminder
from postings import services, tasks
from postings.models import Posting
from tests.factories import EmployerUserFactory, PostingFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_sweep_closes_what_is_due_and_only_that():
    member = EmployerUserFactory()
    employer = member.employers.get()
    now = timezone.now()
    past_deadline = PostingFactory(
        employer=employer, application_deadline=now - dt.timedelta(minutes=1)
    )
    pending_past = PostingFactory(
        status="pending_review", application_deadline=now - dt.timedelta(minutes=1)
    )
    full = PostingFactory(employer=employer, openings=2, seats_filled=2)
    open_one = PostingFactory(employer=employer)
    draft_past = PostingFactory(status="draft", application_deadline=now - dt.timedelta(days=1))
    suspended_past = PostingFactory(
        status="suspended", application_deadline=now - dt.timedelta(days=1)
    )

    assert tasks.close_due.delay().get() == 3
    assert services.postings_close_due() == 0  # run again: nothing left

    for posting, status, reason in [
        (past_deadline, "closed", "deadline"),
        (pending_past, "closed", "deadline"),
        (full, "closed", "filled"),
        (open_one, "published", ""),
        (draft_past, "draft", ""),
        (suspended_past, "suspended", ""),
    ]:
        posting.refresh_from_db()
        assert (posting.status, posting.close_reason) == (status, reason), posting
    assert AuditLog.objects.filter(action="posting.closed").count() == 3
    assert Notification.objects.filter(recipient=member, kind="posting.closed").count() == 2


def test_sweep_is_registered_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["postings-close-due"]
    assert entry == {"task": "postings.close_due", "schedule": 60.0}
    from marketplace.celery import app

    assert "postings.close_due" in app.tasks


def test_sweep_works_in_batches():
    now = timezone.now()
    for _ in range(5):
        PostingFactory(application_deadline=now - dt.timedelta(minutes=5))
    assert services.postings_close_due(batch_size=2) == 5
    assert not Posting.objects.filter(status="published").exists()


def test_publishing_schedules_the_deadline_reminder_and_closing_cancels_it():
    member = EmployerUserFactory()
    posting = PostingFactory(
        employer=member.employers.get(), status="pending_review", created_by=member
    )
    services.posting_approve(posting=posting, actor=StaffFactory())
    reminder = Reminder.objects.get(key=f"posting:{posting.pk}:deadline48")
    assert reminder.kind == "reminder.application_deadline"
    assert reminder.recipient == member
    assert reminder.send_at == posting.application_deadline - dt.timedelta(hours=48)
    assert reminder.expires_at == posting.application_deadline

    services.posting_withdraw(posting=posting, actor=member)
    reminder.refresh_from_db()
    assert reminder.cancelled_at is not None


def test_deadline_reminder_is_sent_48_hours_before():
    from notifications.services import reminders_send_due

    member = EmployerUserFactory()
    posting = PostingFactory(
        employer=member.employers.get(), status="pending_review", created_by=member
    )
    services.posting_approve(posting=posting, actor=StaffFactory())
    with time_machine.travel(posting.application_deadline - dt.timedelta(hours=47)):
        reminders_send_due()
    note = Notification.objects.get(kind="reminder.application_deadline")
    assert note.recipient == member
    assert "48 hours" in note.title


def test_reports_suspend_at_the_threshold_and_reinstate_resolves_them(settings):
    settings.REPORTS_TO_SUSPEND = 3
    member = EmployerUserFactory()
    posting = PostingFactory(employer=member.employers.get())
    reporters = [UserFactory() for _ in range(3)]
    for reporter in reporters[:2]:
        services.posting_report(posting=posting, reporter=reporter, reason="Asks for a fee.")
        services.posting_report(posting=posting, reporter=reporter, reason="Again.")  # twice
    posting.refresh_from_db()
    assert (posting.status, posting.open_reports) == ("published", 2)

    services.posting_report(posting=posting, reporter=reporters[2], reason="Fee!")
    posting.refresh_from_db()
    assert posting.status == "suspended"
    assert posting.moderation_reason == "Suspended automatically after 3 reports."
    assert posting.decisions.get().actor is None
    assert Notification.objects.filter(recipient=member, kind="posting.suspended").exists()

    staff = StaffFactory()
    services.posting_reinstate(posting=posting, actor=staff)
    posting.refresh_from_db()
    assert (posting.status, posting.open_reports) == ("published", 0)
    assert not posting.reports.filter(resolved_at__isnull=True).exists()
    # A new report after the review counts from zero.
    services.posting_report(posting=posting, reporter=reporters[0], reason="Still a fee.")
    posting.refresh_from_db()
    assert (posting.status, posting.open_reports) == ("published", 1)


def test_reports_refused_for_own_posting_and_unpublished_ones():
    from marketplace.core.errors import DomainError

    member = EmployerUserFactory()
    posting = PostingFactory(employer=member.employers.get())
    with pytest.raises(DomainError):
        services.posting_report(posting=posting, reporter=member, reason="Mine")
    draft = PostingFactory(status="draft")
    with pytest.raises(DomainError):
        services.posting_report(posting=draft, reporter=UserFactory(), reason="x")


def test_dismissing_reports_keeps_the_posting_published():
    posting = PostingFactory()
    services.posting_report(posting=posting, reporter=UserFactory(), reason="Looks odd.")
    staff = StaffFactory()
    for _ in range(2):
        services.posting_reports_dismiss(posting=posting, actor=staff)
    posting.refresh_from_db()
    assert (posting.status, posting.open_reports) == ("published", 0)
    assert AuditLog.objects.filter(action="posting.reports_dismissed").count() == 1
