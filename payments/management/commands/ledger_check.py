"""``manage.py ledger_check``: exit 0 when the books balance, else 1 with every reason."""

from django.core.management.base import BaseCommand, CommandError

from payments.selectors import ledger_problems


class Command(BaseCommand):
    help = (
        "Check the payments ledger: every transaction sums to zero, and every funded "
        "assignment's amount equals paid + refunded + held. Exits non-zero with the reasons."
    )

    def handle(self, *args, **options):
        problems = ledger_problems()
        if problems:
            for problem in problems:
                self.stderr.write(f"ledger: {problem}")
            raise CommandError(f"The ledger has {len(problems)} problem(s).")
        self.stdout.write(self.style.SUCCESS("The ledger balances."))
