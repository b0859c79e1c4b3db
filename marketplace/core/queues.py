"""Queues by kind of work, and each task's time limits: the one place for both.

Four queues, each consumed by its own worker group in production (docker-compose.yml), so that
payouts never wait behind a burst of e-mail and a slow nightly job never delays either:

- ``payments``: payouts, refunds, webhooks and what follows an approval or a cancellation;
- ``email``: every task that talks to the mail server;
- ``sweeps``: every periodic task of ``CELERY_BEAT_SCHEDULE`` (and the reconciliation chunks);
- ``default``: the rest (short follow-ups of a user's action).

A periodic task is routed to ``sweeps`` whatever its name, so an app adding one to the beat
schedule needs no change here. Limits are (soft, hard) seconds: at the soft limit the task is
asked to stop (``SoftTimeLimitExceeded``), at the hard one its process is killed. A task not
listed gets ``CELERY_TASK_SOFT_TIME_LIMIT`` / ``CELERY_TASK_TIME_LIMIT``.

``acks_late`` with ``reject_on_worker_lost``: the message is acknowledged only after the task
finished, and a worker process that dies mid-task puts it back on the queue. Only for tasks that
are idempotent (house rule 6: they lock, re-check and return early), listed in ``REDELIVERABLE``.
E-mail tasks are not: a worker killed between the SMTP answer and the commit would send twice;
the notifications outbox (``notifications.requeue_emails``) finds what a lost message left.
"""

from __future__ import annotations

from django.conf import settings

QUEUES = ("payments", "email", "sweeps", "default")  # declared in CELERY_TASK_QUEUES

# Exact task names, then prefixes (``payments.`` is every payments task not listed exactly).
ROUTES: dict[str, str] = {
    "payments.reconcile_chunk": "sweeps",
    "payments.reconcile_unbooked": "sweeps",
    "payments.": "payments",
    "notifications.send_email": "email",
    "notifications.send_emails": "email",
    "accounts.send_invitation_email": "email",
    "credentials.send_supervisor_request": "email",
}

# (soft, hard) seconds. A provider call takes up to STRIPE_TIMEOUT (20 s) with two network
# retries; a sweep handles one batch; a reconciliation chunk checks RECONCILE_CHUNK_SIZE fundings.
LIMITS: dict[str, tuple[int, int]] = {
    "payments.release_payout": (90, 120),
    "payments.execute_refund": (90, 120),
    "payments.handle_webhook_event": (90, 120),
    "payments.milestone_approved": (90, 120),
    "payments.assignment_cancelled": (90, 120),
    "payments.dispute_resolved": (90, 120),
    "payments.sweep": (240, 300),
    "payments.reconcile": (60, 90),
    "payments.reconcile_chunk": (240, 300),
    "payments.reconcile_unbooked": (240, 300),
    "notifications.send_email": (60, 90),
    "notifications.send_emails": (120, 150),
    "notifications.send_due_reminders": (120, 150),
    "notifications.requeue_emails": (60, 90),
    "postings.close_due": (120, 150),
    "postings.send_saved_search_digests": (240, 300),
    "applications.close_for_posting": (60, 90),
    "accounts.send_invitation_email": (60, 90),
    "credentials.send_supervisor_request": (60, 90),
    "core.outbox_flush": (60, 90),
}

REDELIVERABLE = {
    "payments.release_payout",
    "payments.execute_refund",
    "payments.handle_webhook_event",
    "payments.milestone_approved",
    "payments.assignment_cancelled",
    "payments.dispute_resolved",
    "payments.sweep",
    "payments.reconcile_chunk",
    "applications.close_for_posting",
}


def _periodic() -> set[str]:
    return {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def queue_for(name: str) -> str:
    if name in ROUTES:
        return ROUTES[name]
    if name in _periodic():
        return "sweeps"
    for prefix, queue in ROUTES.items():
        if prefix.endswith(".") and name.startswith(prefix):
            return queue
    return "default"


def route(name, args, kwargs, options, task=None, **kw) -> dict:
    """Celery's router (``CELERY_TASK_ROUTES``)."""
    return {"queue": queue_for(name)}


class Annotations:
    """Celery's task annotations (``CELERY_TASK_ANNOTATIONS``): limits and redelivery per task."""

    def annotate(self, task) -> dict:
        found: dict = {}
        if task.name in LIMITS:
            found["soft_time_limit"], found["time_limit"] = LIMITS[task.name]
        if task.name in REDELIVERABLE:
            found["acks_late"] = True
            found["reject_on_worker_lost"] = True
        return found
