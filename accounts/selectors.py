"""Reads with logic about accounts."""

from .models import Employer, Membership, User


def employer_for_user(user: User) -> Employer | None:
    """The organisation a user acts for, or None (students, staff without one)."""
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_employer_cache", False)
    if cached is not False:
        return cached
    membership = Membership.objects.select_related("employer").filter(user=user).first()
    user._employer_cache = membership.employer if membership else None
    return user._employer_cache


def is_owner(*, user: User, employer: Employer) -> bool:
    return employer.memberships.filter(user=user, role=Membership.Role.OWNER).exists()
