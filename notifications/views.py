"""Inbox, preferences, unsubscribe links and the calendar feed.

Mark-read buttons are plain POST forms that htmx enhances: with ``HX-Request`` the answer is the
updated fragment (and the navigation's unread badge, swapped out of band); without JavaScript it
is a redirect back to the inbox.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db.models import Count, Window
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from marketplace.core.http import require_form_page, safe_next_url
from marketplace.core.links import absolute

from . import selectors, services
from .calendar import events_for, render_ics
from .context_processors import request_unread_count
from .forms import PreferencesForm, kind_field_name
from .kinds import KINDS, UNSUBSCRIBE_ALL, roles_of
from .tokens import unsubscribe_token_read


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _own_notification(request, pk: int):
    notification = selectors.notification_get(user=request.user, pk=pk)
    if notification is None:  # someone else's notification is as good as missing
        raise Http404("No such notification.")
    return notification


@require_safe
@login_required
def inbox(request):
    unread_only = request.GET.get("filter") == "unread"
    before = None
    if request.GET.get("before", "").isdigit():
        before = selectors.notification_get(user=request.user, pk=int(request.GET["before"]))
    page = list(
        selectors.inbox(user=request.user, unread_only=unread_only, before=before)[
            : selectors.INBOX_PAGE_SIZE + 1
        ]
    )
    has_more = len(page) > selectors.INBOX_PAGE_SIZE
    page = page[: selectors.INBOX_PAGE_SIZE]
    return render(
        request,
        "notifications/inbox.html",
        {
            "notifications": page,
            "unread_only": unread_only,
            "next_before": page[-1].pk if has_more else None,
        },
    )


@require_safe
@login_required
def notification_open(request, pk: int):
    """Follow a notification's link, marking it read on the way."""
    notification = _own_notification(request, pk)
    services.notification_mark_read(notification=notification, actor=request.user)
    link = notification.link
    if link.startswith("/") and url_has_allowed_host_and_scheme(
        link, allowed_hosts={request.get_host()}
    ):
        return redirect(link)
    return redirect("notifications:inbox")


@require_POST
@login_required
def notification_read(request, pk: int):
    notification = _own_notification(request, pk)
    services.notification_mark_read(notification=notification, actor=request.user)
    if _is_htmx(request):
        return render(
            request,
            "notifications/_row_read.html",
            {"n": notification, "notifications_unread": selectors.unread_count(user=request.user)},
        )
    return redirect(safe_next_url(request, reverse("notifications:inbox")))


@require_POST
@login_required
def notifications_read_all(request):
    marked = services.notifications_mark_all_read(actor=request.user)
    if _is_htmx(request):
        notifications = list(selectors.inbox(user=request.user)[: selectors.INBOX_PAGE_SIZE])
        return render(
            request,
            "notifications/_list_read_all.html",
            {"notifications": notifications, "notifications_unread": 0, "marked": marked},
        )
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    return redirect(safe_next_url(request, reverse("notifications:inbox")))


@require_form_page
@login_required
def preferences(request):
    email_enabled, groups = selectors.email_preferences(user=request.user)
    initial = {"email_enabled": email_enabled}
    for _group, kinds in groups:
        for kind, _label, on in kinds:
            initial[kind_field_name(kind)] = on
    form = PreferencesForm(request.POST or None, initial=initial, roles=roles_of(request.user))
    if request.method == "POST" and form.is_valid():
        services.notification_preferences_update(
            user=request.user,
            actor=request.user,
            email_enabled=form.cleaned_data["email_enabled"],
            kinds=form.kinds(),
        )
        messages.success(request, "Your e-mail preferences are saved.")
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})


# The signed token is the credential here, not the session: the person may read their mail
# on a device where they are not logged in, and RFC 8058 one-click unsubscribe is a POST from
# the mail provider, which carries no CSRF token. Changing nothing but turning e-mail off,
# the worst a forged request could do with a leaked link is what the link itself allows.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET shows what the link will do and a button; POST (the button, or a mail program's
    one-click ``List-Unsubscribe=One-Click``) turns the e-mail off. A bad token is a 404."""
    try:
        user_id, kind = unsubscribe_token_read(token)
    except signing.BadSignature as exc:
        raise Http404("This unsubscribe link is not valid.") from exc
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise Http404("This unsubscribe link is not valid.")
    label = "all e-mail" if kind == UNSUBSCRIBE_ALL else f"e-mail about “{KINDS[kind]}”"
    done = False
    if request.method == "POST":
        services.email_unsubscribe(user=user, kind=kind)
        done = True
    return render(
        request,
        "notifications/unsubscribe.html",
        {"label": label, "done": done, "email": user.email, "token": token},
    )


@never_cache
@require_GET
def calendar_feed(request, token: str):
    user = selectors.user_for_calendar_token(token)
    if user is None:
        raise Http404("No such calendar.")
    body = render_ics(events_for(user), name="Micro-internships deadlines")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="deadlines.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


@require_POST
@login_required
def calendar_regenerate(request):
    services.calendar_token_regenerate(user=request.user, actor=request.user)
    messages.success(
        request, "Your calendar has a new link; the old one no longer works. Subscribe again."
    )
    return redirect(safe_next_url(request, reverse("dashboard")))


def calendar_url(token: str) -> str:
    """The feed's absolute URL, on the address the site is being visited on."""
    return absolute(reverse("notifications:calendar_feed", args=[token]))


def notifications_panel(request):
    """Dashboard panel: unread notifications and the secret calendar link."""
    if not request.user.is_authenticated:
        return None
    prefs = services.notification_settings_get(user=request.user)
    feed = calendar_url(prefs.calendar_token)
    # The newest unread ones with the number of all unread in the same query; kept on the
    # request for the navigation's badge (``request_unread_count``).
    latest = list(
        selectors.inbox(user=request.user, unread_only=True)
        .only("id", "title", "created_at")
        .annotate(unread=Window(Count("*")))[:3]
    )
    if not hasattr(request, "_notifications_unread"):
        request._notifications_unread = latest[0].unread if latest else 0
    return "notifications/panel.html", {
        "latest": latest,
        "unread": request_unread_count(request),
        "calendar_url": feed,
        "webcal_url": "webcal://" + feed.split("://", 1)[1],
    }
