"""An owner invites a colleague by e-mail; the link signs them up (or in) and joins them."""

import datetime as dt

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail

from accounts import services
from accounts.models import Employer, Invitation, Membership, User
from marketplace.core.errors import DomainError, NotPermitted
from tests.accounts.conftest import link_in_last_mail, signup_data
from tests.accounts.factories import InvitationFactory
from tests.factories import PASSWORD, EmployerUserFactory, StudentFactory

pytestmark = pytest.mark.django_db


def invite(client, owner, email, capture):
    client.force_login(owner)
    with capture(execute=True):
        response = client.post("/organisation/invite/", {"email": email})
    client.logout()
    return response


def test_owner_invites_and_invitee_signs_up_through_the_link(
    client, django_capture_on_commit_callbacks
):
    owner = EmployerUserFactory(full_name="Olive Owner")
    employer = owner.memberships.get().employer
    response = invite(
        client, owner, "New.Colleague@Example.com", django_capture_on_commit_callbacks
    )
    assert response.status_code == 302

    invitation = Invitation.objects.get()
    assert invitation.email == "new.colleague@example.com"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.colleague@example.com"]
    assert "Olive Owner invites you to join" in message.subject
    assert f"/invitations/{invitation.token}/" in message.body

    # Logged out, the link offers sign-up and login, and remembers the invitation.
    path = link_in_last_mail()
    page = client.get(path)
    assert page.status_code == 200
    assert "Sign up to join" in page.content.decode()
    signup_page = client.get("/accounts/signup/").content.decode()
    assert f"You were invited to join <strong>{employer.name}</strong>" in signup_page
    assert 'value="new.colleague@example.com"' in signup_page

    response = client.post(
        "/accounts/signup/",
        signup_data(role="employer", email="new.colleague@example.com", full_name="Nina New"),
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.colleague@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.employer == employer
    assert membership.role == Membership.Role.MEMBER
    assert Employer.objects.count() == 1  # no second organisation
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    # The link proved the mailbox: the address is verified and the new member is logged in.
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/organisation/").status_code == 200
    assert len(mail.outbox) == 1  # no separate verification e-mail


def test_invitee_with_another_address_must_use_the_invited_one(client):
    invitation = InvitationFactory(email="invited@example.com")
    client.get(f"/invitations/{invitation.token}/")
    response = client.post(
        "/accounts/signup/", signup_data(role="employer", email="someone.else@example.com")
    )
    assert response.status_code == 200
    assert "is for invited@example.com" in response.context["form"].errors["email"][0]
    assert not User.objects.exists()


def test_invitee_may_still_sign_up_as_a_student(client):
    invitation = InvitationFactory(email="invited@example.com")
    client.get(f"/invitations/{invitation.token}/")
    client.post("/accounts/signup/", signup_data(role="student", email="invited@example.com"))
    user = User.objects.get(email="invited@example.com")
    assert user.is_student
    assert not Membership.objects.filter(user=user).exists()


def test_existing_account_logs_in_then_accepts(client):
    invitation = InvitationFactory()
    user = User.objects.create_user(invitation.email, PASSWORD, role=User.Role.EMPLOYER)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    page = client.get(f"/invitations/{invitation.token}/").content.decode()
    login_link = f"/accounts/login/?next=/invitations/{invitation.token}/"
    assert login_link in page
    response = client.post(login_link, {"login": invitation.email, "password": PASSWORD})
    assert response["Location"] == f"/invitations/{invitation.token}/"

    response = client.post(f"/invitations/{invitation.token}/")
    assert response.status_code == 302
    assert Membership.objects.get(user=user).employer == invitation.employer
    # Accepting twice is harmless.
    response = client.post(f"/invitations/{invitation.token}/")
    assert response.status_code == 302
    assert Membership.objects.filter(user=user).count() == 1


def test_wrong_email_is_refused(client):
    invitation = InvitationFactory(email="invited@example.com")
    intruder = User.objects.create_user("intruder@example.com", PASSWORD, role="employer")
    client.force_login(intruder)
    response = client.post(f"/invitations/{invitation.token}/")
    assert response.status_code == 403
    assert "This invitation was sent to invited@example.com" in response.content.decode()
    assert not Membership.objects.filter(user=intruder).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_student_and_member_of_another_organisation_cannot_join(client):
    invitation = InvitationFactory(email="student@example.com")
    client.force_login(StudentFactory(email="student@example.com"))
    response = client.post(f"/invitations/{invitation.token}/")
    assert response.status_code == 400
    assert "student account" in response.content.decode()

    other = InvitationFactory(email="busy@example.com")
    busy = EmployerUserFactory(email="busy@example.com")
    with pytest.raises(DomainError):
        services.invitation_accept(invitation=other, user=busy)
    assert busy.memberships.get().employer != other.employer


def test_non_owner_cannot_invite(client, django_capture_on_commit_callbacks):
    owner = EmployerUserFactory()
    employer = owner.memberships.get().employer
    member = EmployerUserFactory(employer=employer)
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/organisation/invite/", {"email": "x@example.com"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []
    with pytest.raises(NotPermitted):
        services.invitation_create(employer=employer, actor=member, email="x@example.com")


def test_inviting_again_resends_the_open_invitation(client, django_capture_on_commit_callbacks):
    owner = EmployerUserFactory()
    invite(client, owner, "x@example.com", django_capture_on_commit_callbacks)
    invite(client, owner, "x@example.com", django_capture_on_commit_callbacks)
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 2
    assert mail.outbox[0].body == mail.outbox[1].body


def test_inviting_a_member_or_a_bad_address_is_a_clear_error(
    client, django_capture_on_commit_callbacks
):
    owner = EmployerUserFactory(email="owner@example.com")
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/organisation/invite/", {"email": "owner@example.com"}, follow=True)
    assert "owner@example.com is already a member." in response.content.decode()
    assert mail.outbox == []
    response = client.post("/organisation/invite/", {"email": "not-an-address"}, follow=True)
    assert "Enter a valid email address." in response.content.decode()
    assert not Invitation.objects.exists()


def test_expired_invitation_cannot_be_used(client):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        invitation = InvitationFactory(email="late@example.com")
    with time_machine.travel(dt.datetime(2026, 2, 1, tzinfo=dt.UTC), tick=False):
        page = client.get(f"/invitations/{invitation.token}/").content.decode()
        assert "expired or was already used" in page
        # Nothing was remembered, so the sign-up is an ordinary one.
        response = client.post(
            "/accounts/signup/", signup_data(role="employer", email="late@example.com")
        )
        assert "Employers need the organisation" in str(response.context["form"].errors)
        user = User.objects.create_user("late@example.com", PASSWORD, role="employer")
        client.force_login(user)
        response = client.post(f"/invitations/{invitation.token}/")
        assert response.status_code == 400
        assert not Membership.objects.filter(user=user).exists()


def test_unknown_invitation_is_404(client):
    assert client.get("/invitations/no-such-token/").status_code == 404


def test_invitation_token_with_a_nul_character_is_404(client):
    # PostgreSQL refuses NUL in a query; the lookup must not reach it (a 500 before).
    assert client.get("/invitations/abc%00def/").status_code == 404
    assert client.post("/invitations/abc%00def/").status_code == 404
