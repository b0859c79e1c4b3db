"""Every write to accounts goes through here.

Browser views, the API, admin actions and the sign-up form call these functions; none of them
saves an accounts model (or an API token) itself.
"""

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from marketplace.core import payout_countries
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted

from .authentication import PREFIX_LENGTH, token_hash, token_key_new
from .models import ApiToken, Employer, Invitation, Membership, StudentProfile, User
from .selectors import is_member, is_owner

USER_FIELDS = ("full_name", "time_zone")
PROFILE_FIELDS = (
    "school",
    "programme",
    "graduation_year",
    "skills",
    "hours_per_week",
    "bio",
    "portfolio_links",
    "record_public",
)
EMPLOYER_FIELDS = ("name", "website", "description", "logo")


def _only(fields: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"{what} has no editable field(s) {', '.join(sorted(unknown))}")


def _check_self_or_staff(*, user: User, actor: User) -> None:
    if actor.pk != user.pk and not actor.is_staff:
        raise NotPermitted("You can only change your own account.")


# --- Sign-up ----------------------------------------------------------------------------------


@transaction.atomic
def user_signup_complete(
    *,
    user: User,
    role: str,
    full_name: str,
    organisation_name: str = "",
    invitation: Invitation | None = None,
    time_zone: str = "UTC",
) -> None:
    """Finish a sign-up (the user row exists): a student gets a profile; an employer either
    joins the organisation that invited them or gets a new organisation that they own.
    ``time_zone`` is the browser's, so that deadlines show in local time from the first page."""
    if role not in (User.Role.STUDENT, User.Role.EMPLOYER):  # staff are made by createsuperuser
        raise DomainError("Choose student or employer.", fields={"role": ["Invalid role."]})
    user.full_name = full_name
    user.role = role
    user.time_zone = time_zone
    user.full_clean(exclude=["password"])
    user.save(update_fields=["full_name", "role", "time_zone"])
    if role == User.Role.STUDENT:
        StudentProfile.objects.get_or_create(user=user)
        audit(action="user.signed_up", target=user, actor=user, role=role)
        return
    if invitation is not None and invitation.email.lower() == user.email.lower():
        audit(action="user.signed_up", target=user, actor=user, role=role)
        invitation_accept(invitation=invitation, user=user)
        return
    organisation_name = organisation_name.strip()
    if not organisation_name:
        raise DomainError(
            "An employer sign-up needs the organisation's name.",
            fields={"organisation_name": ["This field is required."]},
        )
    employer = Employer(name=organisation_name)
    employer.full_clean()
    employer.save()
    Membership.objects.create(employer=employer, user=user, role=Membership.Role.OWNER)
    audit(action="user.signed_up", target=user, actor=user, role=role)
    audit(action="employer.created", target=employer, actor=user)


# --- The user's own account -------------------------------------------------------------------


@transaction.atomic
def user_update(
    *, user: User, actor: User, full_name: str | None = None, time_zone: str | None = None
) -> User:
    """Change a user's name or time zone (the time zone every date is shown in)."""
    _check_self_or_staff(user=user, actor=actor)
    changed = {
        name: value
        for name, value in (("full_name", full_name), ("time_zone", time_zone))
        if value is not None and getattr(user, name) != value
    }
    if not changed:
        return user
    for name, value in changed.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save(update_fields=list(changed))
    audit(action="user.updated", target=user, actor=actor, fields=sorted(changed))
    return user


def normalise_skills(skills) -> list[str]:
    if isinstance(skills, str):
        skills = skills.split(",")
    seen: list[str] = []
    for skill in skills:
        name = " ".join(str(skill).split()).lower()[:50]
        if name and name not in seen:
            seen.append(name)
    return seen[:30]


@transaction.atomic
def student_profile_update(*, user: User, actor: User, **fields: Any) -> StudentProfile:
    """Update a student's profile; ``full_name`` and ``time_zone`` go to the user row."""
    _check_self_or_staff(user=user, actor=actor)
    if not user.is_student:
        raise NotPermitted("Only students have a student profile.")
    _only(fields, USER_FIELDS + PROFILE_FIELDS, "A student profile")
    user_fields = {name: fields.pop(name) for name in USER_FIELDS if name in fields}
    if user_fields:
        user_update(user=user, actor=actor, **user_fields)
    profile, _ = StudentProfile.objects.select_for_update().get_or_create(user=user)
    if "skills" in fields:
        fields["skills"] = normalise_skills(fields["skills"])
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.full_clean()
    profile.save()
    if fields:
        audit(action="student_profile.updated", target=profile, actor=actor, fields=sorted(fields))
    return profile


@transaction.atomic
def student_payout_country_set(*, user: User, country: str) -> StudentProfile:
    """The country the student is paid in, given at payout set-up; it cannot change later
    (the payout account is made in it), so a second, different answer is refused."""
    if not user.is_student:
        raise NotPermitted("Only students are paid out.")
    country = (country or "").upper()
    if not payout_countries.is_supported(country):
        raise DomainError(
            "Payouts are not available in that country.",
            code="payout_country",
            fields={"country": ["Choose the country of your bank account from the list."]},
        )
    profile, _ = StudentProfile.objects.select_for_update().get_or_create(user=user)
    if profile.payout_country == country:
        return profile
    if profile.payout_country:
        raise DomainError(
            "Your payout country is already set and cannot change.",
            code="payout_country",
            fields={"country": [f"It is {profile.get_payout_country_display()}."]},
        )
    profile.payout_country = country
    profile.save(update_fields=["payout_country"])
    audit(action="student_profile.payout_country_set", target=profile, actor=user, country=country)
    return profile


# --- Organisations ----------------------------------------------------------------------------


@transaction.atomic
def employer_update(*, employer: Employer, actor: User, **fields: Any) -> Employer:
    """Members edit their organisation's public details; ``verified`` is not among them."""
    _only(fields, EMPLOYER_FIELDS, "An organisation")
    if not is_member(actor, employer.pk):
        raise NotPermitted("Only members of this organisation can edit it.")
    for name, value in fields.items():
        setattr(employer, name, value)
    employer.full_clean()
    employer.save()
    audit(action="employer.updated", target=employer, actor=actor, fields=sorted(fields))
    return employer


@transaction.atomic
def employer_set_verified(*, employer: Employer, actor: User, verified: bool) -> Employer:
    if not actor.is_staff:
        raise NotPermitted("Only staff can verify employers.")
    employer = Employer.objects.select_for_update().get(pk=employer.pk)
    if employer.verified == verified:
        return employer
    employer.verified = verified
    employer.save(update_fields=["verified"])
    audit(
        action="employer.verified" if verified else "employer.unverified",
        target=employer,
        actor=actor,
    )
    return employer


def employer_stats_set(
    *, employer: Employer, response_rate: int | None, rating_average, rating_count: int
) -> None:
    """Store the employer's reputation figures (computed by the applications side)."""
    Employer.objects.filter(pk=employer.pk).update(
        response_rate=response_rate, rating_average=rating_average, rating_count=rating_count
    )


# --- Invitations ------------------------------------------------------------------------------


@transaction.atomic
def invitation_create(
    *, employer: Employer, actor: User, email: str, base_url: str | None = None
) -> Invitation:
    """An owner invites a colleague; the e-mail with the link leaves after the commit.

    Inviting the same address again while an invitation is open sends that invitation again
    instead of piling up links.
    """
    if not is_owner(user=actor, employer=employer):
        raise NotPermitted("Only an owner of the organisation can invite colleagues.")
    email = email.strip().lower()
    if employer.memberships.filter(user__email__iexact=email).exists():
        raise DomainError(f"{email} is already a member.", fields={"email": ["Already a member."]})
    invitation = next(
        (
            open_one
            for open_one in employer.invitations.filter(email=email, accepted_at__isnull=True)
            if open_one.is_open
        ),
        None,
    )
    if invitation is None:
        invitation = Invitation.objects.create(employer=employer, email=email, invited_by=actor)
    audit(action="employer.invited", target=employer, actor=actor, email=email)
    from .tasks import invitation_email_send_task

    invitation_email_send_task.delay_on_commit(invitation.pk, base_url or settings.SITE_URL)
    return invitation


def invitation_email_send(*, invitation_id: int, base_url: str) -> bool:
    """Send the invitation's e-mail with its link; False when it is no longer open."""
    invitation = (
        Invitation.objects.select_related("employer", "invited_by").filter(pk=invitation_id).first()
    )
    if invitation is None or not invitation.is_open:
        return False
    context = {
        "invitation": invitation,
        "link": base_url.rstrip("/") + reverse("accounts:invitation", args=[invitation.token]),
        "valid_days": settings.INVITATION_VALID_FOR.days,
    }
    send_mail(
        subject=render_to_string("accounts/email/invitation_subject.txt", context).strip(),
        message=render_to_string("accounts/email/invitation_message.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    return True


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the inviting organisation. Accepting again is harmless; another address is refused."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    existing = Membership.objects.filter(user=user).first()
    if existing and existing.employer_id == invitation.employer_id:
        return existing  # accepted already: running it twice is harmless
    if user.email.lower() != invitation.email.lower():
        raise NotPermitted(
            f"This invitation was sent to {invitation.email}; log in with that address to join."
        )
    if not invitation.is_open:
        raise DomainError("This invitation has expired or was already used.", code="expired")
    if existing or user.is_student:
        raise DomainError(
            "This account cannot join an organisation: it is a student account "
            "or already belongs to one.",
            code="cannot_join",
        )
    if user.role != User.Role.EMPLOYER:
        user.role = User.Role.EMPLOYER
        user.save(update_fields=["role"])
    membership = Membership.objects.create(employer=invitation.employer, user=user)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit(action="employer.member_joined", target=invitation.employer, actor=user)
    return membership


# --- API tokens -------------------------------------------------------------------------------


@transaction.atomic
def api_token_create(*, user: User, actor: User, name: str) -> tuple[ApiToken, str]:
    """A new named API token and its key. The key is returned this once: only its hash is
    kept. The caller has checked that ``actor`` logged in recently (see
    ``accounts.authentication.recently_logged_in``)."""
    if actor.pk != user.pk:
        raise NotPermitted("You can only create tokens for yourself.")
    name = (name or "").strip()
    if not name:
        raise DomainError("Name the token.", fields={"name": ["This field is required."]})
    if len(name) > 100:
        raise DomainError("At most 100 characters.", fields={"name": ["At most 100 characters."]})
    if user.api_tokens.count() >= settings.API_TOKENS_MAX:
        raise DomainError(
            f"You have {settings.API_TOKENS_MAX} tokens; revoke one you no longer use first.",
            code="too_many_tokens",
        )
    key = token_key_new()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[:PREFIX_LENGTH], key_hash=token_hash(key)
    )
    audit(action="api_token.created", target=user, actor=actor, token=token.pk, name=name)
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> None:
    """Revoke (delete) a token: programs using it stop at once. Revoking twice is harmless."""
    _check_self_or_staff(user=token.user, actor=actor)
    deleted, _ = ApiToken.objects.filter(pk=token.pk).delete()
    if deleted:
        audit(action="api_token.revoked", target=token.user, actor=actor, token=token.pk)


# --- Several parts at once (the API's PATCH /me/) ---------------------------------------------


@transaction.atomic
def account_update(
    *,
    user: User,
    actor: User,
    user_fields: dict[str, Any] | None = None,
    profile_fields: dict[str, Any] | None = None,
    employer_fields: dict[str, Any] | None = None,
) -> User:
    """Update the user, their student profile and their organisation together, or nothing."""
    from .selectors import employer_for_user

    user_fields = user_fields or {}
    _only(user_fields, USER_FIELDS, "A user")
    if profile_fields:
        student_profile_update(user=user, actor=actor, **user_fields, **profile_fields)
    elif user_fields:
        user_update(user=user, actor=actor, **user_fields)
    if employer_fields:
        employer = employer_for_user(user)
        if employer is None:
            raise NotPermitted("You do not belong to an organisation.")
        employer_update(employer=employer, actor=actor, **employer_fields)
    return user
