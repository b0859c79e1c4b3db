"""Sending a notification's e-mail (HTML and text), honouring the recipient's preferences."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Notification


def notification_email_send(*, notification_id: int) -> bool:
    """Send once: the row is locked and ``emailed_at`` set in the same transaction."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .select_related("recipient")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        recipient = notification.recipient
        if not recipient.is_active or not recipient.email:
            return False
        link = notification.link
        if link.startswith("/"):
            link = settings.SITE_URL + link
        context = {"notification": notification, "link": link, "SITE_URL": settings.SITE_URL}
        message = EmailMultiAlternatives(
            subject=notification.title,
            body=render_to_string("notifications/email.txt", context),
            to=[recipient.email],
        )
        message.attach_alternative(
            render_to_string("notifications/email.html", context), "text/html"
        )
        message.send()
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True
