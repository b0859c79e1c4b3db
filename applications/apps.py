from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = "Applications and assignments"

    def ready(self) -> None:
        from marketplace.core.panels import register_panel

        from .panels import (
            employer_charts_panel,
            employer_panel,
            student_charts_panel,
            student_panel,
        )

        register_panel("applications.student", student_panel, order=20)
        register_panel("applications.employer", employer_panel, order=20)
        register_panel("applications.student_charts", student_charts_panel, order=21)
        register_panel("applications.employer_charts", employer_charts_panel, order=21)

        from postings.parts import register_detail_part

        from .views import apply_part

        register_detail_part("applications.apply", apply_part, order=10)

        from notifications.calendar import register_source

        from .selectors import calendar_events_for

        # These deadlines, with better titles than the reminders' generic ones.
        register_source(
            "applications.deadlines",
            calendar_events_for,
            replaces_reminder_kinds=[
                "reminder.offer_due",
                "reminder.funding_pending",
                "reminder.milestone_due",
                "reminder.auto_approval",
            ],
        )
