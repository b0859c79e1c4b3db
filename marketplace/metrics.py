"""The marketplace's business numbers on ``/metrics`` (see ``marketplace.core.metrics``).

This module is the project's, like ``urls.py``: it reads every app's rows, which core may not.
Each scrape asks at most once a minute per process (``METRICS_BUSINESS_SECONDS``): a handful of
grouped counts and one sum over the ledger's ``held`` account.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily

from marketplace.core.metrics import cached_numbers, register_collector


def _numbers() -> dict:
    from applications.models import Application
    from payments.models import LedgerEntry, Payout
    from postings.models import Posting

    return {
        "postings": dict(Posting.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "applications": dict(
            Application.objects.values_list("status").annotate(n=Count("id")).order_by()
        ),
        "payouts": dict(Payout.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "held": dict(
            LedgerEntry.objects.filter(account=LedgerEntry.Account.HELD)
            .values_list("currency")
            .annotate(total=Sum("amount"))
            .order_by()
        ),
    }


class BusinessCollector:
    def collect(self) -> Iterable:
        numbers = cached_numbers("business", settings.METRICS_BUSINESS_SECONDS, _numbers)
        for name, help_text in (
            ("postings", "Postings by status (published: live now)"),
            ("applications", "Applications by status"),
            ("payouts", "Payouts by status (paid, failed, ...)"),
        ):
            gauge = GaugeMetricFamily(f"marketplace_{name}", help_text, labels=["status"])
            for status, count in sorted(numbers[name].items()):
                gauge.add_metric([status], count)
            yield gauge
        held = GaugeMetricFamily(
            "marketplace_money_held_minor_units",
            "Money funded by employers and not yet paid out or refunded",
            labels=["currency"],
        )
        for currency, total in sorted(numbers["held"].items()):
            held.add_metric([currency], total or 0)
        yield held


register_collector(BusinessCollector())
