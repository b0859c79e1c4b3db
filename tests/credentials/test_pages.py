"""The student's credentials page and actions, the public credential page, downloads, the public
record's verify link, and the API for the student's own credentials."""

import pytest
from django.urls import reverse

from applications import services as app_services
from credentials.models import Credential
from credentials.verification import verify_input
from tests.applications.factories import employer_of
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def credential(completed_credit):
    return Credential.objects.get(assignment=completed_credit(title="Pricing study"))


def test_my_credentials_page_offers_downloads_and_linkedin(client, credential):
    client.force_login(credential.student)
    page = client.get(reverse("credentials:mine")).content.decode()
    assert "Pricing study" in page
    assert reverse("credentials:download_jwt", args=[credential.public_id]) in page
    assert "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME" in page
    assert f"certId={credential.public_id}" in page
    jwt_download = client.get(reverse("credentials:download_jwt", args=[credential.public_id]))
    assert jwt_download["Content-Disposition"].startswith("attachment")
    assert jwt_download.content.decode() == credential.jwt


def test_public_record_links_the_credential_and_its_verification(client, credential):
    profile = credential.student.student_profile
    profile.record_public = True
    profile.save()
    page = client.get(reverse("applications:record", args=[profile.public_slug])).content.decode()
    assert reverse("credentials:detail", args=[credential.public_id]) in page
    assert "/credentials/verify/?url=http%3A//127.0.0.1%3A8000/credentials/" in page
    detail = client.get(reverse("credentials:detail", args=[credential.public_id]))
    assert detail.status_code == 200 and "Verify this credential" in detail.content.decode()


def test_hiding_takes_it_off_the_record_and_its_public_page(client, credential):
    client.force_login(credential.student)
    client.post(reverse("credentials:visibility", args=[credential.public_id]), {"hidden": "1"})
    credential.refresh_from_db()
    assert credential.hidden
    client.logout()
    assert client.get(reverse("credentials:detail", args=[credential.public_id])).status_code == 404
    profile = credential.student.student_profile
    profile.record_public = True
    profile.save()
    page = client.get(reverse("applications:record", args=[profile.public_slug])).content.decode()
    assert str(credential.public_id) not in page
    assert verify_input(credential.jwt).valid  # hidden is not revoked: copies still verify


def test_revoking_from_the_page(client, credential):
    client.force_login(credential.student)
    client.post(reverse("credentials:revoke", args=[credential.public_id]))
    credential.refresh_from_db()
    assert credential.status == "revoked" and credential.revoked_at
    assert not verify_input(credential.jwt).valid


def test_another_user_cannot_touch_a_credential(client, credential):
    client.force_login(StudentFactory())
    response = client.post(reverse("credentials:revoke", args=[credential.public_id]))
    assert response.status_code == 404
    credential.refresh_from_db()
    assert credential.status == "active"


def test_including_the_rating_issues_a_new_version_and_revokes_the_old(client, credential):
    assignment = credential.assignment
    client.force_login(credential.student)
    client.post(reverse("credentials:rating", args=[credential.public_id]), {"show": "1"})
    assert Credential.objects.filter(assignment=assignment).count() == 1  # no rating yet
    app_services.rating_create(
        assignment=assignment, actor=employer_of(assignment.posting), score=5
    )
    app_services.rating_create(assignment=assignment, actor=assignment.student, score=4)
    client.post(reverse("credentials:rating", args=[credential.public_id]), {"show": "1"})
    credential.refresh_from_db()
    new = Credential.objects.get(assignment=assignment, status="active")
    assert credential.status == "superseded" and credential.superseded_by == new
    result = new.document["credentialSubject"]["result"][0]
    assert result["value"] == "5"
    assert verify_input(new.jwt).valid
    assert "Revoked" in verify_input(credential.jwt).reason


def test_api_lists_and_revokes_own_credentials(client, credential):
    client.force_login(credential.student)
    listed = client.get("/api/v1/credentials/").json()["results"]
    assert [item["id"] for item in listed] == [str(credential.public_id)]
    response = client.post(
        f"/api/v1/credentials/{credential.public_id}/hide/",
        {"value": True},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["hidden"] is True
    response = client.post(f"/api/v1/credentials/{credential.public_id}/revoke/")
    assert response.json()["status"] == "revoked"
    again = client.post(
        f"/api/v1/credentials/{credential.public_id}/hide/",
        {"value": "x"},
        content_type="application/json",
    )
    assert again.status_code == 400
    client.force_login(StudentFactory())
    assert client.get(f"/api/v1/credentials/{credential.public_id}/").status_code == 404


def test_credit_work_in_progress_offers_to_name_the_supervisor(client):
    from tests.applications.factories import active_assignment

    assignment = active_assignment(credit=True, title="Field study")
    paid = active_assignment(credit=False)
    client.force_login(assignment.student)
    page = client.get(reverse("credentials:mine")).content.decode()
    assert "Field study" in page and "Name my supervisor" in page
    assert reverse("credentials:name_supervisor", args=[assignment.pk]) in page
    client.force_login(paid.student)
    page = client.get(reverse("credentials:mine")).content.decode()
    assert "Name my supervisor" not in page


def test_dashboard_panel_counts_credentials(client, credential):
    client.force_login(credential.student)
    page = client.get(reverse("dashboard")).content.decode()
    assert "1 valid credential of completed work" in page
    client.force_login(StudentFactory())
    assert "valid credential" not in client.get(reverse("dashboard")).content.decode()
