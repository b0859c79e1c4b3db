"""Reads with logic about accounts."""

from allauth.account.models import EmailAddress
from django.http import Http404

from .models import ApiToken, Employer, Invitation, Membership, StudentProfile, User

_CACHE = "_employer_cache"


def employer_for_user(user: User) -> Employer | None:
    """The organisation a user acts for, or None (students, staff without one)."""
    if not getattr(user, "is_authenticated", False):
        return None
    cached: Employer | None | bool = getattr(user, _CACHE, False)
    if cached is not False:
        return cached  # type: ignore[return-value]  # an Employer or None once cached
    membership = Membership.objects.select_related("employer").filter(user=user).first()
    employer = membership.employer if membership else None
    setattr(user, _CACHE, employer)  # once per request object: views ask several times
    return employer


def is_member(user, employer_id: int | None) -> bool:
    """Does ``user`` act for the employer ``employer_id``? The one membership check (pages,
    API, services): a user acts for one organisation, ``employer_for_user``'s (cached on the
    user object, so a page that asks several times costs one query)."""
    employer = employer_for_user(user)
    return employer is not None and employer.pk == employer_id


def is_owner(*, user: User, employer: Employer) -> bool:
    return employer.memberships.filter(user=user, role=Membership.Role.OWNER).exists()


def student_profile_for(user: User) -> StudentProfile | None:
    """The student's profile, or None (employers; a student whose sign-up made none yet)."""
    if not getattr(user, "is_authenticated", False) or not user.is_student:
        return None
    return StudentProfile.objects.filter(user=user).first()


def email_is_taken(email: str) -> bool:
    """Whether an account already uses ``email`` (as its login or as an added address)."""
    return (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    )


def invitation_by_token(token: str) -> Invitation | None:
    # PostgreSQL refuses a NUL character in a query: such a token matches nothing, without a 500.
    if not token or "\x00" in token:
        return None
    return Invitation.objects.select_related("employer", "invited_by").filter(token=token).first()


def open_invitations(employer: Employer):
    return employer.invitations.filter(accepted_at__isnull=True).select_related("invited_by")


def employer_members(employer: Employer):
    return employer.memberships.select_related("user").order_by("-role", "created_at")


def api_tokens_of(user: User):
    """The user's API tokens, newest first (names, prefixes and dates; never a key)."""
    return ApiToken.objects.filter(user=user)


def api_token_get(*, pk: int, user: User) -> ApiToken:
    """The user's own token, else Http404 (another's token does not exist for them)."""
    token = ApiToken.objects.filter(pk=pk, user=user).select_related("user").first()
    if token is None:
        raise Http404("No such token.")
    return token


def staff_users():
    """Active staff (the moderators), e.g. to tell them that work waits."""
    return User.objects.filter(is_staff=True, is_active=True).order_by("pk")
