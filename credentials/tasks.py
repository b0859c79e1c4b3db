"""Thin Celery adapters: ids in, one service call."""

import smtplib

from celery import shared_task

from . import services


@shared_task(name="credentials.assignment_completed")
def assignment_completed(assignment_id: int) -> None:
    services.assignment_completed(assignment_id=assignment_id)


# A mail server that is down or refuses for a while: try again with backoff (the e-mail carries
# the current link, so a late one is still right; a decided sign-off is not e-mailed at all).
@shared_task(
    name="credentials.send_supervisor_request",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_supervisor_request(sign_off_id: int) -> None:
    services.supervisor_request_email(sign_off_id=sign_off_id)
