"""Every status move of a credential and of a supervisor's sign-off, allowed and forbidden, through
the services; and query counts that do not grow with the number of credentials."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from applications import services as app_services
from applications.models import Assignment
from credentials import services
from credentials.models import Credential
from marketplace.core.errors import InvalidTransition
from tests.applications.factories import employer_of

pytestmark = pytest.mark.django_db


def test_active_to_superseded_then_nothing(completed_credit):
    assignment = completed_credit()
    old = Credential.objects.get(assignment=assignment)
    app_services.rating_create(
        assignment=assignment, actor=employer_of(assignment.posting), score=4
    )
    app_services.rating_create(assignment=assignment, actor=assignment.student, score=4)
    services.credential_set_rating_shown(credential=old, actor=assignment.student, show=True)
    old.refresh_from_db()
    assert old.status == "superseded"
    with pytest.raises(InvalidTransition):
        services.credential_revoke(credential=old, actor=assignment.student)
    old.refresh_from_db()
    assert old.status == "superseded"


def test_active_to_revoked_is_final_and_never_reissued(client, completed_credit):
    assignment = completed_credit()
    credential = Credential.objects.get(assignment=assignment)
    services.credential_revoke(credential=credential, actor=assignment.student)
    again = services.credential_revoke(credential=credential, actor=assignment.student)
    assert again.status == "revoked"  # running it twice is harmless
    assert services.credential_issue(assignment_id=assignment.pk) is None
    client.force_login(assignment.student)
    response = client.post(
        f"/api/v1/credentials/{credential.public_id}/rating/",
        {"value": True},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["code"] == "not_active"


@pytest.fixture
def decided_pending(completed_credit):
    assignment = completed_credit()
    return services.supervisor_name(
        assignment=assignment,
        actor=assignment.student,
        name="Dr Ada",
        institution="Uni",
        email="ada@uni.example",
    )


def test_sign_off_pending_to_signed_off_then_no_decline(decided_pending):
    signed = services.supervisor_decide(sign_off=decided_pending, approve=True)
    assert signed.status == "signed_off"
    assert services.supervisor_decide(sign_off=signed, approve=True).status == "signed_off"
    with pytest.raises(InvalidTransition):
        services.supervisor_decide(sign_off=signed, approve=False, reason="Changed my mind")


def test_sign_off_pending_to_declined_then_no_sign_off(decided_pending):
    declined = services.supervisor_decide(sign_off=decided_pending, approve=False, reason="No")
    assert declined.status == "declined"
    with pytest.raises(InvalidTransition):
        services.supervisor_decide(sign_off=declined, approve=True)
    assert Credential.objects.filter(assignment=declined.assignment).count() == 1


def _student_with(completed_credit, n: int):
    first = completed_credit()
    for _ in range(n - 1):
        other = completed_credit()
        Assignment.objects.filter(pk=other.pk).update(student=first.student)
        Credential.objects.filter(assignment=other).update(student=first.student)
    profile = first.student.student_profile
    profile.record_public = True
    profile.save()
    return first.student


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_credentials(client, completed_credit):
    counts = []
    for n in (1, 4):
        student = _student_with(completed_credit, n)
        client.force_login(student)
        mine = _count(client, reverse("credentials:mine"))
        record = _count(
            client, reverse("applications:record", args=[student.student_profile.public_slug])
        )
        counts.append((mine, record))
    assert counts[0] == counts[1], counts
