"""Every page and endpoint of this app, by outsiders: another student, another employer (with
postings and work of their own) and an anonymous visitor. An outsider gets 404 (the object does
not exist for them) and changes nothing; an anonymous visitor is sent to log in (pages) or
refused (API). The people involved do get in (so the 404s are not from broken URLs)."""

import pytest
from django.urls import reverse

from applications import services
from applications.models import Application, Message, Milestone, Submission
from tests.applications.factories import (
    ApplicationFactory,
    active_assignment,
    employer_of,
    first_milestone,
    pdf,
    submit,
)
from tests.factories import EmployerUserFactory, PostingFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db


def _get(client, url):
    """GET and read the whole response: a file download streams an open file, which the test
    client closes (without closing the database connection) once it is consumed."""
    response = client.get(url)
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return response


@pytest.fixture
def world():
    assignment = active_assignment()
    application = assignment.application
    employer = employer_of(assignment.posting)
    milestone = first_milestone(assignment)
    submission = submit(milestone, files=[pdf()])
    services.message_send(application=application, actor=employer, body="Secret plans inside.")
    # A second, open application with a CV on the same posting's employer.
    other_posting = PostingFactory(employer=assignment.posting.employer)
    open_application = services.application_submit(
        posting=other_posting,
        student=assignment.student,
        cover_note="I would love to do this too, and I have done it before for a client.",
        cv=pdf("cv.pdf"),
    )
    # Outsiders with their own activity, so their lists are not empty by accident.
    other_student = StudentFactory()
    ApplicationFactory(student=other_student)
    other_employer = EmployerUserFactory()
    ApplicationFactory(posting=PostingFactory(employer=other_employer.employers.get()))
    return {
        "assignment": assignment,
        "application": application,
        "open_application": open_application,
        "employer": employer,
        "student": assignment.student,
        "milestone": milestone,
        "file": submission.files.get(),
        "other_student": other_student,
        "other_employer": other_employer,
    }


def _pages(w):
    a, app, ms, f = w["assignment"], w["application"], w["milestone"], w["file"]
    return [
        reverse("applications:detail", args=[app.pk]),
        reverse("applications:detail", args=[w["open_application"].pk]),
        reverse("applications:cv", args=[w["open_application"].pk]),
        reverse("applications:pipeline", args=[a.posting_id]),
        reverse("applications:assignment", args=[a.pk]),
        reverse("applications:submit", args=[ms.pk]),
        reverse("applications:file", args=[f.pk]),
        reverse("applications:reinvite", args=[a.pk]),
    ]


def _posts(w):
    a, app, ms = w["assignment"], w["open_application"], w["milestone"]
    posts = [
        (reverse("applications:move", args=[app.pk, move]), {})
        for move in ("withdraw", "shortlist", "reject", "offer", "accept", "decline")
    ]
    posts += [
        (reverse("applications:message", args=[w["application"].pk]), {"body": "hello"}),
        (reverse("applications:milestone_move", args=[ms.pk, "approve"]), {}),
        (reverse("applications:milestone_move", args=[ms.pk, "revision"]), {"feedback": "x"}),
        (
            reverse("applications:milestone_move", args=[ms.pk, "dispute"]),
            {"reason": "a long enough reason"},
        ),
        (reverse("applications:cancel", args=[a.pk]), {}),
        (reverse("applications:rate", args=[a.pk]), {"score": "1"}),
        (reverse("applications:record_visibility", args=[a.pk]), {"show": "0"}),
        (reverse("applications:submit", args=[ms.pk]), {"note": "x", "links": "https://x.io"}),
        (
            reverse("applications:reinvite", args=[a.pk]),
            {"posting": w["open_application"].posting_id},
        ),
    ]
    return posts


def _state(w):
    return (
        list(Application.objects.order_by("pk").values_list("status", flat=True)),
        list(Milestone.objects.order_by("pk").values_list("status", flat=True)),
        Message.objects.count(),
        Submission.objects.count(),
        w["assignment"].__class__.objects.get(pk=w["assignment"].pk).status,
    )


@pytest.mark.parametrize("who", ["other_student", "other_employer"])
def test_outsiders_get_404_on_every_page_and_post(client, world, who):
    client.force_login(world[who])
    before = _state(world)
    for url in _pages(world):
        assert _get(client, url).status_code == 404, url
    for url, data in _posts(world):
        assert client.post(url, data).status_code == 404, url
    assert _state(world) == before


def test_anonymous_is_sent_to_log_in(client, world):
    before = _state(world)
    login = reverse("account_login")
    for url in _pages(world):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(login), url
    for url, data in _posts(world):
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith(login), url
    assert _state(world) == before


def test_the_people_involved_get_in(client, world):
    client.force_login(world["student"])
    for url in [
        reverse("applications:detail", args=[world["application"].pk]),
        reverse("applications:cv", args=[world["open_application"].pk]),
        reverse("applications:assignment", args=[world["assignment"].pk]),
        reverse("applications:file", args=[world["file"].pk]),
    ]:
        assert _get(client, url).status_code == 200, url
    client.force_login(world["employer"])
    for url in _pages(world):
        if "submit" in url:
            continue  # only the student submits
        assert _get(client, url).status_code == 200, url


def test_employer_only_pages_for_a_student_and_student_pages_for_an_employer(client, world):
    client.force_login(world["other_student"])
    assert client.get(reverse("applications:employer_postings")).status_code == 403
    client.force_login(world["other_employer"])
    assert (
        client.get(reverse("applications:apply", args=[world["assignment"].posting_id])).status_code
        == 403
    )
    assert client.get(reverse("applications:disputes")).status_code == 403


def test_lists_do_not_leak(client, world):
    client.force_login(world["other_student"])
    page = client.get(reverse("applications:mine")).content.decode()
    assert world["assignment"].posting.title not in page
    page = client.get(reverse("applications:assignments")).content.decode()
    assert world["assignment"].posting.title not in page
    client.force_login(world["other_employer"])
    page = client.get(reverse("applications:employer_postings")).content.decode()
    assert world["assignment"].posting.title not in page


def test_staff_read_only_disputed_threads(client, world):
    staff = StaffFactory()
    client.force_login(staff)
    url = reverse("applications:detail", args=[world["application"].pk])
    file_url = reverse("applications:file", args=[world["file"].pk])
    assert _get(client, url).status_code == 404
    assert _get(client, file_url).status_code == 404
    services.dispute_open(
        milestone=world["milestone"], actor=world["student"], reason="No review for weeks."
    )
    page = client.get(url)
    assert page.status_code == 200 and "Secret plans inside." in page.content.decode()
    assert _get(client, file_url).status_code == 200
    # Reading is not writing.
    assert (
        client.post(
            reverse("applications:message", args=[world["application"].pk]), {"body": "hi"}
        ).status_code
        == 404
    )
    # Another application of the same student (no dispute) stays closed to staff.
    assert (
        client.get(reverse("applications:detail", args=[world["open_application"].pk])).status_code
        == 404
    )


def test_private_record_only_for_the_student_and_employers_applied_to(client, world):
    profile = world["student"].student_profile
    profile.record_public = False
    profile.save()
    url = reverse("applications:record", args=[profile.public_slug])
    assert _get(client, url).status_code == 404
    client.force_login(world["other_student"])
    assert _get(client, url).status_code == 404
    client.force_login(world["other_employer"])
    assert _get(client, url).status_code == 404
    client.force_login(world["employer"])
    assert _get(client, url).status_code == 200
    client.force_login(world["student"])
    assert _get(client, url).status_code == 200
    profile.record_public = True
    profile.save()
    client.logout()
    assert _get(client, url).status_code == 200


# --- API ------------------------------------------------------------------------------------


def _api_gets(w):
    return [
        f"/api/v1/applications/{w['application'].pk}/",
        f"/api/v1/applications/{w['open_application'].pk}/",
        f"/api/v1/assignments/{w['assignment'].pk}/",
        f"/api/v1/milestones/{w['milestone'].pk}/",
        f"/api/v1/submissions/{w['file'].submission_id}/",
        f"/api/v1/submission-files/{w['file'].pk}/download/",
    ]


def _api_posts(w):
    app = w["open_application"].pk
    ms = w["milestone"].pk
    posts = [
        (f"/api/v1/applications/{app}/{move}/", {})
        for move in ("withdraw", "shortlist", "reject", "offer", "accept", "decline")
    ]
    posts += [
        (f"/api/v1/milestones/{ms}/{move}/", data)
        for move, data in [
            ("approve", {}),
            ("request-revision", {"feedback": "x"}),
            ("dispute", {"reason": "a long enough reason"}),
            ("submit", {"note": "x", "links": ["https://x.io"]}),
        ]
    ]
    posts += [
        (f"/api/v1/assignments/{w['assignment'].pk}/cancel/", {}),
        ("/api/v1/messages/", {"application": w["application"].pk, "body": "hi"}),
        ("/api/v1/ratings/", {"assignment": w["assignment"].pk, "score": 1}),
    ]
    return posts


@pytest.mark.parametrize("who", ["other_student", "other_employer"])
def test_api_outsiders_get_404_and_empty_lists(client, world, who):
    client.force_login(world[who])
    before = _state(world)
    for url in _api_gets(world):
        response = _get(client, url)
        assert response.status_code == 404, url
        if url.startswith("/api/v1/submission-files/"):
            continue
        assert response.json()["code"] == "not_found"
    for url, data in _api_posts(world):
        assert client.post(url, data, content_type="application/json").status_code == 404, url
    assert _state(world) == before
    for url, secret in [
        (f"/api/v1/messages/?application={world['application'].pk}", "Secret plans"),
        ("/api/v1/messages/", "Secret plans"),
        ("/api/v1/applications/", world["assignment"].posting.title),
        ("/api/v1/assignments/", world["assignment"].posting.title),
        ("/api/v1/submissions/", "Here is the work"),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert secret not in response.content.decode(), url
    for url in [
        f"/api/v1/milestones/?assignment={world['assignment'].pk}",
        f"/api/v1/ratings/?assignment={world['assignment'].pk}",
        f"/api/v1/submissions/?milestone={world['milestone'].pk}",
    ]:
        assert client.get(url).json()["results"] == [], url


def test_api_anonymous_refused(client, world):
    for url in _api_gets(world):
        assert _get(client, url).status_code in (401, 403), url
    for url, data in _api_posts(world):
        assert client.post(url, data, content_type="application/json").status_code in (401, 403)


def test_api_the_people_involved_get_in(client, world):
    client.force_login(world["student"])
    for url in _api_gets(world):
        assert _get(client, url).status_code == 200, url
    response = client.get(f"/api/v1/messages/?application={world['application'].pk}")
    assert [m["body"] for m in response.json()["results"]] == ["Secret plans inside."]
    download = client.get(f"/api/v1/submission-files/{world['file'].pk}/download/")
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
