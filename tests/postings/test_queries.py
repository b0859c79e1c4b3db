"""The number of queries of the list, the API list and the details does not grow with the data
or the page size: at most 6, for 10 and 1,000 postings and page sizes 1 and 50."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from postings.models import Posting, PostingMilestone, Skill
from tests.factories import EmployerFactory, PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db


def make_postings(n: int) -> None:
    """``n`` published postings from 3 employers with 1 to 3 skills each, fast."""
    employers = [EmployerFactory() for _ in range(3)]
    skills = [Skill.objects.create(name=f"skill {i}", slug=f"skill-{i}") for i in range(8)]
    now = timezone.now()
    postings = Posting.objects.bulk_create(
        Posting(
            employer=employers[i % 3],
            title=f"Posting number {i}",
            description="Analyse survey answers and write the findings up.",
            acceptance_criteria="A report.",
            status=Posting.Status.PUBLISHED,
            starts_at=now + dt.timedelta(days=20),
            duration_hours=336,
            format="micro",
            effort_hours=20,
            hours_per_week=10,
            application_deadline=now + dt.timedelta(days=10, minutes=i),
            amount=50000 + i,
            currency="USD",
            published_at=now - dt.timedelta(minutes=i),
        )
        for i in range(n)
    )
    through = Posting.skills.through
    through.objects.bulk_create(
        through(posting_id=p.pk, skill_id=s.pk)
        for i, p in enumerate(postings)
        for s in itertools.islice(itertools.cycle(skills), i % 8, i % 8 + 1 + i % 3)
    )
    PostingMilestone.objects.bulk_create(
        PostingMilestone(posting=p, title="All", due_offset_hours=336, amount=p.amount)
        for p in postings
    )


SIZES = [(10, 1), (10, 50), (1000, 1), (1000, 50)]


@pytest.mark.parametrize("n,page_size", SIZES)
@pytest.mark.parametrize("signed_in", [False, True])
def test_list_page_queries(client, django_assert_max_num_queries, n, page_size, signed_in):
    make_postings(n)
    if signed_in:
        client.force_login(StudentFactory())
    with django_assert_max_num_queries(6):
        response = client.get(f"/postings/?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.context["page"].items) == min(n, page_size)
    # A filtered, searched second page costs the same.
    next_link = response.context["next_link"]
    if next_link:
        with django_assert_max_num_queries(6):
            response = client.get(f"/postings/{next_link}&skill=skill-1&q=survey&sort=newest")
        assert response.status_code == 200


@pytest.mark.parametrize("n,page_size", SIZES)
@pytest.mark.parametrize("signed_in", [False, True])
def test_api_list_queries(client, django_assert_max_num_queries, n, page_size, signed_in):
    make_postings(n)
    if signed_in:
        client.force_login(StudentFactory())
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/v1/postings/?page_size={page_size}")
    body = response.json()
    assert len(body["results"]) == min(n, page_size)
    if body["next"]:
        with django_assert_max_num_queries(6):
            response = client.get(body["next"] + "&skill=skill-2&format=micro")
        assert response.status_code == 200


@pytest.mark.parametrize("n", [10, 1000])
@pytest.mark.parametrize("signed_in", [False, True])
def test_detail_queries(client, django_assert_max_num_queries, n, signed_in):
    make_postings(n)
    posting = PostingFactory(skills=["a", "b", "c"], questions=["Why?", "How?"])
    if signed_in:
        client.force_login(StudentFactory())
    # 7: a student's page also looks up their application (to show the form or the one sent).
    with django_assert_max_num_queries(7):
        assert client.get(f"/postings/{posting.pk}/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(f"/api/v1/postings/{posting.pk}/").status_code == 200
