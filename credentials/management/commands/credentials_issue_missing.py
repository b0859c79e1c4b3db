"""Issue the credentials of completed assignments that have none (after a lost task, or for work
completed before credentials existed). Safe to run again: issuing is idempotent."""

from django.core.management.base import BaseCommand

from applications.models import Assignment
from credentials.services import credential_issue


class Command(BaseCommand):
    help = "Issue the missing credentials of completed assignments."

    def handle(self, *args, **options):
        ids = Assignment.objects.filter(
            status=Assignment.Status.COMPLETED, credentials__isnull=True
        ).values_list("pk", flat=True)
        issued = sum(1 for pk in list(ids) if credential_issue(assignment_id=pk) is not None)
        self.stdout.write(f"Issued {issued} credential(s).")
