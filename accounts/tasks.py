"""Celery adapters for accounts: ids in, one service call."""

from smtplib import SMTPException

from celery import shared_task

from . import services


@shared_task(
    name="accounts.send_invitation_email",
    autoretry_for=(OSError, SMTPException),
    retry_backoff=True,
    max_retries=5,
)
def invitation_email_send_task(invitation_id: int, base_url: str) -> bool:
    return services.invitation_email_send(invitation_id=invitation_id, base_url=base_url)
