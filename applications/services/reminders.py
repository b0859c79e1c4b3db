"""The reminders of an assignment's work: milestone due and overdue, and their cancelling."""

from __future__ import annotations

from django.conf import settings

from accounts.models import User
from notifications.services import reminder_cancel, reminder_schedule

from ..models import Assignment
from ._helpers import (
    _members,
    assignment_link,
)


def _schedule_work_reminders(assignment: Assignment, members: list[User] | None = None) -> None:
    """Milestone due (student, before the due time) and overdue (both) reminders."""
    members = members if members is not None else _members(assignment.posting.employer_id)
    link = assignment_link(assignment)
    for milestone in assignment.milestones.all():
        for before in settings.REMINDER_MILESTONE_DUE_BEFORE:
            hours = int(before.total_seconds() // 3600)
            reminder_schedule(
                key=f"milestone:{milestone.pk}:due:{hours}h",
                recipient=assignment.student,
                kind="reminder.milestone_due",
                title=f"“{milestone.title}” is due in {hours} hours",
                send_at=milestone.due_at - before,
                expires_at=milestone.due_at,
                link=link,
            )
        for recipient in [assignment.student, *members]:
            reminder_schedule(
                key=f"milestone:{milestone.pk}:overdue:u{recipient.pk}",
                recipient=recipient,
                kind="reminder.milestone_overdue",
                title=f"“{milestone.title}” of “{assignment.posting.title}” is overdue",
                send_at=milestone.due_at,
                link=link,
            )


def _cancel_assignment_reminders(assignment: Assignment) -> None:
    reminder_cancel(key_prefix=f"assignment:{assignment.pk}:")
    for pk in assignment.milestones.values_list("pk", flat=True):
        reminder_cancel(key_prefix=f"milestone:{pk}:")
