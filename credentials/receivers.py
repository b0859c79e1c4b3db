"""Issue the credential when an assignment completes, without the applications app knowing.

The completion writes the audit record ``assignment.completed`` in its own transaction; this
receiver enqueues the issuing task for when that transaction commits (a rolled-back completion
issues nothing). ``manage.py credentials_issue_missing`` catches up on any task that was lost.
"""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from marketplace.core.models import AuditLog


@receiver(post_save, sender=AuditLog, dispatch_uid="credentials.assignment_completed")
def _assignment_completed(sender, instance: AuditLog, created: bool, **kwargs) -> None:
    if not created or kwargs.get("raw") or instance.action != "assignment.completed":
        return  # raw: rows loaded from a fixture are history, not a completion happening now
    from .tasks import assignment_completed

    assignment_id = int(instance.target_id)
    transaction.on_commit(lambda: assignment_completed.delay(assignment_id))
