"""Saved searches and their daily digest of new postings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from marketplace.core.errors import DomainError, NotPermitted
from notifications.services import notify

from ..filters import InvalidFilters, canonical_query, postings_matching
from ..models import (
    SavedSearch,
    SavedSearchHit,
)
from ..selectors import postings_public

logger = logging.getLogger(__name__)

# The digest looks back this far before its previous run for postings it has not sent yet: one
# whose publishing transaction committed just after that run (``published_at`` is set before the
# commit), or one reinstated after a short suspension. ``SavedSearchHit`` keeps each posting to
# one digest per saved search, so looking back never repeats one.
DIGEST_LOOKBACK = timedelta(days=2)
# A digest lists this many postings by name; the rest are counted, and the link shows them all.
DIGEST_LISTED = 20
# At most this many postings are taken (and recorded) per digest; any more wait for the next.
DIGEST_MAX_POSTINGS = 1000


def _next_digest_at(user: User, *, after) -> datetime:
    """The next ``SAVED_SEARCH_DIGEST_HOUR`` o'clock in the user's time zone, after ``after``."""
    try:
        zone = ZoneInfo(user.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = after.astimezone(zone)
    hour = dt_time(settings.SAVED_SEARCH_DIGEST_HOUR)
    at = datetime.combine(local.date(), hour, tzinfo=zone)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), hour, tzinfo=zone)
    return at.astimezone(UTC)


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(
            "Give the search a name.", code="invalid", fields={"name": ["A name is required."]}
        )
    if len(name) > 80:
        raise DomainError(
            "The name can have at most 80 characters.",
            code="invalid",
            fields={"name": ["At most 80 characters."]},
        )
    return name


def saved_search_create(*, actor: User, name: str, filters: Mapping[str, object]) -> SavedSearch:
    """A student saves a search of the public list: ``filters`` as the list takes them (name ->
    value or list of values; the page parameters ``cursor`` and ``page_size`` are ignored),
    checked by the list's own ``PostingFilter``. At most ``SAVED_SEARCHES_MAX`` per student, each
    search once. The first digest goes out at the next digest hour."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_student:
        raise NotPermitted("Only students can save searches.")
    name = _clean_name(name)
    try:
        query = canonical_query(filters)
    except InvalidFilters as exc:
        raise DomainError(
            f"This search cannot be saved: {'; '.join(exc.messages)}",
            code="invalid_filters",
            fields={"filters": exc.messages},
        ) from None
    with transaction.atomic():
        # The student's row is the lock that keeps two saves at once under the limit.
        User.objects.select_for_update().filter(pk=actor.pk).first()
        mine = SavedSearch.objects.filter(user=actor)
        same = mine.filter(query=query).first()
        if same is not None:
            raise DomainError(
                f"You saved this search already, as “{same.name}”.",
                code="duplicate",
                fields={"filters": ["This search is saved already."]},
            )
        if mine.count() >= settings.SAVED_SEARCHES_MAX:
            raise DomainError(
                f"You can keep at most {settings.SAVED_SEARCHES_MAX} saved searches; "
                "delete one you no longer need first.",
                code="limit_reached",
            )
        now = timezone.now()
        return SavedSearch.objects.create(
            user=actor,
            name=name,
            query=query,
            next_digest_at=_next_digest_at(actor, after=now),
        )


@transaction.atomic
def saved_search_delete(*, saved_search: SavedSearch, actor: User) -> None:
    """Delete a saved search (its digests stop; the notifications already sent stay)."""
    if saved_search.user_id != actor.pk:
        raise NotPermitted("This is not your saved search.")
    SavedSearch.objects.filter(pk=saved_search.pk).delete()


def _digest_body(postings: list[tuple[int, str]], *, more: int) -> str:
    lines = [
        f"- {title}\n  {settings.SITE_URL}{reverse('postings:detail', args=[pk])}"
        for pk, title in postings
    ]
    if more:
        lines.append(f"…and {more} more: open the list to see them all.")
    return "\n".join(lines)


def _saved_search_digest(saved_search: SavedSearch, *, now) -> bool:
    """Send one saved search's digest, due at ``saved_search.next_digest_at`` (the row is
    locked); True if a notification went out. Nothing is sent when nothing new matches."""
    due = saved_search.next_digest_at
    since = saved_search.created_at
    if saved_search.last_digest_at is not None:
        since = max(since, saved_search.last_digest_at - DIGEST_LOOKBACK)
    user = saved_search.user
    found: list[tuple[int, str]] = []
    if user.is_active:
        try:
            matching = postings_matching(saved_search.query, postings_public())
        except InvalidFilters as exc:
            logger.warning("Saved search %s no longer valid: %s", saved_search.pk, exc)
        else:
            sent_before = SavedSearchHit.objects.filter(
                saved_search=saved_search, posting=OuterRef("pk")
            )
            found = list(
                matching.filter(published_at__gte=since, application_deadline__gt=now)
                .exclude(Exists(sent_before))
                .order_by("-published_at", "-pk")
                .values_list("pk", "title")[:DIGEST_MAX_POSTINGS]
            )
    if found:
        SavedSearchHit.objects.bulk_create(
            SavedSearchHit(saved_search=saved_search, posting_id=pk, sent_at=now) for pk, _ in found
        )
        count = len(found)
        notify(
            recipient=user,
            kind="digest.saved_search",
            title=(
                f"{count} new posting{'' if count == 1 else 's'} for your search "
                f"“{saved_search.name}”"
            )[:200],
            body=_digest_body(found[:DIGEST_LISTED], more=max(count - DIGEST_LISTED, 0)),
            link=saved_search.list_link,
            # One digest per saved search per due time, whatever runs it.
            dedupe_key=f"saved-search:{saved_search.pk}:digest:{due.astimezone(UTC):%Y%m%dT%H%M}",
        )
    saved_search.last_digest_at = now
    saved_search.next_digest_at = _next_digest_at(user, after=now)
    saved_search.save(update_fields=["last_digest_at", "next_digest_at"])
    return bool(found)


def saved_searches_send_digests(*, now=None, batch_size: int | None = None) -> int:
    """The beat sweep: send the digest of every saved search whose ``next_digest_at`` is due;
    returns how many digests went out.

    Safe to run concurrently and again after a crash: each batch locks its rows with SKIP
    LOCKED, and a digest moves ``next_digest_at`` on in the same transaction as its notification
    and its ``SavedSearchHit`` rows, so a row is never picked twice for the same due time. The
    query runs over the ``next_digest_at`` index: its cost follows what is due.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.POSTING_SWEEP_BATCH_SIZE
    sent = 0
    while True:
        with transaction.atomic():
            due = list(
                SavedSearch.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user")
                .filter(next_digest_at__lte=now)
                .order_by("next_digest_at", "pk")[:batch_size]
            )
            if not due:
                break
            for saved_search in due:
                try:
                    with transaction.atomic():
                        sent += _saved_search_digest(saved_search, now=now)
                except Exception:
                    # One broken search must not hold up the others' digests, nor be picked
                    # again at once: it waits for its next digest time.
                    logger.exception("Digest of saved search %s failed", saved_search.pk)
                    SavedSearch.objects.filter(pk=saved_search.pk).update(
                        next_digest_at=_next_digest_at(saved_search.user, after=now)
                    )
    return sent
