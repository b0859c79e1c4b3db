"""This app's parts of the dashboard (registered in ``PostingsConfig.ready``)."""

from __future__ import annotations

from accounts.views import panel_for_employers, panel_for_staff, panel_for_students

from .. import selectors
from ..fit import search_link
from ..models import Posting


@panel_for_students
def recommended_panel(request):
    user = request.user
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


@panel_for_staff
def staff_panel(request):
    """Dashboard panel for staff: what waits for moderation, and the way to the next one."""
    return "postings/panel_staff.html", {
        "counts": selectors.moderation_counts(),
        "next_posting": selectors.moderation_next(),
    }


@panel_for_employers
def employer_panel(request, employer):
    counts = selectors.status_counts(employer=employer)
    return "postings/panel_employer.html", {
        "counts": [
            (label, counts.get(s, 0)) for s, label in Posting.Status.choices if counts.get(s)
        ],
    }
