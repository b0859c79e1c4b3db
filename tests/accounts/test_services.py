"""Rules the services enforce whichever interface calls them."""

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Employer, Membership, StudentProfile, User
from marketplace.core.errors import DomainError, NotPermitted
from marketplace.core.models import AuditLog
from tests.factories import EmployerFactory, EmployerUserFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_only_staff_verify_employers():
    employer = EmployerFactory()
    with pytest.raises(NotPermitted):
        services.employer_set_verified(
            employer=employer, actor=EmployerUserFactory(employer=employer), verified=True
        )
    employer.refresh_from_db()
    assert employer.verified is False
    services.employer_set_verified(employer=employer, actor=StaffFactory(), verified=True)
    employer.refresh_from_db()
    assert employer.verified is True


def test_employer_update_refuses_outsiders_and_unknown_fields():
    employer = EmployerFactory(name="Mine")
    outsider = EmployerUserFactory()
    with pytest.raises(NotPermitted):
        services.employer_update(employer=employer, actor=outsider, name="Theirs")
    member = EmployerUserFactory(employer=employer)
    with pytest.raises(TypeError):
        services.employer_update(employer=employer, actor=member, verified=True)
    with pytest.raises(ValidationError):
        services.employer_update(employer=employer, actor=member, website="not a url")
    employer.refresh_from_db()
    assert (employer.name, employer.verified, employer.website) == (
        "Mine",
        False,
        "https://example.com",
    )


def test_student_profile_update_rejects_employers_and_bad_values_atomically():
    employer_user = EmployerUserFactory()
    with pytest.raises(NotPermitted):
        services.student_profile_update(user=employer_user, actor=employer_user, school="X")
    assert not StudentProfile.objects.filter(user=employer_user).exists()

    student = StudentFactory(full_name="Before", time_zone="UTC")
    with pytest.raises(ValidationError):
        services.student_profile_update(
            user=student, actor=student, full_name="After", hours_per_week=500
        )
    student.refresh_from_db()
    assert student.full_name == "Before"  # the user row rolled back with the profile


def test_signup_completion_is_all_or_nothing():
    user = User.objects.create_user("x@example.com", "pw-123-long-enough")
    with pytest.raises(DomainError):
        services.user_signup_complete(user=user, role="employer", full_name="X")
    with pytest.raises(DomainError):
        services.user_signup_complete(user=user, role="root", full_name="X")
    user.refresh_from_db()
    assert user.full_name == ""
    assert not Employer.objects.exists()
    services.user_signup_complete(
        user=user, role="employer", full_name="X", organisation_name="Org"
    )
    assert Membership.objects.get(user=user).role == Membership.Role.OWNER


def test_api_token_revoke_twice_is_harmless():
    user = StudentFactory()
    token, _key = services.api_token_create(user=user, actor=user, name="Laptop")
    services.api_token_revoke(token=token, actor=user)
    services.api_token_revoke(token=token, actor=user)
    assert not user.api_tokens.exists()
    assert AuditLog.objects.filter(action="api_token.revoked").count() == 1
