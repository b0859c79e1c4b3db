import io

import pytest
from django.core.management import call_command

from postings.models import Posting
from tests.factories import StudentProfileFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_published_postings_in_every_format_once():
    call_command("seed_demo", stdout=io.StringIO())
    first = set(Posting.objects.values_list("pk", "status"))
    call_command("seed_demo", stdout=io.StringIO())
    assert set(Posting.objects.values_list("pk", "status")) == first  # idempotent
    postings = Posting.objects.all()
    # One waits for review (the moderation queue's demo); the rest are published, except that
    # the applications demo may fill the seats of one (closed as filled).
    pending = [p for p in postings if p.status == "pending_review"]
    assert [p.title for p in pending] == ["Photograph our three community solar sites"]
    for posting in postings.exclude(pk=pending[0].pk):
        assert posting.status == "published" or posting.close_reason == "filled", posting
    assert {p.format for p in postings} == {"nano", "micro", "project", "internship"}
    assert {p.compensation for p in postings} == {"paid", "credit"}
    assert {p.employer.name for p in postings} == {
        "Northwind Analytics",
        "Greenleaf Energy Co-op",
    }
    for posting in postings:
        if posting.is_paid:
            assert sum(m.amount for m in posting.milestones.all()) == posting.amount
            assert posting.pay_per_hour >= 2000


def test_seed_bulk_creates_varied_published_postings():
    out = io.StringIO()
    call_command("seed_bulk", postings=60, batch_size=25, stdout=out)
    assert "Added 60 postings." in out.getvalue()
    postings = list(Posting.objects.prefetch_related("skills", "milestones"))
    assert len(postings) == 60
    assert {p.status for p in postings} == {"published"}
    assert len({p.format for p in postings}) == 4
    for posting in postings:
        assert posting.skill_names == ", ".join(sorted(s.name for s in posting.skills.all()))
        assert [m.amount for m in posting.milestones.all()] == [posting.amount]
        assert posting.application_deadline < posting.starts_at


def test_bulk_postings_appear_in_the_list_and_recommendations(client):
    call_command("seed_bulk", postings=30, stdout=io.StringIO())
    assert client.get("/postings/?page_size=50").status_code == 200
    student = StudentProfileFactory(skills=["python", "sql"], hours_per_week=40).user
    client.force_login(student)
    from postings.selectors import postings_recommended

    recommended = postings_recommended(skills=["python", "sql"], hours_per_week=40)
    assert recommended and recommended[0].overlap >= recommended[-1].overlap
