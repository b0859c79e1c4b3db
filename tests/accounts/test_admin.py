"""The back office for accounts loads, and verifying an employer goes through the service."""

import pytest

from accounts.models import Employer, User
from marketplace.core.models import AuditLog
from tests.accounts.factories import InvitationFactory
from tests.factories import EmployerFactory, EmployerUserFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db

MODELS = ["user", "studentprofile", "employer", "invitation"]


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelist_add_and_change_pages_load(staff_client, model):
    student = StudentFactory()
    owner = EmployerUserFactory()
    invitation = InvitationFactory(employer=owner.memberships.get().employer)
    objects = {
        "user": student,
        "studentprofile": student.student_profile,
        "employer": owner.memberships.get().employer,
        "invitation": invitation,
    }
    assert staff_client.get(f"/admin/accounts/{model}/").status_code == 200
    assert staff_client.get(f"/admin/accounts/{model}/?q=example").status_code == 200
    assert staff_client.get(f"/admin/accounts/{model}/add/").status_code == 200
    change = staff_client.get(f"/admin/accounts/{model}/{objects[model].pk}/change/")
    assert change.status_code == 200


def test_employer_change_page_has_the_membership_inline(staff_client):
    owner = EmployerUserFactory(email="boss@example.com")
    employer = owner.memberships.get().employer
    html = staff_client.get(f"/admin/accounts/employer/{employer.pk}/change/").content.decode()
    assert "memberships-TOTAL_FORMS" in html
    assert 'name="verified"' not in html  # read-only: only the actions change it


def test_staff_adds_a_user_with_email_login(staff_client):
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new@example.com",
            "role": "employer",
            "usable_password": "true",
            "password1": "a-long-admin-secret-1",
            "password2": "a-long-admin-secret-1",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new@example.com")
    assert user.role == "employer"
    assert user.check_password("a-long-admin-secret-1")


def test_verify_and_unverify_actions_record_the_staff_member(staff_client):
    employers = [EmployerFactory(), EmployerFactory()]
    ids = [str(e.pk) for e in employers]
    response = staff_client.post(
        "/admin/accounts/employer/", {"action": "verify", "_selected_action": ids}
    )
    assert response.status_code == 302
    assert set(Employer.objects.values_list("verified", flat=True)) == {True}
    assert AuditLog.objects.filter(action="employer.verified").count() == 2
    # Verifying again changes nothing and records nothing.
    staff_client.post("/admin/accounts/employer/", {"action": "verify", "_selected_action": ids})
    assert AuditLog.objects.filter(action="employer.verified").count() == 2
    staff_client.post("/admin/accounts/employer/", {"action": "unverify", "_selected_action": ids})
    assert set(Employer.objects.values_list("verified", flat=True)) == {False}


def test_non_staff_cannot_open_the_back_office(client):
    client.force_login(EmployerUserFactory())
    response = client.get("/admin/accounts/employer/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
