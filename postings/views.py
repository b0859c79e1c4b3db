"""Pages: finding work (public), the employer's postings, moderation, choosing a format."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import StudentProfile
from accounts.views import employer_required, student_required
from marketplace.core.access import staff_required
from marketplace.core.errors import DomainError
from marketplace.core.http import safe_next_url
from marketplace.core.money import exponent

from . import rules, selectors, services
from .cache import cache_anonymous
from .cards import posting_cards
from .filter_form import options_html
from .filters import PostingFilter, describe_query, filterset_query
from .fit import formats_for, search_link, widened
from .forms import (
    FitForm,
    MilestoneFormSet,
    PostingForm,
    QuestionFormSet,
    ReasonForm,
    ReportForm,
    SavedSearchForm,
    milestone_initial,
    question_initial,
)
from .markdown import render_markdown
from .models import Format, Posting
from .pagination import (
    DEFAULT_PAGE_SIZE,
    InvalidCursor,
    InvalidPageSize,
    page_size_from,
    paginate,
)
from .parts import render_detail_parts

# --- Finding work ----------------------------------------------------------------------------


# The result count reads at most this many matches: counting every match of a broad filter at
# 100,000 postings would cost more than the page itself. Beyond it the page says "1,000+".
COUNT_LIMIT = 1000


def _bounded_count(queryset) -> int:
    """The number of matches, up to ``COUNT_LIMIT`` + 1 (which means "more")."""
    return queryset.order_by()[: COUNT_LIMIT + 1].count()


@cache_anonymous("page")
def posting_list(request):
    """The public list: filters, search, sort and keyset pages (see ``postings.pagination``);
    anonymous visitors' answers are cached briefly (see ``postings.cache``)."""
    filterset = PostingFilter(request.GET, queryset=selectors.postings_listed())
    errors: list[str] = []
    page = None
    try:
        page_size = page_size_from(request.GET.get("page_size"))
    except InvalidPageSize as exc:
        errors.append(str(exc))
        page_size = DEFAULT_PAGE_SIZE
    if filterset.is_valid() and not errors:
        sort = filterset.sort_name(searching=bool(filterset.form.cleaned_data.get("q")))
        try:
            page = paginate(
                filterset.qs, sort=sort, cursor=request.GET.get("cursor"), page_size=page_size
            )
        except InvalidCursor as exc:
            errors.append(str(exc))
    status = 400 if errors or not filterset.is_valid() else 200

    def link(cursor):
        params = request.GET.copy()
        params["cursor"] = cursor
        return f"?{params.urlencode()}"

    fields = filterset.form.fields
    chosen = request.GET.getlist
    save_query = filterset_query(filterset) if status == 200 else ""
    return render(
        request,
        "postings/list.html",
        {
            "filter": filterset,
            # Saving "all postings" says nothing: offered once a filter or a search is set.
            "can_save": status == 200 and bool(save_query),
            "total": (total := _bounded_count(filterset.qs) if page is not None else None),
            "total_label": f"{COUNT_LIMIT:,}+" if total and total > COUNT_LIMIT else total,
            "save_query": save_query,
            "save_name": ", ".join(describe_query(save_query))[:80] or "All postings",
            "login_to_save": reverse("account_login")
            + "?"
            + urlencode({"next": request.get_full_path()}),
            "selected": {
                "q": request.GET.get("q", ""),
                "lists": {name: request.GET.getlist(name) for name in request.GET},
                "values": {name: request.GET.get(name, "") for name in request.GET},
            },
            "checkbox_groups": [
                (name, label, options_html("checkbox", name, fields[name].choices, chosen(name)))
                for name, label in [("format", "Format"), ("work_mode", "Work mode")]
            ],
            "select_fields": [
                (
                    name,
                    label,
                    options_html("option", name, fields[name].choices, chosen(name)),
                    many,
                )
                for name, label, many in [
                    ("compensation", "Paid or credit", False),
                    ("category", "Category", False),
                    ("skill", "Skills", True),
                    ("sort", "Sort by", False),
                ]
            ],
            "input_fields": [
                ("min_pay", "Minimum pay", "number", "0.01"),
                ("max_hours_per_week", "Maximum hours per week", "number", "1"),
                ("starts_after", "Starts on or after", "date", ""),
                ("starts_before", "Starts on or before", "date", ""),
            ],
            "page": page,
            "cards": posting_cards(page.items) if page else [],
            "errors": errors,
            "next_link": link(page.next_cursor) if page and page.next_cursor else "",
            "previous_link": link(page.previous_cursor) if page and page.previous_cursor else "",
        },
        status=status,
    )


def posting_detail(request, pk: int):
    user = request.user if request.user.is_authenticated else None
    posting = selectors.posting_get_visible(pk=pk, user=user)
    # Read once for the page and for the parts other apps add (the apply form's questions).
    prefetch_related_objects([posting], "milestones", "questions")
    is_member = user is not None and selectors.posting_is_member(posting=posting, user=user)
    context = {
        "posting": posting,
        "description_html": posting.description_html,
        "criteria_html": posting.criteria_html,
        "milestones": list(posting.milestones.all()),
        "questions": list(posting.questions.all()),
        "skills": posting.skill_list,
        "is_member": is_member,
        "can_moderate": bool(user and user.is_staff),
        "pay_floor": rules.pay_floor(),
        "parts": render_detail_parts(request, posting),
    }
    if is_member or context["can_moderate"]:
        values = rules.Values.of(posting)
        context["warnings"] = rules.posting_warnings(values) if is_member else []
        context["problems"] = (
            rules.posting_errors(values) if posting.status in Posting.EDITABLE else {}
        )
        context["decisions"] = list(posting.decisions.select_related("actor")[:10])
        context["reason_form"] = ReasonForm()
    return render(request, "postings/detail.html", context)


# --- Saved searches ----------------------------------------------------------------------------


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


@student_required
@require_POST
def saved_search_delete(request, pk: int):
    saved_search = selectors.saved_search_get_own(pk=pk, user=request.user)
    services.saved_search_delete(saved_search=saved_search, actor=request.user)
    messages.success(request, f"The saved search “{saved_search.name}” is deleted.")
    return redirect("postings:saved_searches")


# --- Employers: create, edit, preview, submit, withdraw, duplicate -----------------------------


def _formsets(request, posting: Posting | None):
    if request.method == "POST":
        # The milestones' amounts are in the currency chosen on the same form.
        currency = request.POST.get("currency", "")
        return (
            MilestoneFormSet(request.POST, prefix="milestones", form_kwargs={"currency": currency}),
            QuestionFormSet(request.POST, prefix="questions"),
        )
    return (
        MilestoneFormSet(
            prefix="milestones",
            initial=milestone_initial(posting) if posting else None,
            form_kwargs={"currency": posting.currency if posting else ""},
        ),
        QuestionFormSet(prefix="questions", initial=question_initial(posting) if posting else None),
    )


def _rows(formset) -> list[dict]:
    return [row for row in (form.value() for form in formset.forms) if row is not None]


def _editor(request, posting: Posting | None):
    form = PostingForm(
        request.POST or None, initial=PostingForm.initial_for(posting) if posting else None
    )
    milestones, questions = _formsets(request, posting)
    extra_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        valid = all([form.is_valid(), milestones.is_valid(), questions.is_valid()])
        if valid:
            values = form.to_values(milestones=_rows(milestones), questions=_rows(questions))
            try:
                if posting is None:
                    posting = services.posting_create(
                        employer=request.employer, actor=request.user, values=values
                    )
                else:
                    posting = services.posting_update(
                        posting=posting, actor=request.user, values=values
                    )
            except DomainError as exc:
                extra_errors = form.add_rule_errors(exc.fields or {"__all__": [exc.message]})
            else:
                warnings = rules.posting_warnings(rules.Values.of(posting))
                for warning in warnings:
                    messages.warning(request, warning)
                if request.POST.get("then") == "submit":
                    return _submit_saved(request, posting)
                messages.success(
                    request, "The draft is saved. Check it below, then submit it for review."
                )
                return redirect("postings:detail", pk=posting.pk)
    status = 400 if request.method == "POST" else 200
    currency = form["currency"].value() or "USD"
    return render(
        request,
        "postings/form.html",
        {
            "form": form,
            "milestones": milestones,
            "questions": questions,
            "milestone_errors": extra_errors.get("milestones", []),
            "question_errors": extra_errors.get("questions", []),
            "other_errors": [
                m
                for k, v in extra_errors.items()
                if k not in ("milestones", "questions")
                for m in v
            ],
            "posting": posting,
            "pay_floor_minor": rules.pay_floor(),
            "currency": currency,
            # For the page's script: how many decimals each currency's amounts have.
            "currency_digits": {c: exponent(c) for c in settings.SUPPORTED_CURRENCIES},
        },
        status=status,
    )


@employer_required
def posting_create(request):
    return _editor(request, None)


@employer_required
def posting_edit(request, pk: int):
    posting = selectors.posting_get_owned(pk=pk, user=request.user)
    if posting.status not in Posting.EDITABLE:
        messages.error(
            request,
            f"A posting that is {posting.get_status_display().lower()} cannot be edited; "
            "duplicate it to make a new one.",
        )
        return redirect("postings:detail", pk=posting.pk)
    return _editor(request, posting)


@employer_required
@require_POST
def posting_preview(request):
    """The htmx preview: the description as students will see it, the derived facts, and the
    warnings (pay floor) the employer should read before submitting."""
    form = PostingForm(request.POST)
    milestones, questions = _formsets(request, None)
    form.is_valid()
    milestones.is_valid()
    questions.is_valid()
    facts, warnings, problems = {}, [], []
    data = form.cleaned_data
    try:
        values = form.to_values(milestones=_rows(milestones), questions=_rows(questions))
    except (KeyError, TypeError):
        values = None
    if values is not None and values.duration_hours and values.effort_hours:
        if 1 <= values.duration_hours <= rules.MAX_DURATION_HOURS:
            from .models import format_for_duration

            facts["format"] = Format(format_for_duration(values.duration_hours)).label
            weeks = max(values.duration_hours / rules.WEEK, 1)
            facts["hours_per_week"] = round(values.effort_hours / weeks, 1)
        if values.is_paid and values.amount:
            facts["pay_per_hour"] = rules.format_money(
                values.amount // values.effort_hours, values.currency or ""
            )
        warnings = rules.posting_warnings(values)
        problems = [m for ms in rules.posting_errors(values).values() for m in ms]
    html = render_markdown(data.get("description") or request.POST.get("description", ""))
    criteria = data.get("acceptance_criteria") or request.POST.get("acceptance_criteria", "")
    paid = values is not None and values.is_paid and bool(values.amount)
    return render(
        request,
        "postings/_preview.html",
        {
            "html": html,
            "criteria_html": render_markdown(criteria) if criteria else "",
            "milestones": _rows(milestones),
            "paid": paid,
            "amount": values.amount if paid else 0,
            "currency": (values.currency if values is not None else "") or "",
            "facts": facts,
            "warnings": warnings,
            "problems": problems,
        },
    )


def submitted_message(posting: Posting) -> str:
    """What happens after submitting, by the posting's new status."""
    if posting.status == Posting.Status.PUBLISHED:
        return "Published: students can find this posting and apply now."
    return (
        "Submitted for review. A moderator checks it, usually within a working day; you will "
        "get a notification when it is published or if changes are needed."
    )


def _submit_saved(request, posting: Posting):
    """ "Submit for review" on the editor: the posting is saved; submit it in the same step."""
    try:
        posting = services.posting_submit(posting=posting, actor=request.user)
    except DomainError as exc:
        messages.error(
            request, f"The draft is saved, but it cannot be submitted yet: {exc.message}"
        )
    else:
        messages.success(request, submitted_message(posting))
    return redirect("postings:detail", pk=posting.pk)


def _owned_action(request, pk: int, action, success: str):
    posting = selectors.posting_get_owned(pk=pk, user=request.user)
    try:
        result = action(posting=posting, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("postings:detail", pk=posting.pk)
    messages.success(request, success.format(status=result.get_status_display().lower()))
    return redirect("postings:detail", pk=result.pk)


@employer_required
@require_POST
def posting_submit(request, pk: int):
    posting = selectors.posting_get_owned(pk=pk, user=request.user)
    return _submit_saved(request, posting)


@employer_required
@require_POST
def posting_withdraw(request, pk: int):
    return _owned_action(request, pk, services.posting_withdraw, "The posting is closed.")


@employer_required
@require_POST
def posting_duplicate(request, pk: int):
    return _owned_action(
        request, pk, services.posting_duplicate, "A copy was made as a draft; edit it and submit."
    )


@employer_required
def my_postings(request):
    counts = selectors.status_counts(employer=request.employer)
    status = request.GET.get("status", "")
    postings = selectors.postings_of_employer(employer=request.employer)
    if status in Posting.Status.values:
        postings = postings.filter(status=status)
    return render(
        request,
        "postings/mine.html",
        {
            "postings": postings[:200],
            "counts": [(s, label, counts.get(s, 0)) for s, label in Posting.Status.choices],
            "total": sum(counts.values()),
            "status": status,
        },
    )


# --- Reports ----------------------------------------------------------------------------------


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


# --- Moderation -------------------------------------------------------------------------------

MODERATION_ACTIONS: dict[str, tuple[Callable[..., Posting], str]] = {
    "approve": (services.posting_approve, "Approved and published."),
    "request_changes": (services.posting_request_changes, "Changes requested."),
    "reject": (services.posting_reject, "Rejected."),
    "suspend": (services.posting_suspend, "Suspended."),
    "reinstate": (services.posting_reinstate, "Reinstated and published again."),
    "remove": (services.posting_remove, "Removed."),
    "dismiss_reports": (services.posting_reports_dismiss, "Reports dismissed."),
}


@staff_required
def moderation_queue(request):
    queue = {name: list(qs[:100]) for name, qs in selectors.moderation_queue().items()}
    return render(request, "postings/moderation.html", queue | {"reason_form": ReasonForm()})


@staff_required
@require_POST
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


# --- Choosing a format ------------------------------------------------------------------------


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


# --- The student's dashboard panel --------------------------------------------------------------


def recommended_panel(request):
    user = request.user
    if not user.is_authenticated or not user.is_student:
        return None
    profile = StudentProfile.objects.filter(user=user).first()
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
