"""Thin Celery adapters: ids in, one service call."""

from celery import shared_task

from . import services


@shared_task(name="credentials.assignment_completed")
def assignment_completed(assignment_id: int) -> None:
    services.assignment_completed(assignment_id=assignment_id)


@shared_task(name="credentials.send_supervisor_request")
def send_supervisor_request(sign_off_id: int) -> None:
    services.supervisor_request_email(sign_off_id=sign_off_id)
