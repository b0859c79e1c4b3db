"""The open applications a closed or filled posting leaves behind are closed with a notice."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from notifications.services import notify
from postings.models import Posting

from ..models import Application
from ._helpers import (
    AppStatus,
    _close_application,
    application_link,
)
from .reputation import employer_stats_refresh


def applications_close_for_posting(*, posting_id: int) -> int:
    """Close, with a notice, the open applications a closed or filled posting leaves behind.

    Filled, withdrawn or removed: every open application closes. Closed at the deadline:
    only the unanswered ones (submitted); shortlisted and offered ones may still turn into an
    assignment. Each application is its own short transaction, locked with SKIP LOCKED, so a
    student accepting or withdrawing at the same moment is never blocked.
    """
    posting = Posting.objects.filter(pk=posting_id).first()
    if posting is None:
        return 0
    if posting.seats_left <= 0 or posting.status == Posting.Status.REMOVED:
        statuses = Application.OPEN
        reason = (
            Application.CloseReason.FILLED
            if posting.seats_left <= 0
            else Application.CloseReason.POSTING_CLOSED
        )
    elif posting.status == Posting.Status.CLOSED:
        reason = Application.CloseReason.POSTING_CLOSED
        statuses = (
            {AppStatus.SUBMITTED}
            if posting.close_reason == Posting.CloseReason.DEADLINE
            else Application.OPEN
        )
    else:
        return 0
    closed = 0
    for pk in list(
        Application.objects.filter(posting=posting, status__in=statuses).values_list(
            "pk", flat=True
        )
    ):
        with transaction.atomic():
            application = (
                Application.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("posting", "student")
                .filter(pk=pk, status__in=statuses)
                .first()
            )
            if application is None:
                continue
            application.closed_reason = reason
            _close_application(
                application,
                AppStatus.REJECTED,
                action="application.closed",
                fields=["closed_reason"],
                reason=reason,
            )
            _tell_closed(application, reason=reason)
            closed += 1
    employer_stats_refresh(employer=posting.employer_id)
    return closed


def _tell_closed(application: Application, *, reason: str) -> None:
    notify(
        recipient=application.student,
        kind="application.closed",
        title=f"“{application.posting.title}” is no longer open: your application was closed",
        body=(
            "Every seat of this posting was filled."
            if reason == Application.CloseReason.FILLED
            else "The posting closed before your application was answered."
        ),
        link=application_link(application),
        dedupe_key=f"application:{application.pk}:closed",
    )


def applications_close_for_closed_postings() -> int:
    """The beat sweep: find closed postings that still have applications to close."""
    open_ = list(Application.OPEN)
    posting_ids = (
        Application.objects.filter(
            Q(posting__status=Posting.Status.REMOVED, status__in=open_)
            | Q(
                posting__status=Posting.Status.CLOSED,
                posting__close_reason=Posting.CloseReason.DEADLINE,
                status=AppStatus.SUBMITTED,
            )
            | (
                Q(posting__status=Posting.Status.CLOSED, status__in=open_)
                & ~Q(posting__close_reason=Posting.CloseReason.DEADLINE)
            )
            | Q(posting__seats_filled__gte=F("posting__openings"), status__in=open_)
        )
        .values_list("posting_id", flat=True)
        .distinct()[: settings.APPLICATIONS_SWEEP_BATCH_SIZE]
    )
    return sum(applications_close_for_posting(posting_id=pk) for pk in posting_ids)
