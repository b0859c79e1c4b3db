"""Reports on a published posting, from signed-in users; enough of them suspend it."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import User
from accounts.selectors import is_member
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted

from ..models import (
    Posting,
    Report,
)
from ._helpers import (
    Status,
    _check_staff,
    _lock,
)
from .moderation import _resolve_reports, _suspend


@transaction.atomic
def posting_report(*, posting: Posting, reporter: User, reason: str) -> Report:
    """A signed-in user reports a published posting. Reporting again changes nothing; enough
    open reports (``REPORTS_TO_SUSPEND``) suspend the posting until a moderator looks."""
    if not getattr(reporter, "is_authenticated", False):
        raise NotPermitted("Log in to report a posting.")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            "Tell us what is wrong with this posting.", fields={"reason": ["A reason is required."]}
        )
    if len(reason) > 2000:
        raise DomainError(
            "The reason can have at most 2000 characters.",
            fields={"reason": ["At most 2000 characters."]},
        )
    posting = _lock(posting)
    existing = posting.reports.filter(reporter=reporter, resolved_at__isnull=True).first()
    if existing:
        return existing
    if posting.status != Status.PUBLISHED:
        raise DomainError("Only published postings can be reported.", code="not_published")
    if is_member(reporter, posting.employer_id):
        raise DomainError("You cannot report your own organisation's posting.")
    report = Report.objects.create(posting=posting, reporter=reporter, reason=reason)
    posting.open_reports = posting.reports.filter(resolved_at__isnull=True).count()
    posting.save(update_fields=["open_reports", "updated_at"])
    audit(action="posting.reported", target=posting, actor=reporter, report=report.pk)
    if posting.open_reports >= settings.REPORTS_TO_SUSPEND:
        _suspend(
            posting,
            actor=None,
            reason=f"Suspended automatically after {posting.open_reports} reports.",
        )
    return report


@transaction.atomic
def posting_reports_dismiss(*, posting: Posting, actor: User) -> Posting:
    """A moderator looked at the open reports of a published posting and found nothing wrong."""
    _check_staff(actor)
    posting = _lock(posting)
    if posting.open_reports == 0:
        return posting
    _resolve_reports(posting, actor)
    audit(action="posting.reports_dismissed", target=posting, actor=actor)
    return posting
