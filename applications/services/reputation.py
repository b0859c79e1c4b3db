"""The employer's response rate and average rating, stored on ``Employer``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, F, Q

from accounts.models import Employer
from accounts.services import employer_stats_set
from postings.models import Posting

from ..models import (
    Application,
    Rating,
)
from ._helpers import AppStatus


def employer_stats_refresh(*, employer: Employer | int) -> None:
    """Recompute the employer's response rate and average rating and store them on Employer.

    Response rate: of the applications that were due an answer (the employer answered them,
    or their posting closed), the share the employer answered (shortlist, offer or reject)
    before the posting closed. Applications the student withdrew before any answer do not
    count. Average rating: the students' published ratings.
    """
    employer_id = employer if isinstance(employer, int) else employer.pk
    closed = [Posting.Status.CLOSED, Posting.Status.REMOVED]
    due = (
        Application.objects.filter(posting__employer_id=employer_id)
        .exclude(status=AppStatus.WITHDRAWN, employer_responded_at__isnull=True)
        .filter(Q(employer_responded_at__isnull=False) | Q(posting__status__in=closed))
    )
    figures = due.aggregate(
        total=Count("pk"),
        answered=Count(
            "pk",
            filter=Q(employer_responded_at__isnull=False)
            & (
                Q(posting__closed_at__isnull=True)
                | Q(employer_responded_at__lte=F("posting__closed_at"))
            ),
        ),
    )
    rate = round(100 * figures["answered"] / figures["total"]) if figures["total"] else None
    ratings = Rating.objects.filter(
        employer_id=employer_id, direction=Rating.Direction.BY_STUDENT, published_at__isnull=False
    ).aggregate(avg=Avg("score"), count=Count("pk"))
    average = (
        Decimal(str(ratings["avg"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if ratings["avg"] is not None
        else None
    )
    employer_obj = Employer(pk=employer_id)
    employer_stats_set(
        employer=employer_obj,
        response_rate=rate,
        rating_average=average,
        rating_count=ratings["count"],
    )
