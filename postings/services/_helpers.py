"""What the posting services share: the row lock, the status move, the employer's team."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from accounts.selectors import is_member
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted, check_transition
from notifications.services import notify_many, reminder_cancel

from ..cache import postings_changed
from ..models import Posting

Status = Posting.Status


def _lock(posting: Posting) -> Posting:
    return Posting.objects.select_for_update().select_related("employer").get(pk=posting.pk)


def _move(posting: Posting, target: str) -> None:
    check_transition(
        transitions=Posting.TRANSITIONS, current=posting.status, target=target, what="posting"
    )
    posting.status = target


def _members(posting: Posting) -> list[User]:
    return list(User.objects.members_of(posting.employer_id))


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
    postings_changed()
    reminder_cancel(key_prefix=f"posting:{posting.pk}:")
    _notify_employer(
        posting,
        kind="posting.closed",
        title=f"Your posting “{posting.title}” closed",
        body=f"{posting.get_close_reason_display()}.",
        key=f"closed:{posting.closed_at.isoformat()}",
    )


def _check_member(posting_or_employer, actor: User) -> None:
    employer_id = getattr(posting_or_employer, "employer_id", None) or posting_or_employer.pk
    if not is_member(actor, employer_id):
        raise NotPermitted("Only members of the organisation that owns this posting can do this.")


def _check_staff(actor: User) -> None:
    if not (actor and actor.is_staff):
        raise NotPermitted("Only moderators can do this.")


def _require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            f"Give the employer a reason for {what}.", fields={"reason": ["A reason is required."]}
        )
    if len(reason) > 2000:
        raise DomainError(
            "The reason can have at most 2000 characters.",
            fields={"reason": ["At most 2000 characters."]},
        )
    return reason
