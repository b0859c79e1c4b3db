"""Pages: the student's credentials, a credential's public page and downloads, the public verify
page, the published keys and status lists, and the supervisor's no-account sign-off page."""

import json

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.views import panel_for_students, student_required
from applications.forms import add_domain_error
from applications.selectors import assignment_get_for_user
from marketplace.core.errors import DomainError
from marketplace.core.http import require_form_page

from . import keys, selectors, services
from .forms import DeclineForm, SupervisorForm, VerifyForm
from .identity import SITE_NAME, canonical
from .models import SupervisorSignOff
from .verification import InputError, summary, verify_input

JWT_TYPE = "application/vc+jwt"


def _owned(request, public_id):
    credential, is_owner = selectors.credential_for_viewer(public_id=public_id, user=request.user)
    if not is_owner:
        raise Http404("No such credential.")
    return credential


@require_safe
@student_required
def mine(request):
    credentials = selectors.credentials_for_student(request.user)
    rows = [
        {
            "credential": c,
            "linkedin": selectors.linkedin_add_url(c),
            "sign_off": getattr(c.assignment, "supervisor_sign_off", None),
            "form": SupervisorForm(prefix=f"a{c.assignment_id}"),
        }
        for c in credentials
    ]
    waiting = [
        {
            "assignment": a,
            "sign_off": getattr(a, "supervisor_sign_off", None),
            "form": SupervisorForm(prefix=f"a{a.pk}"),
        }
        for a in selectors.credit_work_in_progress(request.user)
    ]
    return render(request, "credentials/mine.html", {"rows": rows, "waiting": waiting})


@require_safe
def detail(request, public_id):
    credential, is_owner = selectors.credential_for_viewer(public_id=public_id, user=request.user)
    verify_url = reverse("credentials:verify") + "?url=" + credential.document.get("id", "")
    context = {
        "credential": credential,
        "is_owner": is_owner,
        "summary": summary(credential.document),
        "verify_url": verify_url,
        "linkedin": selectors.linkedin_add_url(credential) if is_owner else "",
    }
    return render(request, "credentials/detail.html", context)


def _download(content: str, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def download_json(request, public_id):
    credential, _ = selectors.credential_for_viewer(public_id=public_id, user=request.user)
    content = json.dumps(credential.document, indent=2, ensure_ascii=False)
    return _download(content, f"credential-{credential.public_id}.json", "application/json")


@require_safe
def download_jwt(request, public_id):
    credential, _ = selectors.credential_for_viewer(public_id=public_id, user=request.user)
    return _download(credential.jwt, f"credential-{credential.public_id}.jwt", JWT_TYPE)


@require_POST
@student_required
def visibility(request, public_id):
    credential = _owned(request, public_id)
    hidden = request.POST.get("hidden") == "1"
    services.credential_set_hidden(credential=credential, actor=request.user, hidden=hidden)
    messages.success(request, "Hidden from your public record." if hidden else "Shown again.")
    return redirect("credentials:mine")


@require_POST
@student_required
def rating(request, public_id):
    credential = _owned(request, public_id)
    show = request.POST.get("show") == "1"
    try:
        services.credential_set_rating_shown(credential=credential, actor=request.user, show=show)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "A new version of the credential was issued.")
    return redirect("credentials:mine")


@require_POST
@student_required
def revoke(request, public_id):
    credential = _owned(request, public_id)
    try:
        services.credential_revoke(credential=credential, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Revoked: the credential no longer verifies anywhere.")
    return redirect("credentials:mine")


@require_POST
@student_required
def name_supervisor(request, pk: int):
    assignment, role = assignment_get_for_user(pk=pk, user=request.user)
    form = SupervisorForm(request.POST, prefix=f"a{assignment.pk}")
    if form.is_valid():
        try:
            services.supervisor_name(
                assignment=assignment,
                actor=request.user,
                name=form.cleaned_data["supervisor_name"],
                institution=form.cleaned_data["institution"],
                email=form.cleaned_data["supervisor_email"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Your supervisor will receive a link to sign off.")
            return redirect(request.POST.get("next") or "credentials:mine")
    else:
        messages.error(request, "Name the supervisor, their institution and a valid e-mail.")
    return redirect("credentials:mine")


@require_form_page
def verify(request):
    form = VerifyForm(request.POST or None, request.FILES or None)
    result = None
    text = ""
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
    elif request.method == "GET" and request.GET.get("url"):
        text = request.GET["url"][:2000]
        form = VerifyForm(initial={"credential": text})
    if text:
        try:
            result = verify_input(text)
        except InputError as error:
            form.add_error(None, str(error))
    status = 400 if form.errors else 200
    context = {
        "form": form,
        "result": result,
        "summary": summary(result.credential) if result else [],
    }
    return render(request, "credentials/verify.html", context, status=status)


@require_safe
def jwks(request):
    response = JsonResponse(keys.jwks())
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_safe
def issuer(request):
    data = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": canonical(reverse("credentials:issuer")),
        "type": ["Profile"],
        "name": SITE_NAME,
        "url": canonical("/"),
        "description": "Issues Open Badges 3.0 credentials for work completed on this marketplace.",
        "jwks": canonical(reverse("credentials-jwks")),
    }
    response = JsonResponse(data)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def status_list(request, number: int):
    response = HttpResponse(selectors.status_list_jwt(number), content_type=JWT_TYPE)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-cache"
    return response


@require_form_page
def supervisor(request, token: str):
    sign_off = selectors.sign_off_for_token(token)
    decline_form = DeclineForm(request.POST or None)
    if request.method == "POST":
        approve = request.POST.get("decision") == "sign_off"
        if approve or decline_form.is_valid():
            reason = "" if approve else decline_form.cleaned_data["reason"]
            try:
                services.supervisor_decide(sign_off=sign_off, approve=approve, reason=reason)
            except DomainError as error:
                add_domain_error(decline_form, error)
            else:
                return redirect("credentials:supervisor", token=token)
    sign_off.refresh_from_db()
    context = {
        **selectors.supervisor_view(sign_off),
        "sign_off": sign_off,
        "decline_form": decline_form,
        "signed": sign_off.status == SupervisorSignOff.Status.SIGNED_OFF,
    }
    status = 400 if request.method == "POST" else 200
    response = render(request, "credentials/supervisor.html", context, status=status)
    # The site's same-origin referrer policy keeps the link's token from other sites; a
    # stricter "no-referrer" would make the browser send "Origin: null" and fail the CSRF check.
    response["Cache-Control"] = "private, no-store"
    return response


@panel_for_students
def student_panel(request):
    """The dashboard's credentials panel (for students with a credential or a supervisor named)."""
    summary_counts = selectors.student_summary(request.user)
    if not any(summary_counts.values()):
        return None
    return "credentials/panel_student.html", summary_counts
