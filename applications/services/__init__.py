"""Every write to applications, assignments, milestones, submissions, ratings and messages.

Status changes follow the ``TRANSITIONS`` maps in ``models.py``: each service locks the row,
re-reads it, returns early when the move already happened (so running it twice is harmless),
checks the map, saves with ``update_fields`` and writes the audit record, the notifications and
the reminders in the same transaction.

Lock order, to keep concurrent moves free of deadlocks: an application before its posting (the
posting services lock it); an assignment before its posting; a milestone before its assignment
(completion). Accepting an offer never locks *other* applications: closing the rest of a filled
posting runs after commit, in its own task, skipping rows another transaction holds.

Contract with the payments side (which this app never imports): ``assignment_mark_funded``,
``milestone_mark_paid``, the signals in ``signals.py`` and the states swept by payments
(approved milestones with an amount, cancelled assignments, resolved disputes).

One module per feature; the public names are re-exported here, so callers import
``applications.services`` and never a module inside it.
"""

from ._helpers import application_link, assignment_link, is_member
from .applying import (
    application_submit,
    application_withdraw,
)
from .assignments import (
    assignment_cancel,
    assignment_cancel_agree,
    assignment_expire_unfunded,
    assignment_mark_funded,
    assignments_expire_unfunded_due,
)
from .closing import (
    applications_close_for_closed_postings,
    applications_close_for_posting,
)
from .deliverables import (
    milestone_approve,
    milestone_auto_approve,
    milestone_mark_paid,
    milestone_request_revision,
    milestones_auto_approve_due,
    submission_create,
)
from .disputes import (
    dispute_open,
    dispute_resolve,
)
from .messages import message_send
from .ratings import (
    assignment_set_on_record,
    rating_create,
    ratings_publish_due,
)
from .reinvites import reinvite_create
from .reputation import employer_stats_refresh
from .selecting import (
    application_accept,
    application_decline,
    application_expire_offer,
    application_offer,
    application_reject,
    application_shortlist,
    applications_expire_offers_due,
)

__all__ = [
    "application_accept",
    "application_decline",
    "application_expire_offer",
    "application_link",
    "application_offer",
    "application_reject",
    "application_shortlist",
    "application_submit",
    "application_withdraw",
    "applications_close_for_closed_postings",
    "applications_close_for_posting",
    "applications_expire_offers_due",
    "assignment_cancel",
    "assignment_cancel_agree",
    "assignment_expire_unfunded",
    "assignment_link",
    "assignment_mark_funded",
    "assignment_set_on_record",
    "assignments_expire_unfunded_due",
    "dispute_open",
    "dispute_resolve",
    "employer_stats_refresh",
    "is_member",
    "message_send",
    "milestone_approve",
    "milestone_auto_approve",
    "milestone_mark_paid",
    "milestone_request_revision",
    "milestones_auto_approve_due",
    "rating_create",
    "ratings_publish_due",
    "reinvite_create",
    "submission_create",
]
