"""Every write to accounts goes through here."""

from django.db import transaction
from django.utils import timezone

from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted

from .models import Employer, Invitation, Membership, StudentProfile, User


@transaction.atomic
def user_setup_role(*, user: User, role: str, organisation_name: str = "") -> None:
    """Finish a sign-up: a student gets a profile, an employer gets a new organisation."""
    user.role = role
    user.save(update_fields=["role"])
    if role == User.Role.STUDENT:
        StudentProfile.objects.get_or_create(user=user)
    else:
        if not organisation_name:
            raise DomainError(
                "An employer sign-up needs the organisation's name.",
                fields={"organisation_name": ["This field is required."]},
            )
        employer = Employer.objects.create(name=organisation_name)
        Membership.objects.create(employer=employer, user=user, role=Membership.Role.OWNER)
        audit(action="employer.created", target=employer, actor=user)


def student_profile_update(*, user: User, **fields) -> StudentProfile:
    profile, _ = StudentProfile.objects.get_or_create(user=user)
    user_fields = {k: fields.pop(k) for k in ("full_name", "time_zone") if k in fields}
    if "skills" in fields:
        fields["skills"] = normalise_skills(fields["skills"])
    for name, value in fields.items():
        setattr(profile, name, value)
    with transaction.atomic():
        profile.full_clean()
        profile.save()
        if user_fields:
            for name, value in user_fields.items():
                setattr(user, name, value)
            user.full_clean(exclude=["password"])
            user.save(update_fields=list(user_fields))
    return profile


def normalise_skills(skills) -> list[str]:
    if isinstance(skills, str):
        skills = skills.split(",")
    seen: list[str] = []
    for skill in skills:
        name = " ".join(str(skill).split()).lower()[:50]
        if name and name not in seen:
            seen.append(name)
    return seen[:30]


def employer_update(*, employer: Employer, actor: User, **fields) -> Employer:
    if not employer.memberships.filter(user=actor).exists():
        raise NotPermitted("Only members of this organisation can edit it.")
    for name, value in fields.items():
        setattr(employer, name, value)
    with transaction.atomic():
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


@transaction.atomic
def invitation_create(*, employer: Employer, actor: User, email: str) -> Invitation:
    if not employer.memberships.filter(user=actor, role=Membership.Role.OWNER).exists():
        raise NotPermitted("Only an owner of the organisation can invite colleagues.")
    email = email.strip().lower()
    if employer.memberships.filter(user__email__iexact=email).exists():
        raise DomainError(f"{email} is already a member.", fields={"email": ["Already a member."]})
    invitation = Invitation.objects.create(employer=employer, email=email, invited_by=actor)
    audit(action="employer.invited", target=employer, actor=actor, email=email)
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    existing = Membership.objects.filter(user=user).first()
    if existing and existing.employer_id == invitation.employer_id:
        return existing  # accepted already: running it twice is harmless
    if not invitation.is_open:
        raise DomainError("This invitation has expired or was already used.")
    if user.email.lower() != invitation.email.lower():
        raise NotPermitted("This invitation was sent to another e-mail address.")
    if existing or user.is_student:
        raise DomainError(
            "This account cannot join an organisation: it is a student account "
            "or already belongs to one."
        )
    user.role = User.Role.EMPLOYER
    user.save(update_fields=["role"])
    membership = Membership.objects.create(employer=invitation.employer, user=user)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit(action="employer.member_joined", target=invitation.employer, actor=user)
    return membership


def user_update(*, user: User, **fields) -> User:
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save(update_fields=list(fields))
    return user


def employer_stats_set(
    *, employer: Employer, response_rate: int | None, rating_average, rating_count: int
) -> None:
    """Store the employer's reputation figures (computed by the applications side)."""
    Employer.objects.filter(pk=employer.pk).update(
        response_rate=response_rate, rating_average=rating_average, rating_count=rating_count
    )
