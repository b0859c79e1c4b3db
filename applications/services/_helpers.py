"""What the application services share: locks, permission checks, links, input cleaning."""

from __future__ import annotations

import contextlib
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.selectors import is_member
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted, status_move
from notifications.services import notify_many, reminder_cancel

from ..models import (
    Application,
    Assignment,
    Milestone,
)
from ..uploads import CheckedFile

AppStatus = Application.Status
AsgStatus = Assignment.Status
MsStatus = Milestone.Status

MAX_LINKS = 10
MAX_ANSWER = 2000
MAX_NOTE = 5000


def _now() -> datetime:
    return timezone.now()


def _members(employer_id: int) -> list[User]:
    return list(User.objects.members_of(employer_id))


def _require_member(user, employer_id: int, what: str) -> None:
    if not is_member(user, employer_id):
        raise NotPermitted(f"Only the employer's team can {what}.")


def _require_student(user, student_id: int, what: str) -> None:
    if getattr(user, "pk", None) != student_id:
        raise NotPermitted(f"Only the student can {what}.")


def _close_application(
    application: Application,
    status: str,
    *,
    action: str,
    actor: User | None = None,
    now: datetime | None = None,
    fields: tuple[str, ...] | list[str] = (),
    **audit_data,
) -> None:
    """Close a locked application (rejected, withdrawn, declined, expired, closed with its
    posting): the status move, the closing time, the audit record and its reminders dropped.
    ``fields`` are the other columns the caller set on it; the caller tells whoever needs it."""
    status_move(application, status, "application")
    application.closed_at = now or _now()
    application.save(update_fields=["status", "closed_at", *fields, "updated_at"])
    audit(action=action, target=application, actor=actor, **audit_data)
    reminder_cancel(key_prefix=f"application:{application.pk}:")


def _tell_team(application: Application, *, event: str, kind: str, title: str, **kwargs) -> None:
    """Tell the posting's employer team about ``application`` (one notice per ``event``)."""
    notify_many(
        recipients=_members(application.posting.employer_id),
        kind=kind,
        title=title,
        link=application_link(application),
        dedupe_key=f"application:{application.pk}:{event}",
        **kwargs,
    )


def _lock_application(application: Application) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("posting", "student")
        .get(pk=application.pk)
    )


def _lock_assignment(assignment: Assignment) -> Assignment:
    return (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("posting", "student")
        .get(pk=assignment.pk)
    )


def _lock_milestone(milestone: Milestone) -> Milestone:
    return (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("assignment__posting", "assignment__student")
        .get(pk=milestone.pk)
    )


def application_link(application: Application) -> str:
    return reverse("applications:detail", args=[application.pk])


def assignment_link(assignment: Assignment) -> str:
    return reverse("applications:assignment", args=[assignment.pk])


def _clean_links(links, *, field: str = "links", limit: int = MAX_LINKS) -> list[str]:
    if isinstance(links, str):
        links = links.split()
    cleaned: list[str] = []
    validate = URLValidator(schemes=["http", "https"])
    for raw in links or []:
        link = str(raw).strip()
        if not link:
            continue
        if len(link) > 500:
            raise DomainError(
                "A link is longer than 500 characters.", fields={field: ["Too long."]}
            )
        try:
            validate(link)
        except ValidationError:
            message = f"“{link[:80]}” is not a web address (https://…)."
            raise DomainError(message, fields={field: [message]}) from None
        if link not in cleaned:
            cleaned.append(link)
    if len(cleaned) > limit:
        message = f"At most {limit} links."
        raise DomainError(message, fields={field: [message]})
    return cleaned


def _clean_text(value: str, *, field: str, label: str, max_length: int, min_length: int = 0) -> str:
    text = (value or "").strip()
    if len(text) < min_length:
        message = (
            f"{label} is required."
            if min_length <= 1
            else f"{label} needs at least {min_length} characters (it has {len(text)})."
        )
        raise DomainError(message, fields={field: [message]})
    if len(text) > max_length:
        message = f"{label} can have at most {max_length} characters (it has {len(text)})."
        raise DomainError(message, fields={field: [message]})
    return text


def _save_file(saved: list[str], field_file, checked: CheckedFile) -> None:
    """Save one checked upload through the storage, remembering the name for a clean-up."""
    field_file.save(checked.name, checked.upload, save=False)
    saved.append(field_file.name)


def _delete_stored(storage, names: list[str]) -> None:
    for name in names:
        # The clean-up of a failed upload must not hide the original error.
        with contextlib.suppress(OSError):
            storage.delete(name)
