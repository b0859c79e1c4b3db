"""Sending a notification's e-mail (HTML and text), honouring the recipient's preferences.

Every e-mail carries two signed unsubscribe links (this kind, and everything) and the
``List-Unsubscribe``/``List-Unsubscribe-Post`` headers of RFC 8058, so mail programs can offer
one-click unsubscribe: they POST ``List-Unsubscribe=One-Click`` to the same link, which turns off
e-mail for that kind without a login (see ``notifications.views.unsubscribe``).
"""

import functools
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .kinds import KINDS, UNSUBSCRIBE_ALL
from .models import Notification, NotificationSettings
from .tokens import unsubscribe_token


@functools.cache
def _site_path(name: str, placeholder: str = "") -> str:
    """``reverse()`` once per process: e-mails are built by the hundred."""
    return reverse(name, args=[placeholder] if placeholder else None)


def absolute_url(path_or_url: str) -> str:
    """Links in e-mails must be absolute: site paths get ``SITE_URL`` in front."""
    if path_or_url.startswith("/"):
        return settings.SITE_URL + path_or_url
    return path_or_url


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    # Tokens are URL-safe (base64 and ":"), so filling them into the reversed path is the same
    # as reversing with them.
    token = unsubscribe_token(user_id=user_id, kind=kind)
    path = _site_path("notifications:unsubscribe", "TOKEN").replace("TOKEN", token)
    return absolute_url(path)


def notification_email_send(*, notification_id: int) -> bool:
    """Send one notification's e-mail once; True if it went out."""
    return notification_emails_send(notification_ids=[notification_id]) == 1


def notification_emails_send(*, notification_ids: list[int]) -> int:
    """Send the e-mails of these notifications, each once; returns how many went out.

    One transaction for the batch: the pending rows are locked (rows another worker is sending
    are skipped, not waited for), the preferences of all recipients are read in one query, the
    messages go out over one connection to the mail server, and the rows are marked in one
    UPDATE. Nothing is sent (status ``skipped``) when the recipient switched e-mail off for this
    kind or altogether, is inactive, has no address, or the mail server refuses the address.

    If the mail server becomes unreachable in the middle, the e-mails already sent are marked
    sent and the error is raised, so the task's retry sends only the rest. (An e-mail can go
    out twice only if the database commit fails right after sending.)
    """
    with transaction.atomic():
        notifications = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk__in=notification_ids, email_status=Notification.EmailStatus.PENDING)
            .order_by("pk")
        )
        if not notifications:
            return 0
        to_send, skipped = _wanted(notifications)
        sent, refused, failure = _send_batch(to_send)
        skipped += refused
        # Two UPDATEs for the whole batch; ``emailed_at`` is when the batch was handed over.
        if sent:
            Notification.objects.filter(pk__in=sent).update(
                email_status=Notification.EmailStatus.SENT, emailed_at=timezone.now()
            )
        if skipped:
            Notification.objects.filter(pk__in=skipped).update(
                email_status=Notification.EmailStatus.SKIPPED
            )
    if failure is not None:
        raise failure
    return len(sent)


def _wanted(notifications: list[Notification]) -> tuple[list[Notification], list[int]]:
    """The notifications whose recipient wants this kind by e-mail (and can get it), and the
    ids of the others."""
    prefs = {
        p.user_id: p
        for p in NotificationSettings.objects.filter(
            user_id__in={n.recipient_id for n in notifications}
        )
    }
    to_send, skipped = [], []
    for notification in notifications:
        recipient = notification.recipient
        wanted = recipient.pk not in prefs or prefs[recipient.pk].wants_email(notification.kind)
        if wanted and recipient.is_active and recipient.email:
            to_send.append(notification)
        else:
            skipped.append(notification.pk)
    return to_send, skipped


def _send_batch(
    to_send: list[Notification],
) -> tuple[list[int], list[int], Exception | None]:
    """Send over one connection: the ids sent, the ids whose address the server refused, and
    the error that stopped the batch (if any; what was sent before it stays sent)."""
    sent: list[int] = []
    refused: list[int] = []
    failure = None
    if to_send:
        connection = get_connection()
        try:
            connection.open()
            for notification in to_send:
                try:
                    build_message(notification, connection=connection).send()
                except smtplib.SMTPRecipientsRefused:
                    refused.append(notification.pk)
                else:
                    sent.append(notification.pk)
        except Exception as exc:  # e.g. the server is unreachable: keep what was sent
            failure = exc  # and raise below (an OSError is retried by the task)
        finally:
            connection.close()
    return sent, refused, failure


def build_message(notification: Notification, *, connection=None) -> EmailMultiAlternatives:
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
        "preferences_url": absolute_url(_site_path("notifications:preferences")),
        "inbox_url": absolute_url(_site_path("notifications:inbox")),
        "SITE_URL": settings.SITE_URL,
        "SITE_NAME": "Micro-internships",
    }
    message = EmailMultiAlternatives(
        connection=connection,
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
