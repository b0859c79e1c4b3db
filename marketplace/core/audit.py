from django.db import models

from .models import AuditLog


def audit(*, action: str, target: models.Model, actor=None, **data) -> AuditLog:
    """Record ``action`` on ``target``. Call it inside the transaction that made the change."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditLog.objects.create(
        action=action,
        actor=actor,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        data=data,
    )
