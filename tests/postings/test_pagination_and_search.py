import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.utils import timezone

from postings import services
from postings.models import Posting
from postings.pagination import InvalidCursor, paginate
from postings.selectors import postings_public, postings_search
from tests.factories import EmployerUserFactory, PostingFactory
from tests.postings.helpers import valid_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def postings():
    now = timezone.now()
    # Ties on purpose: equal amounts, equal deadlines, equal publication times.
    return [
        PostingFactory(
            amount=10000 * (i % 3 + 1),
            application_deadline=now + dt.timedelta(days=3 + i % 2),
            published_at=now - dt.timedelta(hours=i // 2),
            effort_hours=2,
        )
        for i in range(11)
    ]


@pytest.mark.parametrize("sort", ["newest", "deadline", "pay"])
@pytest.mark.parametrize("size", [1, 3, 50])
def test_walking_forward_and_back_visits_each_posting_once(postings, sort, size):
    pages, cursor = [], None
    while True:
        page = paginate(postings_public(), sort=sort, cursor=cursor, page_size=size)
        pages.append(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    forward = [p.pk for page in pages for p in page.items]
    assert sorted(forward) == sorted(p.pk for p in postings)
    assert len(forward) == len(set(forward))
    field = {"newest": "-published_at", "deadline": "application_deadline", "pay": "-amount"}[sort]
    expected = list(
        Posting.objects.order_by(field, "-pk" if field.startswith("-") else "pk").values_list(
            "pk", flat=True
        )
    )
    assert forward == expected
    assert pages[0].previous_cursor is None
    # Back from the last page gives the page before it, in the same order.
    if len(pages) > 1:
        back = paginate(
            postings_public(), sort=sort, cursor=pages[-1].previous_cursor, page_size=size
        )
        assert [p.pk for p in back.items] == [p.pk for p in pages[-2].items]


def test_a_foreign_cursor_is_refused():
    for cursor in ["%%%", "e30", "WzEsIngiLCJuIl0"]:
        with pytest.raises(InvalidCursor):
            paginate(postings_public(), sort="newest", cursor=cursor, page_size=5)


def test_search_finds_words_in_title_skills_and_description():
    member = EmployerUserFactory()
    values = valid_values(
        title="Inventory forecasting model",
        description="Help our bakery plan flour orders for the winter season.",
        skills=["time series"],
    )
    posting = services.posting_create(employer=member.employers.get(), actor=member, values=values)
    Posting.objects.filter(pk=posting.pk).update(status="published", published_at=timezone.now())
    PostingFactory(title="Unrelated logo design", description="Draw a logo for a shop window.")
    for word in ["forecasting", "bakery", "series", "flour"]:
        assert [p.pk for p in postings_search(postings_public(), word)] == [posting.pk], word


@pytest.mark.postgres
def test_postgres_search_is_ranked_title_over_skills_over_description():
    member = EmployerUserFactory()
    employer = member.employers.get()
    made = {}
    for key, title, skills, description in [
        ("title", "Pricing analysis for a cafe", [], "Study the menu and the cost of each dish."),
        ("skill", "Menu study", ["pricing"], "Study the menu and the cost of each dish."),
        ("description", "Menu study two", [], "Look at pricing of the menu items carefully."),
    ]:
        posting = services.posting_create(
            employer=employer,
            actor=member,
            values=valid_values(title=title, skills=skills, description=description),
        )
        made[key] = posting.pk
    Posting.objects.update(status="published", published_at=timezone.now())
    ranked = [p.pk for p in postings_search(postings_public(), "pricing").order_by("-rank")]
    assert ranked == [made["title"], made["skill"], made["description"]]
    # Stemming: "priced" finds "pricing".
    assert len(postings_search(postings_public(), "priced")) == 3
    # The stored vector follows an edit.
    posting = Posting.objects.get(pk=made["title"])
    Posting.objects.filter(pk=posting.pk).update(status="draft")
    services.posting_update(
        posting=posting, actor=member, values=valid_values(title="Coffee roasting plan")
    )
    Posting.objects.filter(pk=posting.pk).update(status="published")
    assert made["title"] not in [p.pk for p in postings_search(postings_public(), "pricing")]


@pytest.mark.postgres
def test_postgres_relevance_pages_do_not_repeat():
    member = EmployerUserFactory()
    for i in range(7):
        services.posting_create(
            employer=member.employers.get(),
            actor=member,
            values=valid_values(
                title=f"Survey {i}", description="survey " * (i % 3 + 1) + "of our customers."
            ),
        )
    Posting.objects.update(status="published", published_at=timezone.now())
    seen, cursor = [], None
    while True:
        page = paginate(
            postings_search(postings_public(), "survey"),
            sort="relevance",
            cursor=cursor,
            page_size=2,
        )
        seen += [p.pk for p in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == 7 == len(set(seen))


@pytest.mark.postgres
def test_gin_index_exists_on_postgres():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'posting_search_gin'")
        (definition,) = cursor.fetchone()
    assert "gin" in definition.lower() and "search_vector" in definition


@pytest.mark.postgres
def test_postgres_search_ranks_within_the_newest_candidates(client, settings):
    """A narrow word (fewer matches than the bound) has its best match first, however old; a
    broad word is ranked within its newest matches only, so its cost does not grow with them."""
    settings.POSTINGS_SEARCH_CANDIDATES = 3
    member = EmployerUserFactory()

    def make(title, description):
        return services.posting_create(
            employer=member.employers.get(),
            actor=member,
            values=valid_values(title=title, description=description),
        ).pk

    # The oldest, but the only one with the word in its title.
    best_narrow = make("Pricing study", "Study the menu of a small cafe.")
    others = [make(f"Menu study {i}", f"Look at the pricing of the menu, {i}.") for i in range(2)]
    broad = [make(f"Report {i}", "Analyse the answers of the survey.") for i in range(5)]
    Posting.objects.update(status="published", published_at=timezone.now())

    narrow = client.get("/api/v1/postings/?q=pricing").json()["results"]
    assert [p["id"] for p in narrow][0] == best_narrow
    assert sorted(p["id"] for p in narrow) == sorted([best_narrow, *others])

    ranked = client.get("/api/v1/postings/?q=survey").json()["results"]
    assert sorted(p["id"] for p in ranked) == sorted(broad[-3:])  # the newest three
    every = client.get("/api/v1/postings/?q=survey&sort=newest&page_size=50").json()["results"]
    assert len(every) == 5


@pytest.mark.postgres
def test_the_skill_filter_follows_the_skills_as_they_are_saved(client):
    """On PostgreSQL the filter reads the posting's skill vector: it is written with every save
    that sets the skills (create, update, duplicate) and by ``refresh_search_vectors``."""
    from django.core.management import call_command

    member = EmployerUserFactory()
    employer = member.employers.get()

    def shown(query: str) -> list[int]:
        response = client.get(f"/api/v1/postings/?{query}")
        assert response.status_code == 200, response.content
        return sorted(p["id"] for p in response.json()["results"])

    made = services.posting_create(
        employer=employer, actor=member, values=valid_values(skills=["python", "sql"])
    )
    other = services.posting_create(
        employer=employer, actor=member, values=valid_values(skills=["figma"])
    )
    Posting.objects.update(status="published", published_at=timezone.now())
    assert shown("skill=python") == [made.pk]
    assert shown("skill=python&skill=figma") == sorted([made.pk, other.pk])
    assert shown("skill=figma&q=survey") == [other.pk]

    Posting.objects.filter(pk=made.pk).update(status="draft")  # editable again
    made.refresh_from_db()
    services.posting_update(posting=made, actor=member, values=valid_values(skills=["figma"]))
    Posting.objects.filter(pk=made.pk).update(status="published")
    assert shown("skill=python") == []
    assert shown("skill=figma") == sorted([made.pk, other.pk])
    copy = services.posting_duplicate(posting=other, actor=member)
    Posting.objects.filter(pk=copy.pk).update(status="published", published_at=timezone.now())
    assert shown("skill=figma") == sorted([made.pk, other.pk, copy.pk])

    # A vector lost (say, written by code before the column) is made again by the command.
    Posting.objects.update(skill_vector=None)
    assert shown("skill=figma") == []
    out = io.StringIO()
    call_command("refresh_search_vectors", stdout=out)
    assert "recomputed" in out.getvalue()
    assert shown("skill=figma") == sorted([made.pk, other.pk, copy.pk])


@pytest.mark.postgres
def test_a_search_by_relevance_counts_its_candidates_without_a_count_query(client, settings):
    from django.test.utils import CaptureQueriesContext

    settings.POSTINGS_SEARCH_CANDIDATES = 3
    for i in range(5):
        PostingFactory(title=f"Survey report {i}")
    PostingFactory(title="Bookkeeping", description="Reconcile the accounts of a quarter.")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/postings/?q=survey&page_size=2").content.decode()
    assert "<strong>3</strong> postings" in page  # the bounded candidates it ranks
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"]]
    # Sorted otherwise, a search counts every match.
    page = client.get("/postings/?q=survey&page_size=2&sort=newest").content.decode()
    assert "<strong>5</strong> postings" in page, re.findall(r"result-count.{0,80}", page)
