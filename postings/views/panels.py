"""This app's parts of the dashboard (registered in ``PostingsConfig.ready``)."""

from __future__ import annotations

from .. import selectors
from ..fit import search_link
from ..models import Posting


def recommended_panel(request):
    user = request.user
    if not user.is_authenticated or not user.is_student:
        return None
    # Through the user, so that the other panels of the page find it loaded.
    profile = getattr(user, "student_profile", None)
    skills = list(profile.skills) if profile else []
    hours = profile.hours_per_week if profile else 10
    return "postings/panel_recommended.html", {
        "postings": selectors.postings_recommended(
            skills=skills, hours_per_week=hours, student=user
        ),
        "hours": hours,
        "has_skills": bool(skills),
        "more_link": search_link(max_hours_per_week=hours),
    }


def staff_panel(request):
    """Dashboard panel for staff: what waits for moderation, and the way to the next one."""
    if not request.user.is_authenticated or not request.user.is_staff:
        return None
    return "postings/panel_staff.html", {
        "counts": selectors.moderation_counts(),
        "next_posting": selectors.moderation_next(),
    }


def employer_panel(request):
    from accounts.selectors import employer_for_user

    user = request.user
    if not user.is_authenticated or not user.is_employer:
        return None
    employer = employer_for_user(user)
    if employer is None:
        return None
    counts = selectors.status_counts(employer=employer)
    return "postings/panel_employer.html", {
        "counts": [
            (label, counts.get(s, 0)) for s, label in Posting.Status.choices if counts.get(s)
        ],
    }
