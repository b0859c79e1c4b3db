"""Every API error has the documented body ``{"message", "code", "fields"}``: an invalid cursor
(400 on every list), a body that is too large (413), an upload whose name has nothing usable
(400), a forbidden status move (409); creating what exists already is a 409 with the existing
object, never a 201 with other values."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from applications.models import Rating
from postings.models import Report
from tests.applications.factories import active_assignment, first_milestone
from tests.applications.test_ratings_record_messages import completed
from tests.factories import PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db


def _error(response, status, code):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"message", "code", "fields"} and body["message"]
    assert body["code"] == code
    return body


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/postings/",
        "/api/v1/applications/",
        "/api/v1/assignments/",
        "/api/v1/milestones/",
        "/api/v1/submissions/",
        "/api/v1/ratings/",
        "/api/v1/messages/",
        "/api/v1/notifications/",
        "/api/v1/payments/fundings/",
        "/api/v1/payments/payouts/",
    ],
)
def test_an_invalid_cursor_is_a_400_on_every_list(client, url):
    client.force_login(StudentFactory())
    body = _error(client.get(url, {"cursor": "not-a-cursor"}), 400, "invalid")
    assert list(body["fields"]) == ["cursor"]


def test_a_body_that_is_too_large_is_a_413_in_the_error_format(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assignment = active_assignment()
    client.force_login(assignment.student)
    response = client.post(
        "/api/v1/messages/",
        {"application": assignment.application_id, "body": "x" * 5000},
        content_type="application/json",
    )
    _error(response, 413, "too_large")


def test_an_upload_without_a_usable_name_is_a_400_in_the_error_format(client):
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    client.force_login(assignment.student)
    upload = SimpleUploadedFile("   ", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    response = client.post(f"/api/v1/milestones/{milestone.pk}/submit/", {"files": [upload]})
    body = _error(response, 400, "file_name_invalid")
    assert "files" in body["fields"]
    milestone.refresh_from_db()
    assert milestone.status == "open"


def test_a_forbidden_status_move_is_a_409(client):
    assignment = active_assignment()
    client.force_login(assignment.student)
    response = client.post(f"/api/v1/applications/{assignment.application_id}/withdraw/")
    _error(response, 409, "invalid_transition")


def test_a_second_rating_is_a_409_with_the_existing_one(client):
    assignment = completed()
    client.force_login(assignment.student)
    first = client.post(
        "/api/v1/ratings/",
        {"assignment": assignment.pk, "score": 5, "comment": "Great team."},
        content_type="application/json",
    )
    assert first.status_code == 201
    second = client.post(
        "/api/v1/ratings/",
        {"assignment": assignment.pk, "score": 1, "comment": "Changed my mind."},
        content_type="application/json",
    )
    body = _error(second, 409, "exists")
    assert body["existing"] == first.json()
    assert Rating.objects.get().score == 5


def test_a_second_report_is_a_409_with_the_existing_one(client):
    posting = PostingFactory()
    client.force_login(StudentFactory())
    url = f"/api/v1/postings/{posting.pk}/reports/"
    first = client.post(url, {"reason": "Looks like spam to me."}, content_type="application/json")
    assert first.status_code == 201
    second = client.post(url, {"reason": "Something else."}, content_type="application/json")
    body = _error(second, 409, "exists")
    assert body["existing"] == first.json()
    assert Report.objects.get().reason == "Looks like spam to me."


# Every status-changing endpoint, from a state that does not allow the move: 409 with the body,
# and nothing changed. (who acts, URL, body) for an accepted application, its assignment's first
# milestone still open (nothing submitted), and its published posting. (Accepting an accepted
# application again answers with its assignment: a repeat of a move done, not a forbidden one.
# Staff see no milestone without a dispute: deciding one is a 404 for them, like a missing one.)
FORBIDDEN_MOVES = [
    ("student", "/api/v1/applications/{application}/withdraw/", {}),
    ("student", "/api/v1/applications/{application}/decline/", {}),
    ("employer", "/api/v1/applications/{application}/shortlist/", {}),
    ("employer", "/api/v1/applications/{application}/reject/", {}),
    ("employer", "/api/v1/applications/{application}/offer/", {}),
    ("employer", "/api/v1/milestones/{milestone}/approve/", {}),
    ("employer", "/api/v1/milestones/{milestone}/request-revision/", {"feedback": "More."}),
    ("employer", "/api/v1/postings/{posting}/submit/", {}),
    ("staff", "/api/v1/postings/{posting}/approve/", {}),
    ("staff", "/api/v1/postings/{posting}/reinstate/", {}),
]


@pytest.mark.parametrize("who, url, body", FORBIDDEN_MOVES)
def test_a_move_not_allowed_from_the_current_status_is_a_409(client, who, url, body):
    from tests.applications.factories import employer_of
    from tests.factories import StaffFactory

    assignment = active_assignment()
    milestone = first_milestone(assignment)
    actors = {
        "student": assignment.student,
        "employer": employer_of(assignment.posting),
        "staff": StaffFactory(),
    }
    client.force_login(actors[who])
    before = (
        assignment.application.status,
        milestone.status,
        assignment.posting.status,
    )
    target = url.format(
        application=assignment.application_id, milestone=milestone.pk, posting=assignment.posting_id
    )
    _error(client.post(target, body, content_type="application/json"), 409, "invalid_transition")
    assignment.application.refresh_from_db()
    milestone.refresh_from_db()
    assignment.posting.refresh_from_db()
    assert (
        assignment.application.status,
        milestone.status,
        assignment.posting.status,
    ) == before
