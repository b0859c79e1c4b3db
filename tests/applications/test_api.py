"""The API walks the same journey as the pages, with the one error format, and is described in
the OpenAPI schema."""

import pytest
from django.core.files.base import ContentFile

from accounts.services import api_token_create
from applications.models import Application, Assignment
from tests.applications.factories import ApplicationFactory, employer_of, pdf, walk_to
from tests.factories import CreditPostingFactory, PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db

COVER = "I built three dashboards for a retailer and I would enjoy doing this one."


def _token_client(client, user):
    _token, key = api_token_create(user=user, actor=user, name="Tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


def test_full_journey_over_the_api(client):
    posting = CreditPostingFactory(questions=["Which tools?"])
    question = posting.questions.get()
    employer = employer_of(posting)
    student = StudentFactory()
    client.force_login(student)
    response = client.post(
        "/api/v1/applications/",
        {
            "posting": posting.pk,
            "cover_note": COVER,
            "answers": {str(question.pk): "Python"},
            "portfolio_links": ["https://github.com/me"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    app_id = response.json()["id"]
    assert response.json()["status"] == "submitted"

    client.force_login(employer)
    listing = client.get(f"/api/v1/applications/?posting={posting.pk}").json()
    assert [a["id"] for a in listing["results"]] == [app_id]
    assert client.post(f"/api/v1/applications/{app_id}/shortlist/").json()["status"] == (
        "shortlisted"
    )
    offer = client.post(
        f"/api/v1/applications/{app_id}/offer/", {}, content_type="application/json"
    )
    assert offer.json()["status"] == "offered" and offer.json()["offer_expires_at"]

    client.force_login(student)
    accepted = client.post(f"/api/v1/applications/{app_id}/accept/")
    assert accepted.status_code == 200
    assignment = accepted.json()
    assert assignment["status"] == "active"
    milestone_id = assignment["milestones"][0]["id"]
    submitted = client.post(
        f"/api/v1/milestones/{milestone_id}/submit/",
        {"note": "Done", "links": ["https://example.com/r"], "files": [pdf()]},
    )
    assert submitted.status_code == 201
    assert submitted.json()["version"] == 1
    file_url = submitted.json()["files"][0]["download_url"]

    client.force_login(employer)
    download = client.get(file_url)
    assert download.status_code == 200
    b"".join(download.streaming_content)
    revision = client.post(
        f"/api/v1/milestones/{milestone_id}/request-revision/",
        {"feedback": "Add a summary."},
        content_type="application/json",
    )
    assert revision.json()["status"] == "revision_requested"
    client.force_login(student)
    client.post(f"/api/v1/milestones/{milestone_id}/submit/", {"links": ["https://example.com/2"]})
    client.force_login(employer)
    approved = client.post(f"/api/v1/milestones/{milestone_id}/approve/")
    assert approved.json()["status"] == "approved"
    versions = client.get(f"/api/v1/submissions/?milestone={milestone_id}").json()["results"]
    assert [(v["version"], v["outcome"]) for v in versions] == [
        (2, "approved"),
        (1, "revision_requested"),
    ]
    assignment_id = assignment["id"]
    rated = client.post(
        "/api/v1/ratings/",
        {"assignment": assignment_id, "score": 5, "comment": "Great"},
        content_type="application/json",
    )
    assert rated.status_code == 201 and rated.json()["published"] is False
    client.force_login(student)
    # The employer's rating is hidden from the student until they rate too.
    assert client.get(f"/api/v1/ratings/?assignment={assignment_id}").json()["results"] == []
    client.post(
        "/api/v1/ratings/",
        {"assignment": assignment_id, "score": 4},
        content_type="application/json",
    )
    ratings = client.get(f"/api/v1/ratings/?assignment={assignment_id}").json()["results"]
    assert sorted(r["score"] for r in ratings) == [4, 5]
    assert client.get(f"/api/v1/assignments/{assignment_id}/").json()["status"] == "completed"


def test_errors_use_the_one_format(client):
    application = walk_to(ApplicationFactory(), Application.Status.REJECTED)
    client.force_login(employer_of(application.posting))
    response = client.post(f"/api/v1/applications/{application.pk}/offer/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition" and "rejected" in body["message"]
    client.force_login(application.student)
    response = client.post(f"/api/v1/applications/{application.pk}/shortlist/")
    assert response.status_code == 403 and response.json()["code"] == "not_permitted"
    response = client.post(
        "/api/v1/applications/",
        {"posting": PostingFactory(questions=["Q?"]).pk, "cover_note": COVER},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "answers" and response.json()["fields"]


def test_token_auth_and_cv_upload(client):
    posting = PostingFactory()
    student = StudentFactory()
    _token_client(client, student)
    response = client.post(
        "/api/v1/applications/",
        {"posting": posting.pk, "cover_note": COVER, "cv": pdf("cv.pdf")},
    )
    assert response.status_code == 201
    assert response.json()["cv_url"] == f"/applications/{response.json()['id']}/cv/"


def test_cancel_by_agreement_over_the_api(client):
    application = walk_to(ApplicationFactory(), Application.Status.OFFERED)
    assignment = walk_to(application, Application.Status.ACCEPTED)
    client.force_login(application.student)
    body = client.post(f"/api/v1/assignments/{assignment.pk}/cancel/").json()
    assert body["status"] == "awaiting_funding"
    client.force_login(employer_of(application.posting))
    body = client.post(f"/api/v1/assignments/{assignment.pk}/cancel/").json()
    assert body["status"] == "cancelled"
    assert Assignment.objects.get().status == "cancelled"


def test_schema_describes_every_resource(client):
    client.force_login(StudentFactory())
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in [
        "/api/v1/applications/",
        "/api/v1/applications/{id}/accept/",
        "/api/v1/applications/{id}/offer/",
        "/api/v1/assignments/{id}/",
        "/api/v1/assignments/{id}/cancel/",
        "/api/v1/milestones/{id}/submit/",
        "/api/v1/milestones/{id}/request-revision/",
        "/api/v1/milestones/{id}/dispute/",
        "/api/v1/submissions/",
        "/api/v1/submission-files/{id}/download/",
        "/api/v1/ratings/",
        "/api/v1/messages/",
    ]:
        assert path in paths, path
    submit = paths["/api/v1/milestones/{id}/submit/"]["post"]
    assert "multipart/form-data" in submit["requestBody"]["content"]


def test_the_employer_downloads_a_cv_with_a_token(client):
    posting = PostingFactory()
    student = StudentFactory()
    application = ApplicationFactory(posting=posting, student=student)
    application.cv.save("cv.pdf", ContentFile(b"%PDF-1.4 my cv\n%%EOF\n"), save=False)
    application.cv_name = "Ana CV.pdf"
    application.save(update_fields=["cv", "cv_name"])
    _token_client(client, employer_of(posting))
    response = client.get(f"/api/v1/applications/{application.pk}/cv/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.4 my cv")
    assert response["Content-Disposition"].startswith("attachment")
    _token_client(client, StudentFactory())
    assert client.get(f"/api/v1/applications/{application.pk}/cv/").status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("Ana CV.pdf", b"%PDF-1.4 my cv\n%%EOF\n", "application/pdf"),
        ("cv.md", b"# Ana\n", "text/markdown"),
    ],
)
def test_a_cv_is_downloaded_with_its_own_content_type(client, name, content, content_type):
    application = ApplicationFactory(posting=PostingFactory(), student=StudentFactory())
    application.cv.save(name, ContentFile(content), save=False)
    application.cv_name = name
    application.save(update_fields=["cv", "cv_name"])
    employer = employer_of(application.posting)
    _token_client(client, employer)
    response = client.get(f"/api/v1/applications/{application.pk}/cv/", HTTP_ACCEPT=content_type)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == content
    client.defaults.pop("HTTP_AUTHORIZATION")
    client.force_login(employer)
    page = client.get(f"/applications/{application.pk}/cv/")
    assert page["Content-Type"] == content_type
    assert b"".join(page.streaming_content) == content
