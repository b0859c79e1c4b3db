"""The message thread of an application."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from marketplace.core.errors import DomainError
from notifications.services import notify

from ..models import (
    Application,
    Message,
)
from ._helpers import (
    MAX_NOTE,
    _clean_text,
    _members,
    _require_member,
    application_link,
)


@transaction.atomic
def message_send(*, application: Application, actor: User, body: str) -> Message:
    application = Application.objects.select_related("posting", "student").get(pk=application.pk)
    student_side = actor.pk == application.student_id
    if not student_side:
        _require_member(actor, application.posting.employer_id, "write in this thread")
    if application.status not in Application.THREAD_OPEN:
        raise DomainError(
            "This conversation is closed: the application is no longer open.",
            code="thread_closed",
        )
    body = _clean_text(body, field="body", label="The message", min_length=1, max_length=MAX_NOTE)
    message = Message.objects.create(application=application, sender=actor, body=body)
    recipients = (
        _members(application.posting.employer_id) if student_side else [application.student]
    )
    for recipient in recipients:
        notify(
            recipient=recipient,
            kind="message.received",
            title=f"New message from {actor.display_name} about “{application.posting.title}”",
            body=body[:300],
            link=application_link(application) + "#thread",
            dedupe_key=f"message:{message.pk}:u{recipient.pk}",
        )
    return message
