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
    "payout.reversed": "Part or all of a payout was taken back",
    "payments.refunded": "A refund was made",
    "payments.chargeback": "Your bank disputes a payment",
    "payments.issue": "Payments: a difference to check (staff)",
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
    # Staff
    "moderation.waiting": "Postings are waiting for review (staff)",
    # Credentials and academic credit
    "credential.issued": "A credential for completed work is ready",
    "credit.signed_off": "A supervisor signed off academic credit",
    "credit.declined": "A supervisor declined to sign off academic credit",
}

# The preferences page shows the kinds in these groups, by the part of the kind before the dot.
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Postings", ("posting",)),
    ("Applications and offers", ("application", "offer")),
    (
        "Assignments and deliverables",
        (
            "assignment",
            "submission",
            "revision",
            "milestone",
            "dispute",
            "message",
            "rating",
            "invitation",
        ),
    ),
    ("Payments", ("payout", "payments")),
    ("Reminders", ("reminder",)),
    ("Saved searches", ("digest",)),
    ("Credentials and academic credit", ("credential", "credit")),
    ("Moderation", ("moderation",)),
]

# What a deadline is called in the calendar feed, by the kind of the reminders about it (kinds
# whose ``expires_at`` is the deadline itself; an overdue notice is not a deadline).
DEADLINE_TITLES: dict[str, str] = {
    "reminder.application_deadline": "Application deadline",
    "reminder.offer_due": "Offer answer due",
    "reminder.funding_pending": "Funding due",
    "reminder.milestone_due": "Milestone due",
    "reminder.auto_approval": "Automatic approval",
    "reminder.payout_account": "Payout account needed",
    "reminder.rating_window": "Rating window closes",
}

UNSUBSCRIBE_ALL = "*"


def grouped_kinds() -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(group label, [(kind, label), ...]), ...]`` covering every kind exactly once."""
    groups: list[tuple[str, list[tuple[str, str]]]] = [(label, []) for label, _ in GROUPS]
    other: list[tuple[str, str]] = []
    for kind, label in KINDS.items():
        prefix = kind.split(".", 1)[0]
        for index, (_, prefixes) in enumerate(GROUPS):
            if prefix in prefixes:
                groups[index][1].append((kind, label))
                break
        else:
            other.append((kind, label))
    if other:
        groups.append(("Other", other))
    return [(label, kinds) for label, kinds in groups if kinds]
