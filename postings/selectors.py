"""Reads about postings that carry logic: who may see what, the public list, recommendations."""

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, F, FloatField, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.http import Http404

from accounts.models import User
from accounts.selectors import employer_for_user, is_member

from .models import Posting, PostingQuerySet, SavedSearch, Skill


def postings_public() -> QuerySet[Posting]:
    """Published postings, with what a list row shows loaded (the employer; the skills' names
    are a column)."""
    return Posting.objects.published().select_related("employer")


# What a list row shows (the card and the API's list), and the sort columns: the list never
# reads the description, the criteria or the search vector of the rows it shows.
LIST_COLUMNS = [
    "id",
    "title",
    "status",
    "format",
    "category",
    "starts_at",
    "duration_hours",
    "effort_hours",
    "hours_per_week",
    "work_mode",
    "location",
    "compensation",
    "amount",
    "currency",
    "application_deadline",
    "openings",
    "seats_filled",
    "skill_names",
    "published_at",
    "updated_at",
    "employer__id",
    "employer__name",
    "employer__verified",
    "employer__response_rate",
    "employer__rating_average",
    "employer__rating_count",
]


def postings_listed() -> QuerySet[Posting]:
    """``postings_public`` reading only the columns the list shows."""
    return postings_public().only(*LIST_COLUMNS)


# The long columns of a posting that only its own page shows: a panel or a list of
# applications that joins the posting leaves them out (``defer``), so a row costs what its
# title and figures cost, not its whole text and search vector.
TEXT_COLUMNS = (
    "description",
    "acceptance_criteria",
    "description_html",
    "criteria_html",
    "search_vector",
)


def without_text(prefix: str = "") -> list[str]:
    """``TEXT_COLUMNS`` for ``QuerySet.defer``, through the relation ``prefix`` (``posting__``)."""
    return [f"{prefix}{name}" for name in TEXT_COLUMNS]


def posting_is_member(*, posting: Posting, user: User | None) -> bool:
    """True when ``user`` acts for the employer that owns ``posting``."""
    if user is None or not getattr(user, "is_employer", False):
        return False  # students and visitors: no query needed
    return is_member(user, posting.employer_id)


def posting_get_visible(
    *, pk: int, user: User | None, queryset: PostingQuerySet | None = None
) -> Posting:
    """The posting if ``user`` may see it (``PostingQuerySet.visible_to``), else Http404: for
    anyone else a posting does not exist (404, not 403, so that its existence does not leak)."""
    base = queryset if queryset is not None else Posting.objects.select_related("employer")
    try:
        return base.visible_to(user).get(pk=pk)
    except (Posting.DoesNotExist, ValueError, TypeError):
        raise Http404("No such posting.") from None


def posting_get_owned(*, pk: int, user: User) -> Posting:
    """A posting that ``user``'s organisation owns (for editing), else Http404."""
    employer = employer_for_user(user)
    if employer is None:
        raise Http404("No such posting.")
    try:
        return Posting.objects.select_related("employer").get(pk=pk, employer=employer)
    except (Posting.DoesNotExist, ValueError, TypeError):
        raise Http404("No such posting.") from None


def postings_search(queryset: QuerySet[Posting], text: str) -> QuerySet[Posting]:
    """Postings matching ``text``: full-text and ranked on PostgreSQL, ``rank`` annotated; on
    SQLite a plain substring match on title, description and skills (rank 0)."""
    text = text.strip()[:200]
    if not text:
        return queryset
    if connection.vendor == "postgresql":
        query = SearchQuery(text, search_type="websearch", config="english")
        # Cast to double precision: the cursor carries the rank, and a float4 written as text
        # and read back would not compare equal to itself.
        return queryset.filter(search_vector=query).annotate(
            rank=Cast(SearchRank(F("search_vector"), query), FloatField())
        )
    return queryset.filter(
        Q(title__icontains=text) | Q(skill_names__icontains=text) | Q(description__icontains=text)
    ).annotate(rank=Value(0.0, output_field=FloatField()))


def search_candidates(
    matches: QuerySet[Posting], *, base: QuerySet[Posting], text: str
) -> tuple[QuerySet[Posting], int]:
    """The search ``matches`` (with their filters) bounded to the newest
    ``POSTINGS_SEARCH_CANDIDATES`` before they are ranked, so that a broad word costs what a
    narrow one does: ranking reads the search vector of every row it ranks, and sorting by rank
    needs all of them. Returns ``base`` narrowed to the candidates, ranked for ``text``, and
    their number (the search's count: each candidate matches).

    A word with fewer matches than the bound (the usual, narrow search) is ranked over all of
    them, so its best match comes first; a broad word is ranked within its newest matches (sort
    by newest to page through all). The newest (by publication, as the list's "newest" sort) are
    found by walking a newest-first index backwards, the one of a filter when there is one (so
    only that filter's postings are read, not every posting), or, for a word the index says is
    rare, by sorting its few matches.
    """
    bound = settings.POSTINGS_SEARCH_CANDIDATES
    # Read once, here: as a subquery the walk would run twice, for the page and for its count.
    newest = list(matches.order_by("-published_at", "-pk").values_list("pk", flat=True)[:bound])
    return postings_search(base.filter(pk__in=newest), text), len(newest)


# The student's recommendations rank at most this many postings that share one of their skills.
RECOMMEND_CANDIDATES = 500

# What the dashboard's recommendations show (``postings/panel_recommended.html``) and sort by.
RECOMMEND_COLUMNS = (
    "id",
    "title",
    "format",
    "compensation",
    "amount",
    "currency",
    "hours_per_week",
    "application_deadline",
)


def _recommend_sql(skill_count: int, *, student: bool) -> str:
    """The ranked recommendations in one statement: for each skill the newest
    ``RECOMMEND_CANDIDATES`` postings carrying it (the link table's (skill, posting) index read
    backwards, a few hundred index entries each), merged into the newest candidates overall,
    each with its number of skills in common (a posting among the newest overall is among the
    newest of each of its skills, so the count is complete); then the fitting ones ranked."""
    # Only table and column names of the models are written into the text; every value is a
    # parameter.
    link = Posting.skills.through._meta.db_table
    skill = Skill._meta.db_table
    posting = Posting._meta.db_table
    per_skill = " UNION ALL ".join(
        f"SELECT * FROM (SELECT posting_id FROM {link} WHERE skill_id ="  # noqa: S608
        f" (SELECT id FROM {skill} WHERE name = %s) ORDER BY posting_id DESC LIMIT %s) s{i}"
        for i in range(skill_count)
    )
    not_applied = ""
    if student:
        applications = Posting._meta.get_field("applications").related_model._meta.db_table
        # NOT IN, not NOT EXISTS: the student's applications hashed once, whatever the
        # planner believes of their number (a nested loop over them per candidate otherwise).
        not_applied = (
            f" AND p.id NOT IN (SELECT posting_id FROM {applications}"  # noqa: S608
            " WHERE student_id = %s)"
        )
    columns = ", ".join(f"p.{name}" for name in RECOMMEND_COLUMNS)
    return (
        f"SELECT {columns}, c.overlap FROM (SELECT posting_id, COUNT(*) AS overlap"  # noqa: S608
        f" FROM ({per_skill}) links GROUP BY posting_id ORDER BY posting_id DESC LIMIT %s) c"
        f" JOIN {posting} p ON p.id = c.posting_id"
        f" WHERE p.status = %s AND p.hours_per_week <= %s{not_applied}"
        " ORDER BY c.overlap DESC, p.application_deadline, p.id LIMIT %s"
    )


def postings_recommended(
    *, skills: list[str], hours_per_week: int, limit: int = 5, student=None
) -> list:
    """Published postings for a student: most skills in common first, fitting their hours,
    without those ``student`` already applied to (read through the reverse relation, so this
    app still imports nothing of applications).

    Ranked within a bounded set, so that the dashboard costs the same at any number of
    postings: the newest ``RECOMMEND_CANDIDATES`` postings sharing a skill (read per skill from
    the link table's (skill, posting) index), topped up, when they are too few, with fitting
    postings that close soonest (no skill in common). Only the columns the panel shows are read.
    """
    names = sorted({s.lower() for s in skills})
    found: list[Posting] = []
    if names:
        params: list = []
        for name in names:
            params += [name, RECOMMEND_CANDIDATES]
        params += [RECOMMEND_CANDIDATES, Posting.Status.PUBLISHED, hours_per_week]
        if student is not None:
            params.append(student.pk)
        params.append(limit)
        sql = _recommend_sql(len(names), student=student is not None)
        found = list(Posting.objects.raw(sql, params))
    if len(found) < limit:
        fitting = (
            Posting.objects.published()
            .filter(hours_per_week__lte=hours_per_week)
            .only(*RECOMMEND_COLUMNS)
        )
        if student is not None:
            fitting = fitting.exclude(applications__student=student)
        found += list(
            fitting.exclude(pk__in=[p.pk for p in found])
            .annotate(overlap=Value(0, output_field=IntegerField()))
            .order_by("application_deadline", "pk")[: limit - len(found)]
        )
    return found


def postings_of_employer(*, employer) -> QuerySet[Posting]:
    return Posting.objects.filter(employer=employer).order_by("-updated_at", "-pk")


def status_counts(*, employer) -> dict[str, int]:
    # COUNT(*), not COUNT(id): the (employer, status) index answers it alone, without reading
    # the rows of an employer's thousands of postings.
    rows = (
        Posting.objects.filter(employer=employer).values("status").annotate(n=Count("*")).order_by()
    )
    return {row["status"]: row["n"] for row in rows}


def moderation_queue() -> dict[str, QuerySet[Posting]]:
    """What moderators look at: postings waiting for review, suspended ones, reported ones."""
    base = Posting.objects.select_related("employer").prefetch_related("reports")
    return {
        "pending": base.filter(status=Posting.Status.PENDING_REVIEW).order_by("submitted_at", "pk"),
        "suspended": base.filter(status=Posting.Status.SUSPENDED).order_by("updated_at", "pk"),
        "reported": base.published().filter(open_reports__gt=0).order_by("-open_reports", "pk"),
    }


def moderation_counts() -> dict[str, int]:
    """How much waits for moderators (one query): for the staff dashboard and navigation."""
    from django.db.models import Count, Q

    return Posting.objects.aggregate(
        pending=Count("pk", filter=Q(status=Posting.Status.PENDING_REVIEW)),
        suspended=Count("pk", filter=Q(status=Posting.Status.SUSPENDED)),
        reported=Count("pk", filter=Q(status=Posting.Status.PUBLISHED, open_reports__gt=0)),
    )


def moderation_next(*, exclude_pk: int | None = None) -> Posting | None:
    """The posting that has waited longest for review (other than ``exclude_pk``)."""
    pending = Posting.objects.filter(status=Posting.Status.PENDING_REVIEW)
    if exclude_pk is not None:
        pending = pending.exclude(pk=exclude_pk)
    return pending.order_by("submitted_at", "pk").first()


# --- Saved searches ------------------------------------------------------------------------------


def saved_searches_of(*, user: User) -> QuerySet[SavedSearch]:
    if not getattr(user, "is_authenticated", False):
        return SavedSearch.objects.none()
    return SavedSearch.objects.filter(user=user).order_by("-created_at", "-pk")


def saved_search_get_own(*, pk: int, user: User) -> SavedSearch:
    """The user's own saved search, else Http404 (another user's does not exist for them)."""
    try:
        return saved_searches_of(user=user).get(pk=pk)
    except (SavedSearch.DoesNotExist, ValueError, TypeError):
        raise Http404("No such saved search.") from None


def report_open_by(*, posting: Posting, user: User):
    """``user``'s open (not yet resolved) report of ``posting``, if any."""
    return posting.reports.filter(reporter=user, resolved_at__isnull=True).first()
