from django.apps import AppConfig


def _on_milestone_approved(sender, milestone_id, **kwargs):
    from .tasks import milestone_approved

    milestone_approved.delay_on_commit(milestone_id)


def _on_assignment_cancelled(sender, assignment_id, **kwargs):
    from .tasks import assignment_cancelled

    assignment_cancelled.delay_on_commit(assignment_id)


def _on_dispute_resolved(sender, dispute_id, **kwargs):
    from .tasks import dispute_resolved

    dispute_resolved.delay_on_commit(dispute_id)


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from applications import signals
        from marketplace.core.panels import register_panel

        from .views import employer_panel, staff_panel, student_panel

        # A nudge to act at once; the beat sweep finds the same states if a signal is lost.
        signals.milestone_approved.connect(
            _on_milestone_approved, dispatch_uid="payments.milestone_approved"
        )
        signals.assignment_cancelled.connect(
            _on_assignment_cancelled, dispatch_uid="payments.assignment_cancelled"
        )
        signals.dispute_resolved.connect(
            _on_dispute_resolved, dispatch_uid="payments.dispute_resolved"
        )
        register_panel("payments.student", student_panel, order=60)
        register_panel("payments.employer", employer_panel, order=60)
        register_panel("payments.staff", staff_panel, order=90)
