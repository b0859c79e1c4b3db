"""A digest to staff when postings wait for review: one notification per staff member for what
arrived since the last one, never one per posting.

The beat runs ``moderation_digest_send`` every ``MODERATION_DIGEST_MINUTES``. The dedupe key names
the newest waiting posting, so a run that finds nothing new since the last digest sends nothing,
and running it twice is harmless.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from accounts.selectors import staff_users
from notifications.services import notify_many

from ..models import Posting


def moderation_digest_send() -> int:
    """Tell every active staff member how many postings wait; returns the notifications sent."""
    waiting = Posting.objects.filter(status=Posting.Status.PENDING_REVIEW)
    count = waiting.count()
    if not count:
        return 0
    newest = waiting.order_by("-submitted_at", "-pk").values_list("pk", flat=True).first()
    oldest = waiting.order_by("submitted_at", "pk").values_list("title", flat=True).first()
    title = (
        "1 posting is waiting for review"
        if count == 1
        else f"{count} postings are waiting for review"
    )
    with transaction.atomic():
        return notify_many(
            recipients=staff_users(),
            kind="moderation.waiting",
            title=title,
            body=f"The one waiting longest: “{oldest}”.",
            link=reverse("postings:moderation"),
            dedupe_key=f"moderation.waiting:{newest}",
        )
