import pytest
from rest_framework.test import APIClient

from postings.models import Posting, Report
from tests.factories import EmployerUserFactory, PostingFactory, StaffFactory, StudentFactory
from tests.postings.helpers import api_payload

pytestmark = pytest.mark.django_db
URL = "/api/v1/postings/"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def member(api):
    user = EmployerUserFactory()
    api.force_authenticate(user)
    return user


def test_public_list_and_detail_without_login(api):
    posting = PostingFactory(skills=["sql"])
    PostingFactory(status="draft")
    body = api.get(URL).json()
    assert [r["id"] for r in body["results"]] == [posting.pk]
    row = body["results"][0]
    assert row["format"] == "micro"
    assert row["pay_per_hour"] == 2500
    assert row["skills"] == ["sql"]
    assert row["employer"]["verified"] is False
    detail = api.get(f"{URL}{posting.pk}/").json()
    assert detail["milestones"][0]["amount"] == 50000
    assert "flags" not in detail


def test_create_update_submit_withdraw(api, member):
    response = api.post(URL, api_payload(), format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert response.json()["status"] == "draft"
    assert len(response.json()["milestones"]) == 2

    response = api.patch(f"{URL}{pk}/", {"title": "Survey analysis v2"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Survey analysis v2"
    assert len(response.json()["milestones"]) == 2  # untouched

    assert api.post(f"{URL}{pk}/submit/").json()["status"] == "pending_review"
    assert api.post(f"{URL}{pk}/submit/").json()["status"] == "pending_review"  # twice
    # No longer editable: a 409 with the reason.
    response = api.patch(f"{URL}{pk}/", {"title": "Too late now"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"

    duplicate = api.post(f"{URL}{pk}/duplicate/")
    assert duplicate.status_code == 201 and duplicate.json()["status"] == "draft"
    assert api.post(f"{URL}{pk}/withdraw/").json()["status"] == "closed"
    mine = api.get(f"{URL}mine/").json()
    assert {p["status"] for p in mine} == {"closed", "draft"}


@pytest.mark.parametrize(
    "changes,field,fragment",
    [
        ({"duration_hours": 0}, "duration_hours", "from 1 hour to 12 weeks"),
        ({"duration_hours": 2017}, "duration_hours", "from 1 hour to 12 weeks"),
        ({"amount": 0, "milestones": []}, "amount", "positive amount"),
        ({"amount": -1, "milestones": []}, "amount", "positive amount"),
        ({"amount": 10**13, "milestones": []}, "amount", "above the limit"),
        ({"currency": "XYZ"}, "currency", "not a supported currency"),
        ({"currency": "DOLLARS"}, "currency", "no more than 3 characters"),
        (
            {"milestones": [{"title": "A", "due_offset_hours": 24, "amount": 100}]},
            "milestones",
            "must be equal",
        ),
        ({"application_deadline": "2099-01-01T00:00:00Z"}, "application_deadline", "before"),
        ({"title": "x" * 121}, "title", "no more than 120"),
        ({"description": "x" * 20001}, "description", "no more than 20000"),
        ({"duration_hours": "many"}, "duration_hours", "valid integer"),
        ({"starts_at": "tomorrow"}, "starts_at", "Datetime has wrong format"),
        ({"amount": 10**30}, "amount", "less than or equal"),
    ],
)
def test_create_refuses_bad_input_with_the_field(api, member, changes, field, fragment):
    response = api.post(URL, api_payload(**changes), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert set(body) == {"message", "code", "fields"}
    assert any(fragment in str(m) for m in body["fields"][field]), body
    assert not Posting.objects.exists()


def test_students_cannot_create(api):
    api.force_authenticate(StudentFactory())
    response = api.post(URL, api_payload(), format="json")
    assert response.status_code == 403
    assert not Posting.objects.exists()


def test_anonymous_cannot_create(api):
    assert api.post(URL, api_payload(), format="json").status_code in (401, 403)


def test_moderation_through_the_api(api):
    member = EmployerUserFactory()
    posting = PostingFactory(employer=member.employers.get(), status="pending_review")
    api.force_authenticate(member)
    assert api.post(f"{URL}{posting.pk}/approve/").status_code == 403
    api.force_authenticate(StaffFactory())
    queue = api.get(f"{URL}moderation-queue/").json()
    assert [p["id"] for p in queue["pending"]] == [posting.pk]
    response = api.post(f"{URL}{posting.pk}/reject/", {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = api.post(
        f"{URL}{posting.pk}/request-changes/", {"reason": "Name the tools."}, format="json"
    )
    assert response.json()["status"] == "changes_requested"
    assert response.json()["moderation_reason"] == "Name the tools."
    assert api.post(f"{URL}{posting.pk}/approve/").json()["status"] == "published"
    response = api.post(f"{URL}{posting.pk}/reinstate/")
    assert response.status_code == 200  # already published: nothing to do
    assert api.post(f"{URL}{posting.pk}/suspend/", {"reason": "x"}).json()["status"] == "suspended"
    assert api.post(f"{URL}{posting.pk}/reinstate/").json()["status"] == "published"
    assert api.post(f"{URL}{posting.pk}/remove/", {"reason": "y"}).json()["status"] == "removed"
    response = api.post(f"{URL}{posting.pk}/approve/")
    assert response.status_code == 409


def test_reports_through_the_api(api, settings):
    settings.REPORTS_TO_SUSPEND = 2
    posting = PostingFactory()
    assert api.post(f"{URL}{posting.pk}/reports/", {"reason": "x"}).status_code in (401, 403)
    first = StudentFactory()
    api.force_authenticate(first)
    assert api.post(f"{URL}{posting.pk}/reports/", {"reason": ""}).status_code == 400
    assert api.post(f"{URL}{posting.pk}/reports/", {"reason": "Fee."}).status_code == 201
    assert api.post(f"{URL}{posting.pk}/reports/", {"reason": "Fee."}).status_code == 409
    assert Report.objects.count() == 1  # the same user reporting again counts once
    api.force_authenticate(StudentFactory())
    api.post(f"{URL}{posting.pk}/reports/", {"reason": "Asks for money."})
    posting.refresh_from_db()
    assert posting.status == "suspended"
    # A suspended posting is no longer public.
    api.force_authenticate(None)
    assert api.get(f"{URL}{posting.pk}/").status_code == 404


def test_filters_and_cursor_pages(api):
    for n in range(5):
        PostingFactory(title=f"Posting {n}", amount=10000 * (n + 1), effort_hours=2)
    PostingFactory(
        title="Credit one",
        compensation="credit",
        amount=0,
        milestones=[],
        credit_arrangement="3 ECTS from the university.",
    )
    seen = []
    url = f"{URL}?page_size=2&sort=pay&compensation=paid"
    while url:
        body = api.get(url).json()
        seen += [r["amount"] for r in body["results"]]
        url = body["next"]
    assert seen == [50000, 40000, 30000, 20000, 10000]
    body = api.get(f"{URL}?format=micro&min_pay=250&page_size=50").json()
    assert [r["amount"] for r in body["results"]] == [50000, 40000, 30000]


def test_schema_lists_the_postings_endpoints(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    import json

    paths = json.loads(response.content)["paths"] if response.content.startswith(b"{") else None
    if paths is None:
        import yaml

        paths = yaml.safe_load(response.content)["paths"]
    for path in [
        "/api/v1/postings/",
        "/api/v1/postings/{id}/",
        "/api/v1/postings/{id}/submit/",
        "/api/v1/postings/{id}/withdraw/",
        "/api/v1/postings/{id}/approve/",
        "/api/v1/postings/{id}/request-changes/",
        "/api/v1/postings/{id}/reports/",
        "/api/v1/postings/mine/",
    ]:
        assert path in paths, path
    params = {p["name"] for p in paths["/api/v1/postings/"]["get"]["parameters"]}
    assert {"q", "format", "skill", "min_pay", "cursor", "page_size", "sort"} <= params
