"""Staff are staff: ``createsuperuser`` (the production path) and the demo make a staff user
who sees in the API what the pages show (disputed work) and cannot act as a student or for an
employer."""

import io

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from applications import services
from tests.applications.factories import active_assignment, first_milestone, pdf, submit
from tests.factories import PASSWORD, PostingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", "--email", "boss@example.com", verbosity=0)
    user = User.objects.get(email="boss@example.com")
    TOTP.activate(user, generate_totp_secret())  # staff pages need two factors
    return user


def test_createsuperuser_makes_a_staff_user_not_a_student(superuser):
    assert superuser.is_staff and superuser.is_superuser
    assert superuser.role == User.Role.STAFF
    assert not superuser.is_student and not superuser.is_employer


def test_the_demo_staff_user_is_made_the_same_way():
    call_command("seed_demo", stdout=io.StringIO())
    staff = User.objects.get(email="staff@demo.test")
    assert staff.is_staff and staff.role == User.Role.STAFF
    assert not staff.employers.exists()


@pytest.fixture
def disputed():
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    submission = submit(milestone, files=[pdf()])
    services.dispute_open(milestone=milestone, actor=assignment.student, reason="No review.")
    return assignment, milestone, submission


def test_staff_see_in_the_api_the_disputed_work_the_pages_show(client, superuser, disputed):
    assignment, milestone, submission = disputed
    client.force_login(superuser)
    page = client.get(reverse("applications:assignment", args=[assignment.pk]))
    assert page.status_code == 200
    ids = [a["id"] for a in client.get("/api/v1/assignments/").json()["results"]]
    assert ids == [assignment.pk]
    assert client.get(f"/api/v1/assignments/{assignment.pk}/").status_code == 200
    app_ids = [a["id"] for a in client.get("/api/v1/applications/").json()["results"]]
    assert app_ids == [assignment.application_id]
    assert client.get(f"/api/v1/milestones/{milestone.pk}/").json()["status"] == "disputed"
    subs = client.get(f"/api/v1/submissions/?milestone={milestone.pk}").json()["results"]
    assert [s["id"] for s in subs] == [submission.pk]


def test_staff_without_a_dispute_see_nothing(client, superuser):
    active_assignment()
    client.force_login(superuser)
    assert client.get("/api/v1/assignments/").json()["results"] == []
    assert client.get("/api/v1/applications/").json()["results"] == []


def test_staff_cannot_apply_as_a_student(client, superuser):
    posting = PostingFactory()
    client.force_login(superuser)
    response = client.post(
        "/api/v1/applications/",
        {"posting": posting.pk, "cover_note": "I am staff but would like to apply here. " * 3},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not posting.applications.exists()
    page = client.post(
        reverse("applications:apply", args=[posting.pk]),
        {"cover_note": "I am staff but would like to apply here. " * 3},
    )
    assert page.status_code in (403, 404)
    assert not posting.applications.exists()


def test_staff_cannot_create_postings_for_an_employer(client, superuser):
    client.force_login(superuser)
    response = client.post("/api/v1/postings/", {"title": "x"}, content_type="application/json")
    assert response.status_code == 403


def test_a_staff_student_keeps_their_own_role():
    user = User.objects.create_superuser("teacher@example.com", PASSWORD, role=User.Role.STUDENT)
    assert user.is_staff and user.is_student


def test_staff_decide_a_dispute_over_the_api(client, superuser, disputed):
    assignment, milestone, _submission = disputed
    url = f"/api/v1/milestones/{milestone.pk}/resolve/"
    client.force_login(assignment.student)
    refused = client.post(url, {"resolution": "release"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"
    client.force_login(superuser)
    bad = client.post(url, {"resolution": "everything"}, content_type="application/json")
    assert bad.status_code == 400 and "resolution" in bad.json()["fields"]
    done = client.post(
        url, {"resolution": "refund", "note": "No work."}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    milestone.refresh_from_db()
    assert milestone.status == "resolved" and milestone.dispute.resolution == "refund"


def test_a_dispute_decided_already_is_a_409_and_the_decision_stands(client, superuser):
    from accounts.services import api_token_create

    assignment = active_assignment(
        amount=50000, milestones=[("Draft", 48, 20000), ("Final", 96, 30000)]
    )
    milestone, undisputed = assignment.milestones.order_by("position")
    submit(milestone, files=[pdf()])
    services.dispute_open(milestone=milestone, actor=assignment.student, reason="No review.")
    _token, key = api_token_create(user=superuser, actor=superuser, name="Back office")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    url = f"/api/v1/milestones/{milestone.pk}/resolve/"
    too_much = client.post(
        url, {"resolution": "split", "student_amount": 20000}, content_type="application/json"
    )
    assert too_much.status_code == 400 and "student_amount" in too_much.json()["fields"]
    done = client.post(url, {"resolution": "release"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "resolved"

    again = client.post(url, {"resolution": "refund"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    milestone.dispute.refresh_from_db()
    assert (milestone.dispute.resolution, milestone.dispute.student_amount) == ("release", 20000)

    nothing = client.post(
        f"/api/v1/milestones/{undisputed.pk}/resolve/",
        {"resolution": "release"},
        content_type="application/json",
    )
    assert nothing.status_code == 409 and nothing.json()["code"] == "invalid_transition"
    undisputed.refresh_from_db()
    assert undisputed.status != "resolved"
