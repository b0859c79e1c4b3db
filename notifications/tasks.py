from celery import shared_task

from . import services


@shared_task(
    name="notifications.send_email",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_notification_email(notification_id: int) -> None:
    from .emails import notification_email_send

    notification_email_send(notification_id=notification_id)


@shared_task(
    name="notifications.send_emails",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_notification_emails(notification_ids: list[int]) -> int:
    """A batch (the reminder sweep, ``notify_many``, the outbox requeue): one transaction and one
    mail server connection for up to a few hundred e-mails."""
    from .emails import notification_emails_send

    return notification_emails_send(notification_ids=notification_ids)


@shared_task(name="notifications.send_due_reminders")
def send_due_reminders() -> int:
    return services.reminders_send_due()


@shared_task(name="notifications.requeue_emails")
def requeue_notification_emails() -> int:
    return services.notification_emails_requeue()
