"""Employers' postings: create, edit, preview, submit, withdraw, duplicate, and their list."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from accounts.views import employer_required
from marketplace.core.errors import DomainError
from marketplace.core.http import require_form_page
from marketplace.core.money import exponent

from .. import rules, selectors, services
from ..forms import (
    MilestoneFormSet,
    PostingForm,
    QuestionFormSet,
    milestone_initial,
    question_initial,
)
from ..markdown import render_markdown
from ..models import Format, Posting, format_for_duration


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


@require_form_page
@employer_required
def posting_create(request):
    return _editor(request, None)


@require_form_page
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


@require_POST
@employer_required
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


@require_POST
@employer_required
def posting_submit(request, pk: int):
    posting = selectors.posting_get_owned(pk=pk, user=request.user)
    return _submit_saved(request, posting)


@require_POST
@employer_required
def posting_withdraw(request, pk: int):
    return _owned_action(request, pk, services.posting_withdraw, "The posting is closed.")


@require_POST
@employer_required
def posting_duplicate(request, pk: int):
    return _owned_action(
        request, pk, services.posting_duplicate, "A copy was made as a draft; edit it and submit."
    )


@require_safe
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
