"""Pages: funding and its return page, payout account onboarding, billing, earnings, the staff
money view, CSV exports, the test provider's local checkout and onboarding pages, and the
dashboard panels. Every write goes through ``services``."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.selectors import is_member, student_profile_for
from accounts.views import (
    employer_required,
    panel_for_employers,
    panel_for_staff,
    panel_for_students,
    student_required,
)
from applications.models import Assignment
from marketplace.core import payout_countries
from marketplace.core.access import staff_required
from marketplace.core.errors import DomainError
from marketplace.core.http import require_form_page

from . import exports, selectors, services
from .models import Funding, Payout
from .providers import get_provider, is_test_mode
from .providers.base import PaymentError
from .receipts import receipt_pdf_response


def _own_assignment(request, pk: int) -> Assignment:
    assignment = get_object_or_404(
        Assignment.objects.select_related("posting__employer", "student"), pk=pk
    )
    if assignment.posting.employer_id != request.employer.pk:
        raise Http404("No such assignment.")
    return assignment


# --- Funding --------------------------------------------------------------------------------


@require_form_page
@employer_required
def funding(request, assignment_pk: int):
    """The breakdown (milestones, platform fee, total) and the "pay" button."""
    assignment = _own_assignment(request, assignment_pk)
    existing = Funding.objects.filter(assignment=assignment).first()
    error = None
    if request.method == "POST":
        try:
            started = services.funding_start(assignment=assignment, actor=request.user)
        except DomainError as exc:
            error = exc.message
        else:
            return redirect(started.checkout_url)
    try:
        quote = selectors.funding_quote(assignment=assignment)
    except DomainError as exc:
        quote, error = None, error or exc.message
    if request.GET.get("cancelled") and not error:
        error = "The payment was not completed; no money moved. You can try again."
    return render(
        request,
        "payments/funding.html",
        {
            "assignment": assignment,
            "quote": quote,
            "funding": existing,
            "error": error,
            "test_mode": is_test_mode(),
        },
        status=400 if error and request.method == "POST" else 200,
    )


def _funding_for_viewer(request, pk: int) -> Funding:
    funding = get_object_or_404(
        Funding.objects.select_related("assignment__posting", "employer"), pk=pk
    )
    if not request.user.is_staff and not is_member(request.user, funding.employer_id):
        raise Http404("No such payment.")
    return funding


@require_safe
@login_required
def funding_return(request, pk: int):
    """Where the checkout sends the employer back. It only shows the state: the assignment is
    funded by the provider's signed event, never by this page (replaying it changes nothing)."""
    funding = _funding_for_viewer(request, pk)
    session_id = request.GET.get("session_id", "")
    if session_id and session_id != funding.checkout_session_id:
        return render(
            request,
            "payments/funding_return.html",
            {
                "funding": funding,
                "refused": "This payment link does not belong to this assignment's current "
                "payment. Nothing was changed.",
            },
            status=400,
        )
    template = (
        "payments/_funding_status.html"
        if request.headers.get("HX-Request")
        else "payments/funding_return.html"
    )
    return render(request, template, {"funding": funding, "replayed": bool(session_id)})


@require_safe
@login_required
def receipt(request, pk: int):
    funding = _funding_for_viewer(request, pk)
    if funding.status != Funding.Status.PAID:
        raise Http404("There is no receipt before the payment clears.")
    return render(
        request,
        "payments/receipt.html",
        {
            "funding": funding,
            "quote_lines": list(funding.assignment.milestones.order_by("position", "id")),
            "refunds": funding.refunds.order_by("created_at"),
        },
    )


@require_safe
@login_required
def receipt_pdf(request, pk: int):
    return receipt_pdf_response(_funding_for_viewer(request, pk))


# --- Payout account -------------------------------------------------------------------------


@require_safe
@student_required
def payout_account(request):
    account = selectors.payout_account_for(student=request.user)
    waiting = Payout.objects.filter(
        student=request.user, status=Payout.Status.PENDING, waiting_for_account=True
    )
    profile = student_profile_for(request.user)
    return render(
        request,
        "payments/payout_account.html",
        {
            "account": account,
            "waiting": waiting,
            "test_mode": is_test_mode(),
            "countries": payout_countries.COUNTRY_CHOICES,
            "payout_country": profile.payout_country if profile else "",
        },
    )


def _onboarding_redirect(request):
    try:
        url = services.payout_account_onboarding_url(
            student=request.user,
            refresh_url=request.build_absolute_uri(reverse("payments:payout_account_refresh")),
            return_url=request.build_absolute_uri(reverse("payments:payout_account_return")),
            country=str(request.POST.get("country", ""))[:2],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payments:payout_account")
    return redirect(url)


@require_POST
@student_required
def payout_account_onboard(request):
    return _onboarding_redirect(request)


@require_safe
@student_required
def payout_account_refresh(request):
    """The provider sends the student here when a link expired: a fresh link at once."""
    return _onboarding_redirect(request)


@require_safe
@student_required
def payout_account_return(request):
    account = selectors.payout_account_for(student=request.user)
    if account and account.is_ready:
        messages.success(request, "Your payout account is ready.")
    else:
        messages.info(
            request,
            "Thanks! Your payout account shows as ready as soon as the provider confirms it.",
        )
    return redirect("payments:payout_account")


# --- Billing, earnings, staff ---------------------------------------------------------------


@require_safe
@employer_required
def billing(request):
    return render(
        request,
        "payments/billing.html",
        {
            "fundings": selectors.fundings_for_employer(employer=request.employer)[:200],
            "awaiting": selectors.assignments_awaiting_funding(employer=request.employer),
        },
    )


@require_safe
@student_required
def earnings(request):
    return render(
        request,
        "payments/earnings.html",
        {
            "payouts": selectors.payouts_for_student(student=request.user)[:200],
            "summary": selectors.earnings_summary(student=request.user),
            "account": selectors.payout_account_for(student=request.user),
        },
    )


@require_safe
@staff_required
def staff_money(request):
    return render(request, "payments/staff_money.html", selectors.staff_overview())


@require_safe
@student_required
def earnings_csv(request):
    return exports.payouts_csv(exports.student_payouts(request.user), "payouts.csv")


@require_safe
@employer_required
def billing_csv(request):
    return exports.fundings_csv(exports.employer_fundings(request.employer), "fundings.csv")


@require_safe
@staff_required
def staff_payouts_csv(request):
    return exports.payouts_csv(exports.all_payouts(), "all-payouts.csv")


@require_safe
@staff_required
def staff_fundings_csv(request):
    return exports.fundings_csv(exports.all_fundings(), "all-fundings.csv")


# --- The test provider's local pages --------------------------------------------------------


def _test_provider():
    provider = get_provider()
    if not provider.test_mode or provider.name != "test":
        raise Http404("Test mode is off.")
    return provider


def _same_site(url: str) -> str:
    """Only the path of a return URL: the test pages never redirect off the site."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@require_form_page
@login_required
def test_checkout(request, session_id: str):
    provider = _test_provider()
    try:
        session = provider.checkout_details(session_id)
    except PaymentError as exc:
        raise Http404("No such test checkout.") from exc
    employer_id = str(session["metadata"].get("employer_id", ""))
    if not (employer_id.isdigit() and is_member(request.user, int(employer_id))):
        raise PermissionDenied("This checkout belongs to another organisation.")
    error = None
    if request.method == "POST":
        if request.POST.get("outcome") == "fail":
            error = "Your card was declined (test mode). No money moved; try again or cancel."
        else:
            try:
                with transaction.atomic():
                    success_url, event = provider.checkout_pay(session_id)
                    services.webhook_event_record(provider_name=provider.name, event=_event(event))
            except PaymentError as exc:
                error = exc.message
            else:
                return redirect(_same_site(success_url))
    return render(
        request,
        "payments/test_checkout.html",
        {
            "session": session,
            "error": error,
            "expired": session["status"] != "open"
            or session["expires_at"] <= timezone.now().timestamp(),
        },
        status=402 if error else 200,
    )


def _event(data: dict):
    from .providers.base import event_from_dict

    return event_from_dict(data)


@require_form_page
@student_required
def test_onboarding(request, link_id: str):
    provider = _test_provider()
    try:
        account_id = provider.onboarding_account(link_id)
    except PaymentError as exc:
        raise Http404("No such onboarding link.") from exc
    # Like the test checkout: only the student whose payout account it is may finish it.
    account = selectors.payout_account_for(student=request.user)
    if account is None or account.account_id != account_id:
        raise PermissionDenied("This onboarding link belongs to another student.")
    if request.method == "POST":
        try:
            with transaction.atomic():
                return_url, event = provider.onboarding_complete(
                    link_id=link_id, fail_transfers=request.POST.get("fail_transfers") == "on"
                )
                services.webhook_event_record(provider_name=provider.name, event=_event(event))
        except PaymentError as exc:
            raise Http404("No such onboarding link.") from exc
        return redirect(_same_site(return_url))
    return render(request, "payments/test_onboarding.html", {"link_id": link_id})


# --- Dashboard panels -----------------------------------------------------------------------


@panel_for_students
def student_panel(request):
    user = request.user
    summary, waiting = selectors.earnings_overview(student=user)
    return (
        "payments/panel_student.html",
        {
            "account": selectors.payout_account_for(student=user),
            "summary": summary,
            "waiting": waiting,
        },
    )


@panel_for_employers
def employer_panel(request, employer):
    return (
        "payments/panel_employer.html",
        {
            "awaiting": list(
                selectors.assignments_awaiting_funding(employer=employer)
                .select_related(None)
                .select_related("posting", "student")
                .only(
                    "id",
                    "amount",
                    "currency",
                    "posting__id",
                    "posting__title",
                    "student__id",
                    "student__full_name",
                    "student__email",
                )[:10]
            )
        },
    )


@panel_for_staff
def staff_panel(request):
    overview = selectors.staff_overview()
    return (
        "payments/panel_staff.html",
        {
            "failed": len(overview["failed_payouts"]),
            "issues": len(overview["open_issues"]),
            "waiting": overview["waiting_payouts"],
        },
    )
