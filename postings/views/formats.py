"""Choosing a format: which formats suit a student's goal and weekly hours (``postings.fit``)."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_safe

from ..fit import formats_for, search_link, widened
from ..forms import FitForm
from ..models import Format


@require_safe
def format_guide(request):
    form = FitForm(request.GET or None)
    advice = None
    if request.GET and form.is_valid():
        hours, goal = form.cleaned_data["hours_per_week"], form.cleaned_data["goal"]
        formats = formats_for(hours_per_week=hours, goal=goal)
        params: dict = {"format": formats, "max_hours_per_week": hours}
        if goal == "earn":
            params["compensation"] = "paid"
            params["sort"] = "pay"
        params, widened_note = widened(params)
        advice = {
            "widened": widened_note,
            "note": (
                "Projects and internships usually ask for 10 or more hours a week, so they "
                "are left out."
                if hours < 10 and goal in ("deep", "portfolio")
                else ""
            ),
            "formats": [Format(f).label for f in formats],
            "link": search_link(**params),
            "hours": hours,
        }
    links = {f.value: search_link(format=f.value) for f in Format}
    return render(
        request,
        "postings/formats.html",
        {"form": form, "advice": advice, "links": links},
        status=400 if request.GET and not form.is_valid() else 200,
    )
