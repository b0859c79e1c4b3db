"""Reports from users and the staff's moderation: the queue and the decisions on a posting."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from marketplace.core.access import staff_required
from marketplace.core.errors import DomainError
from marketplace.core.http import require_form_page, safe_next_url

from .. import selectors, services
from ..forms import ReasonForm, ReportForm
from ..models import Posting


@require_form_page
@login_required
def posting_report(request, pk: int):
    posting = selectors.posting_get_visible(pk=pk, user=request.user)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.posting_report(
                posting=posting, reporter=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            form.add_error("reason" if "reason" in exc.fields else None, exc.message)
        else:
            messages.success(request, "Thank you. A moderator will look at this posting.")
            return redirect("postings:list")
    return render(
        request,
        "postings/report.html",
        {"posting": posting, "form": form},
        status=400 if request.method == "POST" else 200,
    )


MODERATION_ACTIONS: dict[str, tuple[Callable[..., Posting], str]] = {
    "approve": (services.posting_approve, "Approved and published."),
    "request_changes": (services.posting_request_changes, "Changes requested."),
    "reject": (services.posting_reject, "Rejected."),
    "suspend": (services.posting_suspend, "Suspended."),
    "reinstate": (services.posting_reinstate, "Reinstated and published again."),
    "remove": (services.posting_remove, "Removed."),
    "dismiss_reports": (services.posting_reports_dismiss, "Reports dismissed."),
}


@require_safe
@staff_required
def moderation_queue(request):
    queue = {name: list(qs[:100]) for name, qs in selectors.moderation_queue().items()}
    return render(request, "postings/moderation.html", queue | {"reason_form": ReasonForm()})


@require_POST
@staff_required
def moderate(request, pk: int):
    posting = selectors.posting_get_visible(pk=pk, user=request.user)
    action = request.POST.get("action", "")
    if action not in MODERATION_ACTIONS:
        messages.error(request, "Unknown moderation action.")
        return redirect("postings:moderation")
    service, done = MODERATION_ACTIONS[action]
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else None
    if reason is None:
        messages.error(request, "The reason can have at most 2000 characters.")
        return _redirect_back(request)
    kwargs = {"posting": posting, "actor": request.user}
    if action != "dismiss_reports":
        kwargs["reason"] = reason
    try:
        service(**kwargs)
    except DomainError as exc:
        messages.error(request, f"{posting.title}: {exc.message}")
        return _redirect_back(request)
    messages.success(request, f"{posting.title}: {done}")
    if action in REVIEW_DECISIONS and _came_from(request, posting):
        return _next_for_review(request, posting)
    return _redirect_back(request)


# Decisions on a posting waiting for review: after one, the moderator is shown the next.
REVIEW_DECISIONS = {"approve", "request_changes", "reject"}


def _came_from(request, posting: Posting) -> bool:
    return request.POST.get("next") == reverse("postings:detail", args=[posting.pk])


def _next_for_review(request, posting: Posting):
    """From a posting's page, on to the next one waiting (the queue shows the rest itself)."""
    following = selectors.moderation_next(exclude_pk=posting.pk)
    if following is None:
        messages.info(request, "Nothing else is waiting for review.")
        return redirect("postings:moderation")
    messages.info(request, f"Next waiting for review: {following.title}")
    return redirect("postings:detail", pk=following.pk)


def _redirect_back(request):
    """Back to the page the moderator came from, if it is on this site; else the queue."""
    return redirect(safe_next_url(request, reverse("postings:moderation")))
