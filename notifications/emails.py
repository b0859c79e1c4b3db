"""Sending a notification's e-mail (HTML and text), honouring the recipient's preferences.

Every e-mail carries two signed unsubscribe links (this kind, and everything) and the
``List-Unsubscribe``/``List-Unsubscribe-Post`` headers of RFC 8058, so mail programs can offer
one-click unsubscribe: they POST ``List-Unsubscribe=One-Click`` to the same link, which turns off
e-mail for that kind without a login (see ``notifications.views.unsubscribe``).
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .kinds import KINDS, UNSUBSCRIBE_ALL
from .models import Notification, NotificationSettings
from .tokens import unsubscribe_token


def absolute_url(path_or_url: str) -> str:
    """Links in e-mails must be absolute: site paths get ``SITE_URL`` in front."""
    if path_or_url.startswith("/"):
        return settings.SITE_URL + path_or_url
    return path_or_url


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    token = unsubscribe_token(user_id=user_id, kind=kind)
    return absolute_url(reverse("notifications:unsubscribe", args=[token]))


def notification_email_send(*, notification_id: int) -> bool:
    """Send once: the row is locked and its status set in the same transaction.

    Returns True if an e-mail went out. Nothing is sent (status ``skipped``) when the recipient
    switched e-mail off for this kind or altogether, is inactive or has no address. A second call
    for the same notification sends nothing.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, email_status=Notification.EmailStatus.PENDING)
            .first()
        )
        if notification is None:
            return False
        recipient = notification.recipient
        prefs = NotificationSettings.objects.filter(user=recipient).first()
        wanted = prefs is None or prefs.wants_email(notification.kind)
        if not wanted or not recipient.is_active or not recipient.email:
            notification.email_status = Notification.EmailStatus.SKIPPED
            notification.save(update_fields=["email_status"])
            return False
        message = build_message(notification)
        message.send()
        notification.emailed_at = timezone.now()
        notification.email_status = Notification.EmailStatus.SENT
        notification.save(update_fields=["emailed_at", "email_status"])
    return True


def build_message(notification: Notification) -> EmailMultiAlternatives:
    recipient = notification.recipient
    kind_known = notification.kind in KINDS
    unsubscribe_kind = (
        unsubscribe_url(user_id=recipient.pk, kind=notification.kind) if kind_known else ""
    )
    unsubscribe_all = unsubscribe_url(user_id=recipient.pk, kind=UNSUBSCRIBE_ALL)
    context = {
        "notification": notification,
        "recipient": recipient,
        "link": absolute_url(notification.link) if notification.link else "",
        "kind_label": KINDS.get(notification.kind, notification.kind),
        "unsubscribe_kind_url": unsubscribe_kind,
        "unsubscribe_all_url": unsubscribe_all,
        "preferences_url": absolute_url(reverse("notifications:preferences")),
        "inbox_url": absolute_url(reverse("notifications:inbox")),
        "SITE_URL": settings.SITE_URL,
        "SITE_NAME": "Micro-internships",
    }
    message = EmailMultiAlternatives(
        subject=notification.title,
        body=render_to_string("notifications/email.txt", context),
        to=[recipient.email],
        headers={
            # RFC 2369 and RFC 8058: one-click unsubscribe from this kind of e-mail.
            "List-Unsubscribe": f"<{unsubscribe_kind or unsubscribe_all}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(render_to_string("notifications/email.html", context), "text/html")
    return message
