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
    "payout.held": "A payout is on hold",
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

# Who receives each kind, so that the preferences page offers a person only their own kinds
# (the role names are the accounts app's: this app imports none). Kinds left out reach every role.
STUDENT, EMPLOYER, STAFF = "student", "employer", "staff"
ROLES: dict[str, frozenset[str]] = {
    kind: frozenset(roles)
    for kind, roles in {
        "posting.approved": {EMPLOYER},
        "posting.changes_requested": {EMPLOYER},
        "posting.rejected": {EMPLOYER},
        "posting.suspended": {EMPLOYER},
        "posting.closed": {EMPLOYER},
        "application.received": {EMPLOYER},
        "application.shortlisted": {STUDENT},
        "application.rejected": {STUDENT},
        "application.closed": {STUDENT},
        "offer.made": {STUDENT},
        "offer.accepted": {EMPLOYER},
        "offer.declined": {EMPLOYER},
        "offer.expired": {STUDENT, EMPLOYER},
        "assignment.funded": {STUDENT, EMPLOYER},
        "assignment.cancelled": {STUDENT, EMPLOYER},
        "submission.received": {EMPLOYER},
        "revision.requested": {STUDENT},
        "milestone.approved": {STUDENT, EMPLOYER},
        "dispute.opened": {STUDENT, EMPLOYER, STAFF},
        "dispute.resolved": {STUDENT, EMPLOYER},
        "message.received": {STUDENT, EMPLOYER},
        "rating.received": {STUDENT, EMPLOYER},
        "invitation.received": {STUDENT},
        "payout.paid": {STUDENT},
        "payout.failed": {STUDENT},
        "payout.account_needed": {STUDENT},
        "payout.reversed": {STUDENT},
        "payout.held": {STUDENT},
        "payments.refunded": {EMPLOYER},
        "payments.chargeback": {EMPLOYER, STAFF},
        "payments.issue": {STAFF},
        "reminder.application_deadline": {EMPLOYER},
        "reminder.offer_due": {STUDENT},
        "reminder.funding_pending": {EMPLOYER},
        "reminder.milestone_due": {STUDENT},
        "reminder.milestone_overdue": {STUDENT, EMPLOYER},
        "reminder.auto_approval": {EMPLOYER},
        "reminder.payout_account": {STUDENT},
        "reminder.rating_window": {STUDENT, EMPLOYER},
        "digest.saved_search": {STUDENT},
        "moderation.waiting": {STAFF},
        "credential.issued": {STUDENT},
        "credit.signed_off": {STUDENT},
        "credit.declined": {STUDENT},
    }.items()
}


def roles_of(user) -> set[str] | None:
    """The roles a user receives notifications in (``None`` when they have none: show all)."""
    roles = {
        role
        for role, has in (
            (STUDENT, getattr(user, "is_student", False)),
            (EMPLOYER, getattr(user, "is_employer", False)),
            (STAFF, getattr(user, "is_staff", False)),
        )
        if has
    }
    return roles or None


def kinds_for_roles(roles: set[str] | None) -> dict[str, str]:
    """``KINDS`` narrowed to what a person with these roles can receive (``None``: all)."""
    if roles is None:
        return dict(KINDS)
    return {kind: label for kind, label in KINDS.items() if ROLES.get(kind, roles) & roles}


def grouped_kinds(roles: set[str] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(group label, [(kind, label), ...]), ...]`` covering every kind (of these roles)
    exactly once; empty groups are left out."""
    groups: list[tuple[str, list[tuple[str, str]]]] = [(label, []) for label, _ in GROUPS]
    other: list[tuple[str, str]] = []
    for kind, label in kinds_for_roles(roles).items():
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
