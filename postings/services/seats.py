"""Seats, taken and released by the applications side when an offer is accepted or falls
through."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from marketplace.core.audit import audit
from marketplace.core.errors import DomainError

from ..cache import postings_changed
from ..models import Posting
from ._helpers import (
    Status,
    _close,
    _lock,
    _move,
)


@transaction.atomic
def posting_seat_taken(*, posting: Posting) -> Posting:
    """Take one seat; the last seat closes the posting as filled.

    Not idempotent by itself (it counts): the caller calls it once per accepted offer, inside the
    transaction that accepts it, so that an offer accepted twice is refused before it gets here.
    Seats can be taken on a published posting and on one that is closed or suspended after the
    offer was made (an offer may be accepted after the application deadline).
    """
    posting = _lock(posting)
    if posting.status not in {Status.PUBLISHED, Status.CLOSED, Status.SUSPENDED}:
        raise DomainError(
            f"This posting is {posting.get_status_display().lower()}: no seat can be taken.",
            code="posting_not_open",
        )
    if posting.seats_filled >= posting.openings:
        raise DomainError("Every seat of this posting is already taken.", code="no_seat_left")
    posting.seats_filled += 1
    posting.save(update_fields=["seats_filled", "updated_at"])
    audit(action="posting.seat_taken", target=posting, seats_filled=posting.seats_filled)
    postings_changed()
    if posting.seats_filled >= posting.openings and posting.status == Status.PUBLISHED:
        _close(posting, reason=Posting.CloseReason.FILLED, actor=None)
    return posting


@transaction.atomic
def posting_seat_released(*, posting: Posting) -> Posting:
    """Give a seat back (an accepted assignment was cancelled before work started).

    A posting closed because it was filled is published again when its application deadline
    is still ahead; a posting closed for any other reason stays closed.
    """
    posting = _lock(posting)
    if posting.seats_filled == 0:
        return posting
    posting.seats_filled -= 1
    posting.save(update_fields=["seats_filled", "updated_at"])
    audit(action="posting.seat_released", target=posting, seats_filled=posting.seats_filled)
    postings_changed()
    if (
        posting.status == Status.CLOSED
        and posting.close_reason == Posting.CloseReason.FILLED
        and posting.application_deadline > timezone.now()
    ):
        _move(posting, Status.PUBLISHED)
        posting.close_reason = ""
        posting.closed_at = None
        posting.save(update_fields=["status", "close_reason", "closed_at", "updated_at"])
        audit(action="posting.reopened", target=posting, reason="seat_released")
    return posting
