"""The sweep that closes postings whose application deadline has passed."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import Posting
from ._helpers import (
    Status,
    _close,
)


def postings_close_due(*, now=None, batch_size: int | None = None) -> int:
    """Close postings whose application deadline passed or whose seats are all taken.

    Safe to run concurrently and again after a crash: each batch locks its rows with SKIP LOCKED
    and re-checks them, and a closed posting is no longer picked. The queries run over the
    (status, application_deadline) index and a partial index on full postings, so the cost
    follows what is due, not the number of postings.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.POSTING_SWEEP_BATCH_SIZE
    open_statuses = [Status.PUBLISHED, Status.PENDING_REVIEW, Status.CHANGES_REQUESTED]
    closed = 0
    for condition, reason in (
        (
            Q(status__in=open_statuses, application_deadline__lte=now),
            Posting.CloseReason.DEADLINE,
        ),
        (Q(status=Status.PUBLISHED, seats_filled__gte=F("openings")), Posting.CloseReason.FILLED),
    ):
        while True:
            with transaction.atomic():
                due = list(
                    Posting.objects.select_for_update(skip_locked=True)
                    .filter(condition)
                    .order_by("application_deadline", "pk")[:batch_size]
                )
                if not due:
                    break
                for posting in due:
                    _close(posting, reason=reason, actor=None)
                    closed += 1
    return closed
