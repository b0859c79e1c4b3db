"""Academic credit: the student names a supervisor, who gets a signed link (no account) after the
employer approves, sees the work and signs off (the credential is re-issued with it) or declines
with a reason; the student and the employer are notified."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from credentials.models import Credential, SupervisorSignOff
from credentials.verification import verify_input
from tests.applications.factories import active_assignment, employer_of

from .conftest import complete

pytestmark = pytest.mark.django_db


def name_supervisor(client, assignment, email="dr.ada@uni.example"):
    client.force_login(assignment.student)
    return client.post(
        reverse("credentials:name_supervisor", args=[assignment.pk]),
        {
            f"a{assignment.pk}-supervisor_name": "Dr Ada Byron",
            f"a{assignment.pk}-institution": "University of Example",
            f"a{assignment.pk}-supervisor_email": email,
        },
    )


def link_in(message) -> str:
    return re.search(r"http://\S+/credentials/supervisor/\S+/", message.body).group(0)


def to_supervisor(address="dr.ada@uni.example"):
    return [m for m in mail.outbox if m.to == [address]]


@pytest.fixture
def named(client, django_capture_on_commit_callbacks):
    """A credit assignment whose student named a supervisor, then completed."""
    assignment = active_assignment(
        credit=True, milestones=[("Interview notes", 48, 0), ("Report", 96, 0)]
    )
    name_supervisor(client, assignment)
    assert to_supervisor() == []  # the link waits for the employer's approval
    with django_capture_on_commit_callbacks(execute=True):
        complete(assignment)
    return assignment


def test_the_supervisor_gets_the_link_once_the_work_is_approved(named):
    (message,) = to_supervisor()
    assert named.posting.title in message.body


def test_the_supervisor_sees_the_work_and_signs_off(
    client, named, django_capture_on_commit_callbacks
):
    link = link_in(to_supervisor()[0])
    client.logout()
    page = client.get(link).content.decode()
    assert named.posting.title in page and "Interview notes" in page and "Report" in page
    assert "approved by the employer" in page
    old = Credential.objects.get(assignment=named, status="active")
    assert not old.includes_sign_off
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link, {"decision": "sign_off"})
    assert response.status_code == 302
    sign_off = SupervisorSignOff.objects.get(assignment=named)
    assert sign_off.status == "signed_off" and sign_off.decided_at
    new = Credential.objects.get(assignment=named, status="active")
    assert new.includes_sign_off and new.pk != old.pk
    narrative = [e.get("narrative", "") for e in new.document["evidence"]]
    assert any("Dr Ada Byron (University of Example)" in text for text in narrative)
    assert verify_input(new.jwt).valid and not verify_input(old.jwt).valid
    assert named.student.notifications.filter(kind="credit.signed_off").count() == 1
    employer = employer_of(named.posting)
    assert employer.notifications.filter(kind="credit.signed_off").count() == 1
    assert "You signed off" in client.get(link).content.decode()
    client.post(link, {"decision": "sign_off"})  # a second click changes nothing
    assert Credential.objects.filter(assignment=named).count() == 2


def test_declining_needs_a_reason_and_is_notified(client, named):
    link = link_in(to_supervisor()[0])
    client.logout()
    response = client.post(link, {"decision": "decline", "reason": ""})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    client.post(link, {"decision": "decline", "reason": "The work is outside my module."})
    sign_off = SupervisorSignOff.objects.get(assignment=named)
    assert (
        sign_off.status == "declined"
        and sign_off.decline_reason == "The work is outside my module."
    )
    note = named.student.notifications.get(kind="credit.declined")
    assert "outside my module" in note.body
    assert Credential.objects.filter(assignment=named).count() == 1  # nothing to add


def test_a_forged_or_replaced_link_is_refused(client, named, django_capture_on_commit_callbacks):
    link = link_in(to_supervisor()[0])
    client.logout()
    assert client.get(link[:-3] + "xx/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        name_supervisor(client, named, email="prof.grace@uni.example")
    (replacement,) = to_supervisor("prof.grace@uni.example")
    client.logout()
    assert client.get(link).status_code == 404
    assert client.get(link_in(replacement)).status_code == 200


def test_paid_work_has_no_supervisor(client):
    assignment = active_assignment(credit=False)
    client.force_login(assignment.student)
    response = client.post(
        f"/api/v1/assignments/{assignment.pk}/supervisor/",
        {"supervisor_name": "A", "institution": "B", "supervisor_email": "a@b.example"},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["code"] == "paid"


def test_api_names_a_supervisor(client):
    assignment = active_assignment(credit=True)
    client.force_login(assignment.student)
    response = client.post(
        f"/api/v1/assignments/{assignment.pk}/supervisor/",
        {"supervisor_name": "Dr Ada", "institution": "Uni", "supervisor_email": "not-an-email"},
        content_type="application/json",
    )
    assert response.status_code == 400
    response = client.post(
        f"/api/v1/assignments/{assignment.pk}/supervisor/",
        {"supervisor_name": "Dr Ada", "institution": "Uni", "supervisor_email": "ada@uni.example"},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["status"] == "pending"


def test_the_request_task_run_twice_sends_one_email(named):
    from credentials.tasks import send_supervisor_request

    sign_off = SupervisorSignOff.objects.get(assignment=named)
    assert sign_off.emailed_at is not None
    send_supervisor_request.delay(sign_off.pk)
    send_supervisor_request.delay(sign_off.pk)
    assert len(to_supervisor()) == 1
