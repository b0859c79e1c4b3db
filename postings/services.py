"""Every write to postings goes through here.

Status changes follow ``Posting.TRANSITIONS``: each service locks the row, re-reads it, returns
early when the move already happened (so running it twice is harmless), checks the map, saves
with ``update_fields`` and writes the audit record (and the employer's notification) in the same
transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, check_transition
from notifications.services import notify_many, reminder_cancel

from .models import Posting

Status = Posting.Status


# --- Helpers ---------------------------------------------------------------------------------


def _lock(posting: Posting) -> Posting:
    return Posting.objects.select_for_update().select_related("employer").get(pk=posting.pk)


def _move(posting: Posting, target: str) -> None:
    check_transition(
        transitions=Posting.TRANSITIONS, current=posting.status, target=target, what="posting"
    )
    posting.status = target


def _members(posting: Posting) -> list[User]:
    return list(User.objects.filter(memberships__employer_id=posting.employer_id, is_active=True))


def _notify_employer(posting: Posting, *, kind: str, title: str, body: str, key: str) -> None:
    notify_many(
        recipients=_members(posting),
        kind=kind,
        title=title,
        body=body,
        link=f"/postings/{posting.pk}/",
        dedupe_key=f"posting:{posting.pk}:{key}",
    )


def _close(posting: Posting, *, reason: str, actor: User | None) -> None:
    """Close a locked posting (the caller has checked that it is not closed yet)."""
    _move(posting, Status.CLOSED)
    posting.close_reason = reason
    posting.closed_at = timezone.now()
    posting.save(update_fields=["status", "close_reason", "closed_at", "updated_at"])
    audit(action="posting.closed", target=posting, actor=actor, reason=reason)
    reminder_cancel(key_prefix=f"posting:{posting.pk}:")
    _notify_employer(
        posting,
        kind="posting.closed",
        title=f"Your posting “{posting.title}” closed",
        body=f"{posting.get_close_reason_display()}.",
        key=f"closed:{posting.closed_at.isoformat()}",
    )


# --- Seats (called by the applications side when an offer is accepted or falls through) ------


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
