"""Demo data: a welcome notification for every demo user (idempotent through the dedupe key)."""

from django.contrib.auth import get_user_model

from .services import notify


def seed_demo(*, stdout) -> None:
    users = get_user_model().objects.filter(email__endswith=".demo.test")
    created = 0
    for user in users:
        if notify(
            recipient=user,
            kind="invitation.received" if user.is_student else "posting.approved",
            title="Welcome to Micro-internships",
            body=(
                "Notifications about your postings, applications and payments arrive here and by "
                "e-mail. Choose which e-mails you get in your e-mail preferences, and add your "
                "deadlines to your calendar from the dashboard."
            ),
            link="/notifications/preferences/",
            dedupe_key=f"demo:welcome:u{user.pk}",
        ):
            created += 1
    stdout.write(f"Notifications: {created} welcome notification(s) created.")
