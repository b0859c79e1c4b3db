"""The dashboards' charts: aggregated reads turned into ``marketplace.core.charts.BarChart``.

Each chart costs one or two grouped queries whatever the number of postings, applications or
milestones (the database sums per week or month; Python fills the empty periods). Weeks and
months are those of the viewer's time zone (the middleware activates it; ``Trunc*`` uses it).

Money follows the figures already on the dashboards (``selectors.money_per_month``, one query for
both): paid milestones, by the month they were paid, plus the student's part of a resolved
dispute, by the month it was resolved; one chart per currency.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Avg, Count, DurationField, F, Q
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import dateformat, timezone

from accounts.models import Employer, User
from marketplace.core.charts import Bar, BarChart, highest
from marketplace.core.money import format_money, to_major
from postings.models import Posting

from .models import Application
from .selectors import employer_money, student_money

MONTHS = 12  # the money and response charts look back this far (the current month included)
MIN_MONTHS = 6  # and show at least this many months, so one busy month still reads as a trend
WEEKS = 8  # the applicants charts
POSTINGS = 4  # the employer's most recent postings get an applicants chart each


# --- Periods -----------------------------------------------------------------------------------


def _month_starts(now: dt.datetime, first: dt.date | None) -> list[dt.date]:
    """Month starts from ``first`` (at most MONTHS and at least MIN_MONTHS back) to the month
    of ``now``."""
    current = now.date().replace(day=1)
    earliest = _add_months(current, -(MONTHS - 1))
    latest = _add_months(current, -(MIN_MONTHS - 1))
    start = max(min(first, latest), earliest) if first else latest
    months = []
    while start <= current:
        months.append(start)
        start = _add_months(start, 1)
    return months


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _since_months(now: dt.datetime) -> dt.datetime:
    start = _add_months(now.date().replace(day=1), -(MONTHS - 1))
    return timezone.make_aware(dt.datetime.combine(start, dt.time.min), now.tzinfo)


def _week_starts(now: dt.datetime) -> list[dt.date]:
    monday = now.date() - dt.timedelta(days=now.weekday())
    return [monday - dt.timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]


def _local_date(value: dt.datetime | dt.date) -> dt.date:
    """A ``Trunc*`` result as a date (aware on PostgreSQL, maybe naive on SQLite)."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


# --- Money per month ---------------------------------------------------------------------------


def _recent(money: dict, since: dt.datetime) -> dict:
    """``money`` (``selectors.money_per_month``) from the month of ``since`` on."""
    first = since.date()
    recent: dict[str, dict[dt.date, int]] = {}
    for currency, per_month in money.items():
        months = {m: v for m, v in per_month.items() if m is not None and m >= first}
        if months:
            recent[currency] = months
    return recent


def _money_charts(totals: dict, *, key: str, title: str, verb: str, empty_text: str) -> list:
    now = timezone.localtime()
    charts = []
    for currency in sorted(totals):
        per_month = totals[currency]
        months = _month_starts(now, min(per_month))
        bars = tuple(
            Bar(
                label=dateformat.format(month, "M"),
                long_label=dateformat.format(month, "F Y"),
                value=per_month.get(month, 0),
                short_text=f"{to_major(per_month.get(month, 0), currency):,.0f}",
                text=format_money(per_month.get(month, 0), currency),
            )
            for month in months
        )
        total = sum(per_month.get(month, 0) for month in months)
        best = highest(bars)
        summary = (
            f"{format_money(total, currency)} {verb} from {bars[0].long_label} to "
            f"{bars[-1].long_label}"
            + (f"; the most in {best.long_label}: {best.text}." if best else ".")
        )
        charts.append(
            BarChart(
                key=f"{key}-{currency.lower()}",
                title=f"{title} ({currency})",
                summary=summary,
                bars=bars,
                label_heading="Month",
                value_heading=verb.capitalize(),
                empty_text=empty_text,
            )
        )
    return charts


def student_earnings_chart(user: User, money: dict | None = None) -> list[BarChart]:
    """Earnings per month, one chart per currency (``money``, the request's
    ``selectors.student_money``, or one query)."""
    since = _since_months(timezone.localtime())
    totals = _recent(student_money(user) if money is None else money, since)
    return _money_charts(
        totals,
        key="chart-earnings",
        title="Earnings per month",
        verb="earned",
        empty_text=f"Nothing earned in the last {MONTHS} months.",
    )


def employer_spend_chart(employer: Employer, money: dict | None = None) -> list[BarChart]:
    """Paid to students per month, one chart per currency (``money``, the request's
    ``selectors.employer_money``, or one query)."""
    since = _since_months(timezone.localtime())
    totals = _recent(employer_money(employer) if money is None else money, since)
    return _money_charts(
        totals,
        key="chart-spend",
        title="Spend per month",
        verb="paid",
        empty_text=f"Nothing paid in the last {MONTHS} months.",
    )


# --- Applicants per posting per week -----------------------------------------------------------


def employer_applicants_charts(
    employer: Employer, newest: list[Posting] | None = None
) -> list[BarChart]:
    """New applicants per week for the employer's most recent postings (two queries, or one
    when ``newest``, the employer's newest postings that are not drafts or rejected, newest
    first, is given: the dashboard's postings panel has read them), on one scale so the
    charts compare."""
    if newest is None:
        postings = list(
            Posting.objects.filter(employer=employer)
            .exclude(status__in=[Posting.Status.DRAFT, Posting.Status.REJECTED])
            .order_by("-created_at", "-id")
            .values("pk", "title")[:POSTINGS]
        )
    else:
        postings = [{"pk": p.pk, "title": p.title} for p in newest[:POSTINGS]]
    if not postings:
        return []
    weeks = _week_starts(timezone.localtime())
    since = timezone.make_aware(dt.datetime.combine(weeks[0], dt.time.min))
    counts: dict[int, dict[dt.date, int]] = defaultdict(dict)
    rows = (
        Application.objects.filter(
            posting_id__in=[p["pk"] for p in postings], created_at__gte=since
        )
        .annotate(week=TruncWeek("created_at"))
        .values("posting_id", "week")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["posting_id"]][_local_date(row["week"])] = row["n"]
    y_max = max((n for per_week in counts.values() for n in per_week.values()), default=0)
    # The weeks' labels are the same on every posting's chart: formatted once.
    labels = [(dateformat.format(w, "j M"), dateformat.format(w, "j F Y")) for w in weeks]
    charts = []
    for posting in postings:
        per_week = counts[posting["pk"]]
        bars = tuple(
            Bar(
                label=label,
                long_label=long_label,
                value=per_week.get(week, 0),
                short_text=str(per_week.get(week, 0)),
                text=str(per_week.get(week, 0)),
            )
            for week, (label, long_label) in zip(weeks, labels, strict=True)
        )
        total = sum(bar.value for bar in bars)
        best = highest(bars)
        summary = f"{total} new applicant{'s' if total != 1 else ''} in the last {WEEKS} weeks" + (
            f"; the most in the week of {best.long_label}: {best.text}." if best else "."
        )
        charts.append(
            BarChart(
                key=f"chart-applicants-{posting['pk']}",
                title=posting["title"],
                summary=summary,
                bars=bars if total else (),
                label_heading="Week of",
                value_heading="New applicants",
                empty_text=f"No new applicants in the last {WEEKS} weeks.",
                y_max=y_max,
            )
        )
    return charts


# --- Time to first response --------------------------------------------------------------------


def employer_response_chart(employer: Employer) -> BarChart:
    """Average hours from application to the employer's first answer, by the month the
    application came in (one query)."""
    now = timezone.localtime()
    rows = list(
        Application.objects.filter(posting__employer=employer, created_at__gte=_since_months(now))
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            wait=Avg(F("employer_responded_at") - F("created_at"), output_field=DurationField()),
            answered=Count("id", filter=Q(employer_responded_at__isnull=False)),
            received=Count("id"),
        )
        .order_by()
    )
    by_month = {_local_date(row["month"]): row for row in rows}
    months = _month_starts(now, min(by_month) if by_month else None)
    bars = []
    for month in months:
        row = by_month.get(month)
        hours = _hours(row["wait"]) if row and row["wait"] is not None else 0.0
        bars.append(
            Bar(
                label=dateformat.format(month, "M"),
                long_label=dateformat.format(month, "F Y"),
                value=hours,
                short_text=_short_duration(hours) if row and row["answered"] else "–",
                text=(
                    f"{_long_duration(hours)} ({row['answered']} of {row['received']} answered)"
                    if row and row["answered"]
                    else (f"none of {row['received']} answered" if row else "no applications")
                ),
            )
        )
    answered = sum(row["answered"] for row in rows)
    received = sum(row["received"] for row in rows)
    slowest = highest(bars)
    summary = f"{answered} of {received} applications since {bars[0].long_label} answered" + (
        f"; the slowest month {slowest.long_label}: {slowest.text}." if slowest else "."
    )
    return BarChart(
        key="chart-response",
        title="Time to first response",
        summary=summary,
        bars=tuple(bars) if answered else (),
        label_heading="Applications received in",
        value_heading="Average time to first answer",
        empty_text="No application answered yet.",
    )


def _hours(value: dt.timedelta) -> float:
    return round(value.total_seconds() / 3600, 1)


def _short_duration(hours: float) -> str:
    if hours < 10:
        return f"{hours:.1f} h"
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} d"


def _long_duration(hours: float) -> str:
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"
