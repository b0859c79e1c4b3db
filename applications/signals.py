"""Signals for the payments side (which this app never imports).

Each is sent after the transaction that made the change commits (``transaction.on_commit``),
with the id only: receivers re-read the row. They are a nudge to act quickly; payments also
sweeps for the same states, so a lost signal delays but never loses anything.

- ``milestone_approved(milestone_id)``: a milestone was approved (by the employer or
  automatically at the end of the review window); pay it unless its amount is 0.
- ``assignment_cancelled(assignment_id)``: refund what was not released.
- ``dispute_resolved(dispute_id)``: carry out the decision (release, refund or split, with
  ``Dispute.student_amount`` for the student).
"""

from django.db import transaction
from django.dispatch import Signal

milestone_approved = Signal()
assignment_cancelled = Signal()
dispute_resolved = Signal()


def send_on_commit(signal: Signal, sender, **ids) -> None:
    transaction.on_commit(lambda: signal.send(sender=sender, **ids))
