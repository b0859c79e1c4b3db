"""Demo data: the credentials of the demo's completed work (issued at once, not left to the
worker), and a supervisor named for Ana's completed credit internship; the sign-off link goes to
the console e-mail backend, so it can be opened from the terminal of ``make run``."""

from applications.models import Assignment

from .models import SupervisorSignOff
from .services import credential_issue, supervisor_name


def seed_demo(*, stdout) -> None:
    completed = Assignment.objects.filter(
        status=Assignment.Status.COMPLETED, student__email__endswith=".demo.test", amount=0
    ).select_related("student")
    issued = 0
    for assignment in completed:
        if credential_issue(assignment_id=assignment.pk) is not None:
            issued += 1
        named = SupervisorSignOff.objects.filter(assignment=assignment).exists()
        if assignment.student.email == "ana@student.demo.test" and not named:
            supervisor_name(
                assignment=assignment,
                actor=assignment.student,
                name="Dr Helen Carter",
                institution="University of Leeds",
                email="h.carter@leeds.demo.test",
            )
    stdout.write(f"Credentials: {issued} credential(s) of completed work.")
