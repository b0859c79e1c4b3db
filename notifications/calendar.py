"""The per-user calendar feed (iCalendar, RFC 5545) of deadlines, fed by a registry of sources.

The feed lives at a secret URL, ``/notifications/calendar/<token>.ics``: the token is the only
credential (calendar programs cannot log in), it is random per user, and regenerating it from
the dashboard revokes the old URL at once. An unknown or altered token gives 404.

notifications imports no other app, so the apps that own deadlines contribute them. Register
a source in your ``AppConfig.ready()``::

    from django.apps import AppConfig


    class ApplicationsConfig(AppConfig):
        name = "applications"

        def ready(self):
            from notifications.calendar import CalendarEvent, register_source

            from .selectors import open_milestones_for  # your own read

            def milestone_deadlines(user):
                return [
                    CalendarEvent(
                        uid=f"milestone-{m.pk}-due",  # stable: the same deadline keeps its uid
                        title=f"Milestone due: {m.title}",
                        starts_at=m.due_at,  # an aware datetime (an instant)
                        link=f"/assignments/{m.assignment_id}/",  # a site path or full URL
                    )
                    for m in open_milestones_for(user)
                ]

            register_source(
                "applications.milestones",
                milestone_deadlines,
                replaces_reminder_kinds=["reminder.milestone_due"],
            )

A source is ``function(user) -> iterable of CalendarEvent``; it must be cheap (one or two queries)
and return only what this user may see. ``replaces_reminder_kinds`` tells the built-in source
below to stop showing the deadlines of those reminder kinds, since yours shows them better.

Built in: ``notifications.reminders`` shows the deadline (``expires_at``) of this user's
reminders (see ``kinds.DEADLINE_TITLES``), one event per deadline, so the feed is useful before
any app registers its own; a deadline whose reminder was cancelled (the thing was done) is
dropped. A source that raises is logged and left out; the feed still answers.
"""

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.utils import timezone

from marketplace.core.links import absolute

from .kinds import DEADLINE_TITLES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    title: str
    starts_at: datetime
    link: str = ""
    ends_at: datetime | None = None
    description: str = ""


EventSource = Callable[[object], Iterable[CalendarEvent]]
_sources: dict[str, EventSource] = {}
_replaced_reminder_kinds: dict[str, frozenset[str]] = {}


def register_source(
    name: str, function: EventSource, *, replaces_reminder_kinds: Iterable[str] = ()
) -> None:
    """Add (or replace, by ``name``) a source of calendar events."""
    _sources[name] = function
    _replaced_reminder_kinds[name] = frozenset(replaces_reminder_kinds)


def unregister_source(name: str) -> None:
    _sources.pop(name, None)
    _replaced_reminder_kinds.pop(name, None)


def events_for(user) -> list[CalendarEvent]:
    """Every source's events for ``user``, one per uid, by start time."""
    events: dict[str, CalendarEvent] = {}
    for name, function in sorted(_sources.items()):
        try:
            for event in function(user):
                events.setdefault(event.uid, event)
        except Exception:  # one broken source must not take the whole feed down
            logger.exception("Calendar source %s failed for user %s", name, user.pk)
    return sorted(events.values(), key=lambda event: (event.starts_at, event.uid))


# --- The built-in source: deadlines of pending reminders ---------------------------------------


def reminder_deadline_events(user) -> list[CalendarEvent]:
    from .selectors import reminder_deadlines

    replaced = set().union(*_replaced_reminder_kinds.values())
    kinds = [kind for kind in DEADLINE_TITLES if kind not in replaced]
    if not kinds:
        return []
    groups: dict[tuple, list] = {}
    for reminder in reminder_deadlines(user=user, kinds=kinds):
        groups.setdefault((reminder.kind, reminder.link, reminder.expires_at), []).append(reminder)
    events = []
    for (kind, link, deadline), reminders in groups.items():
        if any(reminder.cancelled_at for reminder in reminders):
            continue
        digest = hashlib.sha256(f"{kind}|{link}|{deadline.isoformat()}".encode()).hexdigest()
        events.append(
            CalendarEvent(
                uid=f"deadline-{digest[:24]}",
                title=DEADLINE_TITLES[kind],
                starts_at=deadline,
                link=link,
                description=reminders[0].title,
            )
        )
    return events


register_source("notifications.reminders", reminder_deadline_events)


# --- RFC 5545, written by the icalendar library (escaping, folding, CRLF, UTC times) -------------


def _utc(value: datetime) -> datetime:
    if timezone.is_naive(value):
        raise ValueError("Calendar events need aware datetimes (instants).")
    return value.astimezone(UTC)


def render_ics(events: Iterable[CalendarEvent], *, name: str) -> str:
    """A VCALENDAR with one VEVENT per event, UTC times; a link goes into URL and DESCRIPTION."""
    # UIDs must not change with the address the feed is fetched on: calendars would see new events.
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    stamp = _utc(timezone.now())
    feed = icalendar.Calendar()
    feed.add("prodid", "-//Micro-internships//Deadlines//EN")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("method", "PUBLISH")
    feed.add("x-wr-calname", name)
    feed.add("x-published-ttl", "PT1H")
    # REFRESH-INTERVAL (RFC 7986) takes a DURATION value.
    feed.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for event in events:
        entry = icalendar.Event()
        entry.add("uid", f"{event.uid}@{host}")
        entry.add("dtstamp", stamp)
        entry.add("dtstart", _utc(event.starts_at))
        if event.ends_at is not None and event.ends_at > event.starts_at:
            entry.add("dtend", _utc(event.ends_at))
        entry.add("summary", event.title)
        description = event.description
        if event.link:
            # URL is a URI value, not TEXT: it must not contain line breaks.
            url = absolute(event.link).replace("\r", "").replace("\n", "")
            entry.add("url", url)
            description = f"{description}\n{url}" if description else url
        if description:
            entry.add("description", description)
        feed.add_component(entry)
    return feed.to_ical().decode("utf-8")
