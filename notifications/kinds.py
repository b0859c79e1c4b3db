"""Every kind of notification, with the label shown on the preferences page.

Apps pass one of these as ``kind`` to ``notify()``/``reminder_schedule()``; e-mail can be switched
off per kind (in-app notifications are always kept).
"""

KINDS: dict[str, str] = {
    # Postings
    "posting.approved": "Your posting was approved",
    "posting.changes_requested": "Changes requested on your posting",
    "posting.rejected": "Your posting was rejected",
    "posting.suspended": "Your posting was suspended",
    "posting.closed": "Your posting closed",
    # Applications and offers
    "application.received": "New application on your posting",
    "application.shortlisted": "You were shortlisted",
    "application.rejected": "An application was not successful",
    "application.closed": "A posting you applied to closed",
    "offer.made": "You received an offer",
    "offer.accepted": "Your offer was accepted",
    "offer.declined": "Your offer was declined",
    "offer.expired": "An offer expired",
    # Assignments and deliverables
    "assignment.funded": "An assignment was funded",
    "assignment.cancelled": "An assignment was cancelled",
    "submission.received": "New submission to review",
    "revision.requested": "A revision was requested",
    "milestone.approved": "A milestone was approved",
    "dispute.opened": "A dispute was opened",
    "dispute.resolved": "A dispute was resolved",
    "message.received": "New message",
    "rating.received": "You received a rating",
    "invitation.received": "Invitation to apply",
    # Payments
    "payout.paid": "A payout was paid",
    "payout.failed": "A payout failed",
    "payout.account_needed": "Set up your payout account to get paid",
    # Reminders
    "reminder.application_deadline": "Reminder: application deadline approaching",
    "reminder.offer_due": "Reminder: answer your offer",
    "reminder.funding_pending": "Reminder: fund the accepted assignment",
    "reminder.milestone_due": "Reminder: a milestone is due",
    "reminder.milestone_overdue": "A milestone is overdue",
    "reminder.auto_approval": "Reminder: review before automatic approval",
    "reminder.payout_account": "Reminder: a payout waits for your payout account",
    "reminder.rating_window": "Reminder: rate your collaboration",
    # Saved searches
    "digest.saved_search": "New postings for your saved searches",
}
