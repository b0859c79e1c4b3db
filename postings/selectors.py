"""Reads about postings that carry logic: who may see what, the public list, recommendations."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from accounts.selectors import employer_for_user

from .models import Posting


def postings_public() -> QuerySet[Posting]:
    """Published postings, with what a list row shows (employer and skills) loaded."""
    return (
        Posting.objects.filter(status=Posting.Status.PUBLISHED)
        .select_related("employer")
        .prefetch_related("skills")
    )


def posting_is_member(*, posting: Posting, user: User | None) -> bool:
    """True when ``user`` acts for the employer that owns ``posting``."""
    employer = employer_for_user(user) if user is not None else None
    return employer is not None and employer.pk == posting.employer_id


def posting_can_view(*, posting: Posting, user: User | None) -> bool:
    if posting.status == Posting.Status.PUBLISHED:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff) or posting_is_member(posting=posting, user=user)


def posting_get_visible(*, pk: int, user: User | None) -> Posting:
    """The posting if ``user`` may see it, else Http404.

    Published postings are public. Drafts, postings in review, suspended, closed, rejected or
    removed ones are seen only by the owning employer's members and by staff: for anyone else
    they do not exist (404, not 403, so that their existence does not leak).
    """
    try:
        posting = Posting.objects.select_related("employer").get(pk=pk)
    except (Posting.DoesNotExist, ValueError, TypeError):
        raise Http404("No such posting.") from None
    if not posting_can_view(posting=posting, user=user):
        raise Http404("No such posting.")
    return posting


def posting_get_owned(*, pk: int, user: User) -> Posting:
    """A posting that ``user``'s organisation owns (for editing), else Http404."""
    employer = employer_for_user(user)
    if employer is None:
        raise Http404("No such posting.")
    try:
        return Posting.objects.select_related("employer").get(pk=pk, employer=employer)
    except (Posting.DoesNotExist, ValueError, TypeError):
        raise Http404("No such posting.") from None
