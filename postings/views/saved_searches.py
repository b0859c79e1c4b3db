"""The student's saved searches: saving one from the list, the list of them, deleting one."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.views import student_required
from marketplace.core.errors import DomainError
from marketplace.core.http import require_form_page

from .. import selectors, services
from ..filters import describe_query
from ..forms import SavedSearchForm


@require_form_page
@student_required
def saved_searches(request):
    """The student's saved searches, and saving one (the list page's "Save this search")."""
    form = SavedSearchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.saved_search_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                filters=QueryDict(form.cleaned_data["query"]),
            )
        except DomainError as exc:
            if "name" in exc.fields:
                form.add_error("name", exc.fields["name"])
            else:
                form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Search saved. New postings that match it come in a daily digest (around "
                f"{settings.SAVED_SEARCH_DIGEST_HOUR}:00 your time).",
            )
            return redirect("postings:saved_searches")
    searches = list(selectors.saved_searches_of(user=request.user))
    return render(
        request,
        "postings/saved_searches.html",
        {
            "form": form,
            "searches": [(s, describe_query(s.query)) for s in searches],
            "limit": settings.SAVED_SEARCHES_MAX,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@student_required
def saved_search_delete(request, pk: int):
    saved_search = selectors.saved_search_get_own(pk=pk, user=request.user)
    services.saved_search_delete(saved_search=saved_search, actor=request.user)
    messages.success(request, f"The saved search “{saved_search.name}” is deleted.")
    return redirect("postings:saved_searches")
