"""Pages for applying, selecting, doing and reviewing the work. Views parse input, call one
service, and render; objects the viewer may not see are 404 (see ``selectors``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.selectors import employer_for_user
from accounts.views import (
    employer_required,
    student_required,
)
from marketplace.core.access import staff_required
from marketplace.core.errors import DomainError
from marketplace.core.http import require_form_page, safe_next_url
from marketplace.core.money import format_money
from marketplace.core.storage import private_file_response
from postings.models import Posting
from postings.selectors import posting_get_owned, posting_get_visible

from . import pages, selectors, services
from .forms import (
    ApplyForm,
    DisputeForm,
    MessageForm,
    OfferForm,
    RatingForm,
    ReInviteForm,
    RejectForm,
    RevisionForm,
    SubmissionForm,
    add_domain_error,
)
from .models import Application, Assignment, ReInvite
from .selectors import EMPLOYER, STAFF, STUDENT
from .uploads import content_type_for


def _attachment(field_file, filename: str, content_type: str):
    """A private file, always as a download, never rendered by the browser (streamed, or a
    short-lived pre-signed URL of the bucket: ``marketplace.core.storage``)."""
    return private_file_response(field_file, filename, content_type)


# --- Applying --------------------------------------------------------------------------------


@require_form_page
@student_required
def apply(request, posting_pk: int):
    posting = posting_get_visible(pk=posting_pk, user=request.user)
    existing = Application.objects.filter(
        posting=posting, student=request.user, status__in=list(Application.OPEN)
    ).first()
    if existing:
        messages.info(request, "You have already applied to this posting.")
        return redirect("applications:detail", existing.pk)
    invite = ReInvite.objects.filter(posting=posting, student=request.user).first()
    # Bound on every POST, even an empty one: a closed posting adds its reason to the form's
    # errors, which an unbound form does not have.
    bound = request.method == "POST"
    form = ApplyForm(
        request.POST if bound else None, request.FILES if bound else None, posting=posting
    )
    refusal = posting.application_refusal()
    blocker = refusal[1] if refusal else ""
    if request.method == "POST" and blocker:
        form.is_valid()
        form.add_error(None, blocker)
    elif request.method == "POST" and form.is_valid():
        try:
            application = services.application_submit(
                posting=posting,
                student=request.user,
                cover_note=form.cleaned_data["cover_note"],
                answers=form.answers(),
                portfolio_links=form.links(),
                cv=form.cleaned_data.get("cv"),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _sent_message(posting))
            return redirect("applications:detail", application.pk)
    return render(
        request,
        "applications/apply.html",
        {
            "posting": posting,
            "form": form,
            "blocker": refusal[1] if refusal else "",
            "invite": invite,
        },
        status=400 if request.method == "POST" else 200,
    )


def _sent_message(posting: Posting) -> str:
    """What happens after applying: who reviews, and how long an offer stays open."""
    hours = int(settings.OFFER_RESPONSE_WINDOW.total_seconds() // 3600)
    deadline = timezone.localtime(posting.application_deadline).strftime("%-d %b %Y")
    return (
        f"Your application was sent. {posting.employer.name} reviews applications until "
        f"{deadline}; you will get a notification when they answer. If they make you an offer, "
        f"you have {hours} hours to accept it."
    )


def apply_part(request, posting: Posting):
    """On a posting's page, for a student: the application form itself (one screen from the
    posting to "sent"), or the application they already sent."""
    user = request.user
    if not user.is_authenticated or not user.is_student or user.is_staff:
        return None
    existing = (
        Application.objects.filter(posting=posting, student=user).order_by("-created_at").first()
    )
    if existing is not None and existing.status in Application.OPEN:
        return "applications/_apply_part.html", {"existing": existing, "posting": posting}
    if not posting.accepts_applications:
        return None
    form = ApplyForm(posting=posting)
    return "applications/_apply_part.html", {"form": form, "posting": posting}


@require_safe
@student_required
def my_applications(request):
    return render(
        request,
        "applications/my_applications.html",
        {"applications": selectors.applications_for_student(request.user)},
    )


@require_safe
@login_required
def application_detail(request, pk: int):
    application, role = selectors.application_get_for_user(pk=pk, user=request.user)
    return pages.application_page(
        request, application, role, message_form=_message_form(request, application)
    )


MOVES = {"withdraw", "shortlist", "reject", "offer", "accept", "decline"}


@require_POST
@login_required
def application_move(request, pk: int, move: str):
    application, role = selectors.application_get_for_user(pk=pk, user=request.user)
    if move not in MOVES or role == STAFF:
        raise Http404
    actor = request.user
    try:
        if move == "withdraw":
            services.application_withdraw(application=application, actor=actor)
            messages.success(request, "Your application was withdrawn.")
        elif move == "shortlist":
            services.application_shortlist(application=application, actor=actor)
            messages.success(request, f"{application.student.display_name} is shortlisted.")
        elif move == "reject":
            form = RejectForm(request.POST)
            if not form.is_valid():
                return _decision_refused(request, application, role, reject_form=form)
            services.application_reject(
                application=application,
                actor=actor,
                message=form.cleaned_data.get("message", ""),
            )
            messages.success(request, "The application was closed and the student told.")
        elif move == "offer":
            offer_form = OfferForm(request.POST)
            if not offer_form.is_valid():
                return _decision_refused(request, application, role, offer_form=offer_form)
            try:
                services.application_offer(
                    application=application,
                    actor=actor,
                    expires_at=offer_form.cleaned_data.get("expires_at"),
                )
            except DomainError as exc:
                if not exc.fields:  # the offer itself is refused, not the date typed
                    raise
                add_domain_error(offer_form, exc)
                return _decision_refused(request, application, role, offer_form=offer_form)
            messages.success(request, "The offer was sent.")
        elif move == "accept":
            assignment = services.application_accept(application=application, actor=actor)
            messages.success(
                request,
                "You accepted the offer. "
                + (
                    "The work starts when the employer has funded it."
                    if assignment.status == Assignment.Status.AWAITING_FUNDING
                    else "The assignment has started."
                ),
            )
            return redirect("applications:assignment", assignment.pk)
        elif move == "decline":
            services.application_decline(application=application, actor=actor)
            messages.success(request, "You declined the offer.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(safe_next_url(request, reverse("applications:detail", args=[application.pk])))


def _decision_refused(request, application: Application, role: str, **bound):
    """The application page again with the refused reject or offer form, as typed."""
    return pages.application_page(
        request, application, role, message_form=_message_form(request, application), **bound
    )


def _draft_key(application: Application) -> str:
    return f"message-draft:{application.pk}"


def _message_form(request, application: Application) -> MessageForm:
    """The thread's form: empty, or holding the message a refused post kept (with its error),
    so that nothing typed is lost across the redirect."""
    draft = request.session.pop(_draft_key(application), None)
    return MessageForm() if draft is None else MessageForm({"body": draft})


@require_POST
@login_required
def message_post(request, pk: int):
    application, role = selectors.application_get_for_user(pk=pk, user=request.user)
    if role == STAFF:
        raise Http404
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            services.message_send(
                application=application, actor=request.user, body=form.cleaned_data["body"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            request.session[_draft_key(application)] = form.cleaned_data["body"]
    else:
        messages.error(request, "Write a message first (at most 5000 characters).")
        request.session[_draft_key(application)] = request.POST.get("body", "")[:20000]
    return redirect(reverse("applications:detail", args=[application.pk]) + "#thread")


def cv_response(application: Application):
    """The application's CV as a download, with the type its checked name says (page and API)."""
    if not application.cv:
        raise Http404("No CV.")
    name = application.cv_name or "cv"
    return _attachment(application.cv, name, content_type_for(name))


@require_safe
@login_required
def cv_download(request, pk: int):
    application, _role = selectors.application_get_for_user(pk=pk, user=request.user)
    return cv_response(application)


# --- The employer's side ---------------------------------------------------------------------


@require_safe
@employer_required
def employer_postings(request):
    return render(
        request,
        "applications/employer_postings.html",
        {"postings": selectors.employer_postings_with_counts(employer=request.employer)},
    )


@require_safe
@login_required
def pipeline(request, posting_pk: int):
    posting = posting_get_owned(pk=posting_pk, user=request.user)
    applications = list(selectors.pipeline_applications(posting=posting))
    return render(
        request,
        "applications/pipeline.html",
        {
            "posting": posting,
            "employer": posting.employer,
            "columns": selectors.pipeline_columns(applications),
            "total": len(applications),
        },
    )


# --- Assignments -----------------------------------------------------------------------------


@require_safe
@login_required
def assignments(request):
    items = selectors.assignments_list_for(request.user)
    return render(request, "applications/assignments.html", {"assignments": items})


@require_safe
@login_required
def assignment_detail(request, pk: int):
    assignment, role = selectors.assignment_get_for_user(pk=pk, user=request.user)
    return pages.assignment_page(request, assignment, role)


@require_form_page
@login_required
def submit(request, milestone_pk: int):
    milestone, role = selectors.milestone_get_for_user(pk=milestone_pk, user=request.user)
    if role != STUDENT:
        raise Http404
    assignment = milestone.assignment
    form = SubmissionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            submission = services.submission_create(
                milestone=milestone,
                actor=request.user,
                note=form.cleaned_data["note"],
                links=form.link_list(),
                files=form.cleaned_data["files"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request, f"Version {submission.version} of “{milestone.title}” was submitted."
            )
            return redirect("applications:assignment", assignment.pk)
    return render(
        request,
        "applications/submit.html",
        {
            "milestone": milestone,
            "assignment": assignment,
            "posting": assignment.posting,
            "form": form,
            "previous": milestone.submissions.order_by("-version").first(),
        },
        status=400 if request.method == "POST" else 200,
    )


MILESTONE_MOVES = {"approve", "revision", "dispute"}


@require_POST
@login_required
def milestone_move(request, pk: int, move: str):
    milestone, role = selectors.milestone_get_for_user(pk=pk, user=request.user)
    if move not in MILESTONE_MOVES or role == STAFF:
        raise Http404
    if move != "approve":
        return _milestone_ask(request, milestone, role, move)
    try:
        services.milestone_approve(milestone=milestone, actor=request.user)
        messages.success(request, _approved_message(milestone))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("applications:assignment", args=[milestone.assignment_id]))


def _milestone_ask(request, milestone, role: str, move: str):
    """A revision request or a dispute: a refused one draws the assignment page again with
    this milestone's form as typed and its errors (the other milestones' forms stay empty)."""
    form_class = RevisionForm if move == "revision" else DisputeForm
    form = form_class(request.POST, auto_id=pages.milestone_auto_id(milestone.pk))
    if form.is_valid():
        try:
            if move == "revision":
                services.milestone_request_revision(
                    milestone=milestone, actor=request.user, feedback=form.cleaned_data["feedback"]
                )
                messages.success(request, "The revision was requested.")
            else:
                services.dispute_open(
                    milestone=milestone, actor=request.user, reason=form.cleaned_data["reason"]
                )
                messages.success(request, "The dispute was opened; staff will decide.")
        except DomainError as exc:
            if not exc.fields:  # a refusal of the move itself, not of what was typed
                messages.error(request, exc.message)
                return redirect("applications:assignment", milestone.assignment_id)
            add_domain_error(form, exc)
        else:
            return redirect("applications:assignment", milestone.assignment_id)
    return pages.assignment_page(
        request, milestone.assignment, role, milestone_forms={(milestone.pk, move): form}
    )


def _approved_message(milestone) -> str:
    """Says what approving did: the amount released and to whom (nothing to pay for credit)."""
    assignment = milestone.assignment
    if not milestone.amount:
        return f"“{milestone.title}” is approved."
    amount = format_money(milestone.amount, assignment.currency)
    return (
        f"“{milestone.title}” is approved: {amount} released to {assignment.student.display_name}."
    )


@require_safe
@login_required
def milestone_status(request, pk: int):
    """The milestone's status, for the assignment page to update itself (htmx, every few
    seconds) while a submission waits for review or an approved milestone waits to be paid."""
    milestone, _role = selectors.milestone_get_for_user(pk=pk, user=request.user)
    return render(
        request,
        "applications/_milestone_status.html",
        {"m": milestone, "assignment": milestone.assignment, "settled": pages.SETTLED},
    )


@require_POST
@login_required
def assignment_cancel(request, pk: int):
    assignment, role = selectors.assignment_get_for_user(pk=pk, user=request.user)
    if role == STAFF:
        raise Http404
    try:
        assignment = services.assignment_cancel_agree(assignment=assignment, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if assignment.status == Assignment.Status.CANCELLED:
            messages.success(request, "The assignment is cancelled.")
        else:
            messages.success(request, "You agreed to cancel; the other side must agree too.")
    return redirect("applications:assignment", assignment.pk)


@require_POST
@login_required
def rate(request, pk: int):
    assignment, role = selectors.assignment_get_for_user(pk=pk, user=request.user)
    if role == STAFF:
        raise Http404
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.rating_create(
                assignment=assignment,
                actor=request.user,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
            )
        except DomainError as exc:
            if not exc.fields:  # already rated or the window closed: the form is gone
                messages.error(request, exc.message)
                return redirect("applications:assignment", assignment.pk)
            add_domain_error(form, exc)
        else:
            messages.success(request, "Thank you: your rating is saved.")
            return redirect("applications:assignment", assignment.pk)
    return pages.assignment_page(request, assignment, role, rating_form=form)


@require_POST
@login_required
def record_visibility(request, pk: int):
    assignment, role = selectors.assignment_get_for_user(pk=pk, user=request.user)
    if role != STUDENT:
        raise Http404
    services.assignment_set_on_record(
        assignment=assignment, actor=request.user, show=request.POST.get("show") == "1"
    )
    messages.success(request, "Your public record is updated.")
    return redirect("applications:assignment", assignment.pk)


@require_safe
@login_required
def file_download(request, pk: int):
    item = selectors.submission_file_get_for_user(pk=pk, user=request.user)
    return _attachment(item.file, item.original_name, item.content_type)


@require_form_page
@login_required
def reinvite(request, pk: int):
    assignment, role = selectors.assignment_get_for_user(pk=pk, user=request.user)
    if role != EMPLOYER:
        raise Http404
    employer = employer_for_user(request.user)
    form = ReInviteForm(request.POST or None, employer=employer)
    if request.method == "POST" and form.is_valid():
        try:
            services.reinvite_create(
                source_assignment=assignment,
                posting=form.cleaned_data["posting"],
                actor=request.user,
                message=form.cleaned_data["message"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{assignment.student.display_name} is invited to apply.")
            return redirect("applications:assignment", assignment.pk)
    return render(
        request,
        "applications/reinvite.html",
        {"assignment": assignment, "form": form, "student": assignment.student},
    )


# --- The verified record and staff -----------------------------------------------------------


@require_safe
def record(request, slug: str):
    profile, is_owner = selectors.record_profile_for_viewer(slug=slug, user=request.user)
    entries = selectors.record_entries(student=profile.user)
    summary = selectors.student_rating_summary(profile.user)
    return render(
        request,
        "applications/record.html",
        {
            "profile": profile,
            "student": profile.user,
            "entries": entries,
            "summary": summary,
            "is_owner": is_owner,
        },
    )


@require_safe
@staff_required
def disputes(request):
    return render(request, "applications/disputes.html", {"disputes": selectors.disputes_open()})
